// SPDX-License-Identifier: GPL-2.0-or-later
#include "scenarios/runner/html_report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "scenarios/runner/block_view.h"
#include "sim/image.h"

namespace pdsim::scenarios {
namespace {

std::string esc(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// The page's look: one small style sheet, inline.
constexpr const char* kStyle = R"(
body { font: 14px/1.4 sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
code, pre, td.mono { font-family: monospace; }
pre { background: #f4f4f4; padding: .6em; overflow-x: auto; }
.failure { background: #fde8e8; border-left: 4px solid #c00; padding: .4em .8em; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: 2px 6px; text-align: left; }
.timeline { display: flex; flex-wrap: wrap; gap: 2px; align-items: flex-end; margin: .5em 0; }
.op { width: 10px; height: 18px; border-radius: 2px; }
.op.write { background: #4a7bd0; } .op.write.superblock { background: #7a2bb0; height: 26px; }
.op.write.bitmap, .op.write.index { background: #3aa370; } .op.write.array { background: #d09a2a; }
.op.write.other { background: #999; }
.op.flush { width: 3px; height: 30px; background: #222; } .op.fua { border-top: 4px solid #222; }
.op.cut { width: 6px; height: 36px; background: #d00; }
.step { margin: .2em 0; } .step .name { font-family: monospace; }
.disk { margin-left: 2em; font-family: monospace; color: #444; }
.disk.cut { color: #c00; font-weight: bold; } .disk.result { color: #a40; } .disk.failed { color: #c00; }
.op.failed { outline: 2px solid #c00; outline-offset: 1px; } .failed-ops { color: #c00; font-family: monospace; }
.named { outline: 2px solid #c00; } .path { font-family: monospace; } p.diff { color: #c00; }
tr.diff td, tr.diff th { background: #fde8e8; } td.mark { color: #c00; font-weight: bold; text-align: center; } td.lost { background: #fff1d6; }
.bar { background: #4a7bd0; height: 12px; display: inline-block; vertical-align: middle; }
.legend span { display: inline-block; margin-right: 1em; }
)";

std::string page(const std::string& title, const std::string& body) {
  return fmt::format("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{}</style>"
                     "</head><body>\n{}\n</body></html>\n",
                     esc(title), kStyle, body);
}

Status write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::trunc);
  if (!f) return Error::io(fmt::format("cannot write '{}'", path));
  f << text;
  f.close();
  if (!f) return Error::io(fmt::format("cannot write '{}'", path));
  return {};
}

// The class of a disk operation's mark in the timeline, from a trace line's text.
std::string op_class(const std::string& line) {
  if (line.find(": power_cut") != std::string::npos) return "cut";
  if (line.find(": flush") != std::string::npos) return "flush";
  // A FUA write ("write 7 fua"): durable when it returns; its mark gets a black cap.
  if (line.find(" fua") != std::string::npos) return op_class(line.substr(0, line.find(" fua")) + line.substr(line.find(" fua") + 4)) + " fua";
  if (line.find("superblock)") != std::string::npos) return "write superblock";
  if (line.find("bitmap)") != std::string::npos) return "write bitmap";
  if (line.find("index)") != std::string::npos) return "write index";
  if (line.find("(array block)") != std::string::npos) return "write array";
  if (line.find("(btree node)") != std::string::npos) return "write";
  return "write other";
}

// The metadata blocks a failure names ("block 22", "[block 9]", "array block 6"), in order,
// without repeats; not the blocks of another space ("cache block 453", "origin block 9", "data
// block 7", "virtual block 3").
std::vector<BlockNr> named_blocks(const std::vector<std::string>& failures) {
  std::vector<BlockNr> out;
  const std::regex re("(\\w+ )?block (\\d{1,12})");
  const std::set<std::string> other_spaces = {"cache ", "origin ", "data ", "virtual ", "thin "};
  for (const auto& f : failures) {
    for (auto it = std::sregex_iterator(f.begin(), f.end(), re); it != std::sregex_iterator(); ++it) {
      if (other_spaces.count((*it)[1].str())) continue;
      const BlockNr b = std::stoull((*it)[2].str());
      if (std::find(out.begin(), out.end(), b) == out.end()) out.push_back(b);
    }
    if (!out.empty()) break;  // the first failure that names blocks: the symptom
  }
  if (out.size() > 4) out.resize(4);
  return out;
}

// Block b, decoded, as a two-column table (no image to compare with).
std::string block_table(const sim::Image& image, BlockNr b) {
  std::string rows;
  for (const auto& f : decode_block(image, b))
    rows += fmt::format("<tr><th>{}</th><td class=\"mono\">{}</td></tr>", esc(f.name), esc(f.value));
  return fmt::format("<table id=\"block-{}\" class=\"named\">{}</table>", b, rows);
}

// Block b in the last commit's image against the failing run's, and against what the engine last
// wrote when that image is there: one row per field, the rows where found differs from expected
// marked (class "diff", a red "≠" and a tinted background), and the cells where what was written
// differs from what was found (class "lost": the disk did not keep the engine's write).
std::string compare_table(const sim::Image& expected, const sim::Image& found, const sim::Image* written, BlockNr b,
                          std::size_t& differing, std::size_t& lost) {
  std::string rows = fmt::format("<tr><th>field</th><th>expected (last commit)</th><th></th><th>found (failing run)</th>{}</tr>",
                                 written ? "<th></th><th>written (the engine's last write)</th>" : "");
  differing = lost = 0;
  for (const auto& r : compare_block(expected, found, written, b)) {
    differing += r.differs && r.name != "bytes";
    lost += r.lost && r.name != "bytes";
    rows += fmt::format("<tr{} data-field=\"{}\"><th>{}</th><td class=\"mono\">{}</td><td class=\"mark\">{}</td>"
                        "<td class=\"mono\">{}</td>",
                        r.differs ? " class=\"diff\"" : "", esc(r.name), esc(r.name), esc(r.expected),
                        r.differs ? "≠" : "", esc(r.found));
    if (written)
      rows += fmt::format("<td class=\"mark\">{}</td><td class=\"mono{}\">{}</td>", r.lost ? "≠" : "",
                          r.lost ? " lost" : "", esc(r.written));
    rows += "</tr>";
  }
  return fmt::format("<table id=\"block-{}\" class=\"named compare\">{}</table>", b, rows);
}

// One block's part of "What the checks found": the disk's failed writes of it, where the found
// image's superblock reaches it and, with the last commit's image, where that commit reached it and
// both contents field by field. Whether a difference is an error depends on reachability: a block
// the last commit reached must read back the same (copy-on-write never overwrites it), a block
// it did not reach was free and any content is legal, and the found superblock must not reach a
// block the last commit did not (that is a transaction that was not committed).
std::string block_section(BlockNr b, bool named, const std::vector<std::string>& failed_lines, const sim::Image& found,
                          const sim::Image* expected, const sim::Image* written) {
  std::string out = fmt::format("<h3>Block {}{}</h3>\n", b,
                                b != 0 ? "" : named ? " (the superblock)"
                                                    : " (the superblock: the failure does not name it, but it decides "
                                                      "what the image's metadata reaches)");
  // A write of this block the disk failed is most often the answer.
  for (const auto& f : failed_lines)
    if (f.find(fmt::format(": write {} ", b)) != std::string::npos)
      out += fmt::format("<p class=\"failed-ops\" id=\"failed-write-of-block-{}\">the disk failed a write of this "
                         "block: {}</p>\n", b, esc(f));
  // Paths are traced from a thin or cache superblock; nullopt: no such superblock to trace from.
  const auto path = path_to(found, b);
  if (b != 0)
    out += !path              ? "<p class=\"path\">Found: block 0 is no thin or cache superblock; no path is traced.</p>\n"
           : !path->empty()   ? fmt::format("<p class=\"path\" id=\"path-to-block-{}\">Found: {}</p>\n", b, esc(*path))
                              : "<p class=\"path\">Found: the image's superblock does not reach it.</p>\n";
  if (!expected) return out + block_table(found, b) + "\n";

  const auto was = path_to(*expected, b);
  const bool traced = path && was && b != 0;
  const bool free_then = traced && was->empty();
  if (traced) {
    if (!was->empty())
      out += fmt::format("<p class=\"path{}\" id=\"expected-path-to-block-{}\">{}Expected: {}</p>\n",
                         path->empty() ? " diff" : "", b, path->empty() ? "≠ " : "", esc(*was));
    else if (!path->empty())
      out += fmt::format("<p class=\"path diff\" id=\"unexpected-reach-{}\">≠ Expected: the last commit does not "
                         "reach this block (it was free then), yet the found superblock does: the found metadata is not "
                         "the last commit's.</p>\n", b);
    else
      out += "<p class=\"path\">Expected: the last commit does not reach it either: free then, so its content there "
             "is no expectation.</p>\n";
  }
  std::size_t differing = 0, lost = 0;
  const std::string table = compare_table(*expected, found, written, b, differing, lost);
  const bool used_then = traced && !was->empty();
  std::string verdict = differing ? fmt::format("Found differs from expected in {} decoded field{}{}.", differing,
                                                differing == 1 ? "" : "s",
                                                free_then ? ", but the last commit did not use the block, so that is "
                                                            "no error by itself"
                                                : used_then ? ": the last commit used this block, so it must read back "
                                                              "the same (committed metadata was overwritten or lost)"
                                                : b == 0    ? ": the superblock found is not the last commit's"
                                                            : "")
                                  : "Found and expected decode the same.";
  if (written)
    verdict += lost ? fmt::format(" The engine's last write of it is not what the disk holds ({} field{} differ{}): the "
                                  "disk failed, dropped, tore or changed that write, or a power cut lost it.",
                                  lost, lost == 1 ? "" : "s", lost == 1 ? "s" : "")
                    : " The disk holds what the engine last wrote to it.";
  return out + fmt::format("<p id=\"differences-in-block-{}\">{}</p>\n{}\n", b, verdict, table);
}

}  // namespace

Result<std::string> write_seed_page(const std::string& dir, const SeedPage& p) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::string name = fmt::format("{}-seed{}.html", p.scenario, p.seed);
  std::string body = fmt::format("<h1>{} seed {}: failed</h1>\n", esc(p.scenario), p.seed);
  body += "<div class=\"failure\" id=\"failure\">";
  for (const auto& f : p.failures) body += fmt::format("<p>{}</p>", esc(f));
  // The page's trace and images are of the replay; when it failed first with another line, say so
  // (and name blocks from it below).
  const bool replay_differs = !p.replay_failures.empty() && (p.failures.empty() || p.replay_failures.front() != p.failures.front());
  if (replay_differs)
    body += fmt::format("<p id=\"replay-failure\">The replay this page shows (trace, timeline, blocks) fails first with: "
                        "{}</p>", esc(p.replay_failures.front()));
  body += "</div>\n<h2>Reproduce</h2>\n";
  body += fmt::format("<pre id=\"reproduce\">{}{}</pre>\n", esc(p.reproduce), p.replay.empty() ? "" : "\n" + esc(p.replay));

  // The steps and their disk operations, parsed from the trace.
  std::istringstream in(p.trace);
  std::string steps_html, timeline, line;
  std::uint64_t writes = 0, flushes = 0, cuts = 0, failed_count = 0, transaction = 0;
  std::string failed_ops;  // the operations the disk failed (an injected fault)
  std::vector<std::string> failed_lines;
  while (std::getline(in, line)) {
    if (line.rfind("  step ", 0) == 0) {
      steps_html += fmt::format("<div class=\"step\"><span class=\"name\">{}</span></div>\n", esc(line.substr(2)));
    } else if (line.rfind("    result: ", 0) == 0 || line.rfind("    pool", 0) == 0 || line.rfind("    cache: ", 0) == 0) {
      steps_html += fmt::format("<div class=\"disk result\">{}</div>\n", esc(line.substr(4)));
    } else if (line.rfind("    disk #", 0) == 0) {
      const bool failed = line.find(" failed") != std::string::npos;
      const std::string cls = op_class(line) + (failed ? " failed" : "");
      const bool cut = cls == "cut";

      writes += cls.rfind("write", 0) == 0;
      flushes += cls == "flush";
      cuts += cut;
      // The transaction a write belongs to, as the disk sees it: a superblock write ends one.
      std::string text = line.substr(4);
      if (cls.rfind("write", 0) == 0) {
        text += fmt::format(" [transaction {}]", transaction);
        if (cls.rfind("write superblock", 0) == 0) ++transaction;
      }
      if (failed) {
        failed_ops += fmt::format("<li id=\"failed-op-{}\">{}</li>", ++failed_count, esc(text));
        failed_lines.push_back(text);
      }
      steps_html += fmt::format("<div class=\"disk{}{}\"{}>{}</div>\n", cut ? " cut" : "", failed ? " failed" : "",
                                cut ? fmt::format(" id=\"power-cut-{}\"", cuts) : "", esc(text));
      timeline += fmt::format("<div class=\"op {}\" title=\"{}\"></div>", cls, esc(text));
    }
  }
  body += fmt::format("<h2>Disk timeline</h2>\n<p>{} writes, {} flushes, {} power cuts, in order. Each write is "
                      "tagged with the transaction it went into, counted as the disk sees them: from 0 at the format, "
                      "each superblock write ends one (a thin pool whose commits each raise the transaction id by one "
                      "numbers them the same).</p>\n",
                      writes, flushes, cuts);
  body += "<p class=\"legend\"><span>blue: btree node</span><span>purple: superblock</span><span>green: space-map "
          "bitmap or index</span><span>amber: array block</span><span>black bar: flush</span><span>black cap: FUA write</span><span>red bar: power "
          "cut</span><span>red outline: failed</span></p>\n";
  body += fmt::format("<div class=\"timeline\" id=\"timeline\">{}</div>\n", timeline);
  if (!failed_ops.empty())
    body += fmt::format("<p>Operations the disk failed (outlined in red above):</p><ul class=\"failed-ops\">{}</ul>\n", failed_ops);
  body += "<h2>What the checks found</h2>\n";
  const std::vector<BlockNr> named = named_blocks(replay_differs ? p.replay_failures : p.failures);
  std::vector<BlockNr> blocks = named;
  std::string unreadable;  // a line for each saved image that could not be loaded
  auto load = [&](const std::string& path, const char* what) -> std::optional<sim::Image> {
    if (path.empty()) return std::nullopt;
    auto image = sim::Image::load(path);
    if (image) return std::move(image).value();
    unreadable += fmt::format("<p>{} could not be read: {}</p>\n", what, esc(image.error().to_string()));
    return std::nullopt;
  };
  const std::optional<sim::Image> expected = load(p.expected_image_path, "The last commit's image");
  const std::optional<sim::Image> written = expected ? load(p.written_image_path, "The engine's view") : std::nullopt;
  // With the last commit to compare against, the superblock comes first: it decides which blocks
  // the found image's metadata reaches.
  if (expected && std::find(blocks.begin(), blocks.end(), BlockNr{0}) == blocks.end()) blocks.insert(blocks.begin(), 0);
  body += unreadable;
  if (blocks.empty()) {
    body += "<p>The failure names no block.</p>\n";
  } else if (p.image_path.empty()) {
    body += "<p>No image of the failing run was saved.</p>\n";
  } else if (auto img = sim::Image::load(p.image_path); !img) {
    body += fmt::format("<p>The image could not be read: {}</p>\n", esc(img.error().to_string()));
  } else {
    body += fmt::format("<p>Found: as the image the failing run saved holds them ({}), the durable image its checks "
                        "read, or for a run that checks several, the disk at its end, unflushed writes included.</p>\n",
                        esc(p.image_path));
    if (expected)
      body += fmt::format("<p>Expected: as the run's last successful commit left them ({}), the transaction a crash or "
                          "an error must roll back to. A block that commit does not reach was free in it: its content "
                          "there is no expectation. Rows where found differs from expected are marked ≠.</p>\n",
                          esc(p.expected_image_path));
    if (written)
      body += fmt::format("<p>Written: each block as the engine last wrote it ({}), whether or not the disk kept the "
                          "write, before a power cut or after. A ≠ before it marks a write the disk did not keep as "
                          "sent.</p>\n",
                          esc(p.written_image_path));
    for (BlockNr b : blocks)
      body += block_section(b, std::find(named.begin(), named.end(), b) != named.end(), failed_lines, *img,
                            expected ? &*expected : nullptr, written ? &*written : nullptr);
  }
  body += "<h2>Steps and disk operations</h2>\n" + steps_html;
  PDSIM_TRY(write_file(dir + "/" + name, page(fmt::format("{} seed {}", p.scenario, p.seed), body)));
  return name;
}

Status write_summary_page(const std::string& dir, const report::Run& run) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::string body = fmt::format("<h1>pdsim run {}: {}</h1>\n<p>seeds {}..{}, {} failed</p>\n", esc(run.target),
                                 run.passed ? "passed" : "failed", run.first_seed,
                                 run.first_seed + run.seeds_per_scenario - 1, run.failed);
  body += "<h2>Scenarios</h2>\n<table><tr><th>scenario</th><th>runs</th><th>failed</th><th>operations</th><th>crash "
          "states</th><th>marks hit</th><th>missing marks</th></tr>\n";
  for (const auto& [name, t] : run.scenarios) {
    if (t.runs == 0) continue;
    std::string missing;
    for (const auto& m : t.missing_marks) missing += (missing.empty() ? "" : " ") + m;
    body += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n", esc(name),
                        t.runs, t.failed, t.operations, t.crash_states, t.marks.size(), esc(missing.empty() ? "-" : missing));
  }
  body += "</table>\n<h2>Failures</h2>\n";
  if (run.failures.empty()) body += "<p>None.</p>\n";
  for (const auto& f : run.failures)
    body += fmt::format("<p><a href=\"{}-seed{}.html\">{} seed {}</a>: {}</p>\n", esc(f.scenario), f.seed, esc(f.scenario),
                        f.seed, esc(f.message));
  body += "<h2>Coverage marks</h2>\n<p>Hits of each mark over the run (bar length: log scale).</p>\n<table id=\"marks\">\n";
  double top = 1;
  for (const auto& [m, c] : run.marks) top = std::max(top, std::log10(static_cast<double>(c) + 1));
  for (const auto& [m, c] : run.marks)
    body += fmt::format("<tr><td>{}</td><td class=\"mono\">{}</td><td><span class=\"bar\" style=\"width:{:.0f}px\"></span></td></tr>\n",
                        esc(m), c, 300 * std::log10(static_cast<double>(c) + 1) / top);
  for (const auto& m : run.marks_not_hit)
    body += fmt::format("<tr><td>{}</td><td class=\"mono\">0</td><td>not hit</td></tr>\n", esc(m));
  body += "</table>\n";
  return write_file(dir + "/index.html", page(fmt::format("pdsim run {}", run.target), body));
}

}  // namespace pdsim::scenarios
