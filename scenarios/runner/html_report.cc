// SPDX-License-Identifier: GPL-2.0-or-later
#include "scenarios/runner/html_report.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <functional>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/common/endian.h"
#include "core/pack/block_kind.h"
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
.op.flush { width: 3px; height: 30px; background: #222; }
.op.cut { width: 6px; height: 36px; background: #d00; }
.step { margin: .2em 0; } .step .name { font-family: monospace; }
.disk { margin-left: 2em; font-family: monospace; color: #444; }
.disk.cut { color: #c00; font-weight: bold; } .disk.result { color: #a40; } .disk.failed { color: #c00; }
.op.failed { outline: 2px solid #c00; outline-offset: 1px; } .failed-ops { color: #c00; font-family: monospace; }
.named { outline: 2px solid #c00; } .path { font-family: monospace; }
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
  if (line.find("superblock)") != std::string::npos) return "write superblock";
  if (line.find("bitmap)") != std::string::npos) return "write bitmap";
  if (line.find("index)") != std::string::npos) return "write index";
  if (line.find("(array block)") != std::string::npos) return "write array";
  if (line.find("(btree node)") != std::string::npos) return "write";
  return "write other";
}

// The blocks a failure names ("block 22", "[block 9]"), in order, without repeats.
std::vector<BlockNr> named_blocks(const std::vector<std::string>& failures) {
  std::vector<BlockNr> out;
  const std::regex re("block (\\d{1,12})");
  for (const auto& f : failures) {
    for (auto it = std::sregex_iterator(f.begin(), f.end(), re); it != std::sregex_iterator(); ++it) {
      const BlockNr b = std::stoull((*it)[1].str());
      if (std::find(out.begin(), out.end(), b) == out.end()) out.push_back(b);
    }
    if (!out.empty()) break;  // the first failure that names blocks: the symptom
  }
  if (out.size() > 4) out.resize(4);
  return out;
}

std::uint64_t u64(const std::uint8_t* p) { return load_le<std::uint64_t>(p); }
std::uint32_t u32(const std::uint8_t* p) { return load_le<std::uint32_t>(p); }

// One block of the image, decoded as far as its kind says.
std::string decode_block(const sim::Image& image, BlockNr b) {
  if (b >= image.nr_blocks()) return fmt::format("<p>block {} is past the end of the image ({} blocks)</p>", b, image.nr_blocks());
  std::array<std::uint8_t, kBlockSize> d{};
  image.read(b, d);
  const auto kind = pack::classify_block(d);
  std::string rows;
  auto row = [&](const std::string& k, const std::string& v) { rows += fmt::format("<tr><th>{}</th><td class=\"mono\">{}</td></tr>", esc(k), esc(v)); };
  row("checksum field", fmt::format("{:#010x}", u32(d.data())));
  if (!kind) {
    const bool zero = std::all_of(d.begin(), d.end(), [](std::uint8_t x) { return x == 0; });
    row("kind", zero ? "all zeros (never written, or lost)" : "no valid checksum for any metadata kind");
  } else {
    row("kind", std::string(pack::to_string(*kind)));
    switch (*kind) {
      case pack::BlockKind::btree_node: {
        const std::uint32_t nr = u32(d.data() + 16), max = u32(d.data() + 20), vsize = u32(d.data() + 24);
        row("flags", fmt::format("{} ({})", u32(d.data() + 4), (u32(d.data() + 4) & 1) ? "internal" : "leaf"));
        row("blocknr field", std::to_string(u64(d.data() + 8)));
        row("nr_entries / max_entries / value_size", fmt::format("{} / {} / {}", nr, max, vsize));
        std::string keys, values;
        const std::uint32_t shown = std::min<std::uint32_t>(std::min(nr, max), 16);
        for (std::uint32_t i = 0; i < shown && 32 + 8 * std::size_t{max} + std::size_t{vsize} * (i + 1) <= kBlockSize; ++i) {
          keys += fmt::format("{}{}", i ? " " : "", u64(d.data() + 32 + 8 * i));
          if (vsize >= 8) values += fmt::format("{}{}", i ? " " : "", u64(d.data() + 32 + 8 * std::size_t{max} + std::size_t{vsize} * i));
        }
        row(fmt::format("keys (first {})", shown), keys);
        row("values' first 8 bytes", values);
        break;
      }
      case pack::BlockKind::sm_bitmap: {
        std::array<std::uint64_t, 4> counts{};
        for (std::size_t i = 16; i < kBlockSize; ++i)
          for (unsigned s = 0; s < 8; s += 2) ++counts[(d[i] >> s) & 3u];
        row("blocknr field", std::to_string(u64(d.data() + 8)));
        row("entries at count 0 / 1 / 2 / 3+", fmt::format("{} / {} / {} / {}", counts[0], counts[1], counts[2], counts[3]));
        break;
      }
      case pack::BlockKind::sm_index: {
        row("blocknr field", std::to_string(u64(d.data() + 8)));
        for (std::size_t e = 0; e < 4; ++e) {
          const std::uint8_t* p = d.data() + 16 + 16 * e;
          row(fmt::format("entry {}", e), fmt::format("bitmap {} nr_free {} none_free_before {}", u64(p), u32(p + 8), u32(p + 12)));
        }
        break;
      }
      case pack::BlockKind::array_block:
        row("max_entries / nr_entries / value_size", fmt::format("{} / {} / {}", u32(d.data() + 4), u32(d.data() + 8), u32(d.data() + 12)));
        row("blocknr field", std::to_string(u64(d.data() + 16)));
        break;
      case pack::BlockKind::thin_superblock:
        row("flags / version / time", fmt::format("{} / {} / {}", u32(d.data() + 4), u32(d.data() + 40), u32(d.data() + 44)));
        row("transaction id", std::to_string(u64(d.data() + 48)));
        row("held root (metadata snapshot)", std::to_string(u64(d.data() + 56)));
        row("data space map: nr_blocks / allocated / bitmap root / ref root",
            fmt::format("{} / {} / {} / {}", u64(d.data() + 64), u64(d.data() + 72), u64(d.data() + 80), u64(d.data() + 88)));
        row("metadata space map: nr_blocks / allocated / bitmap root / ref root",
            fmt::format("{} / {} / {} / {}", u64(d.data() + 192), u64(d.data() + 200), u64(d.data() + 208), u64(d.data() + 216)));
        row("mapping root / details root", fmt::format("{} / {}", u64(d.data() + 320), u64(d.data() + 328)));
        row("data block size / metadata blocks", fmt::format("{} / {}", u32(d.data() + 336), u64(d.data() + 344)));
        break;
      case pack::BlockKind::cache_superblock:
        row("flags / version", fmt::format("{} / {}", u32(d.data() + 4), u32(d.data() + 40)));
        row("mapping / hint / discard / dirty root",
            fmt::format("{} / {} / {} / {}", u64(d.data() + 192), u64(d.data() + 200), u64(d.data() + 208), u64(d.data() + 284)));
        row("cache blocks", std::to_string(u32(d.data() + 240)));
        break;
      case pack::BlockKind::era_superblock: break;
    }
  }
  return fmt::format("<table id=\"block-{}\" class=\"named\">{}</table>", b, rows);
}

// How the durable superblock reaches block `target` in a thin image: superblock -> mapping tree
// (top level, then each device's tree) or details tree, or the space maps' index and bitmaps.
// Only blocks with a valid btree-node checksum are followed. "" when no path reaches it.
std::string thin_path_to(const sim::Image& image, BlockNr target) {
  std::array<std::uint8_t, kBlockSize> sb{};
  image.read(0, sb);
  if (pack::classify_block(sb) != pack::BlockKind::thin_superblock) return "";
  std::set<BlockNr> seen;
  std::vector<std::string> path;
  // Depth-first through btree nodes; `subtrees`: a leaf's values are the roots of trees below
  // (the mapping tree's top level).
  std::function<bool(BlockNr, const std::string&, bool)> visit = [&](BlockNr b, const std::string& what,
                                                                    bool subtrees) -> bool {
    if (b >= image.nr_blocks() || path.size() > 12) return false;
    path.push_back(fmt::format("{} (block {})", what, b));
    if (b == target) return true;
    if (!seen.insert(b).second) return path.pop_back(), false;
    std::array<std::uint8_t, kBlockSize> d{};
    image.read(b, d);
    if (pack::classify_block(d) != pack::BlockKind::btree_node) return path.pop_back(), false;
    const bool internal = (u32(d.data() + 4) & 1) != 0;
    const std::uint32_t nr = u32(d.data() + 16), max = u32(d.data() + 20), vsize = u32(d.data() + 24);
    if (max == 0 || vsize < 8 || 32 + std::size_t{max} * (8 + vsize) > kBlockSize) return path.pop_back(), false;
    for (std::uint32_t i = 0; i < std::min(nr, max); ++i) {
      const std::uint64_t key = u64(d.data() + 32 + 8 * std::size_t{i});
      const std::uint64_t value = u64(d.data() + 32 + 8 * std::size_t{max} + std::size_t{vsize} * i);
      if (internal && visit(value, fmt::format("node, key {}", key), subtrees)) return true;
      if (!internal && subtrees && visit(value, fmt::format("device {}'s mapping tree", key), false)) return true;
    }
    path.pop_back();
    return false;
  };
  const bool found = visit(u64(sb.data() + 320), "mapping tree", true) || visit(u64(sb.data() + 328), "details tree", false);
  if (found) return "superblock → " + fmt::format("{}", fmt::join(path, " → "));
  // The metadata space map: its index block, and the bitmaps the index names.
  const BlockNr index = u64(sb.data() + 208);
  if (index == target) return fmt::format("superblock → metadata space map index (block {})", index);
  if (index < image.nr_blocks()) {
    std::array<std::uint8_t, kBlockSize> d{};
    image.read(index, d);
    for (std::size_t e = 0; e < 255; ++e)
      if (u64(d.data() + 16 + 16 * e) == target && target != 0)
        return fmt::format("superblock → metadata space map index (block {}) → bitmap {} (block {})", index, e, target);
  }
  return "";
}

}  // namespace

Result<std::string> write_seed_page(const std::string& dir, const SeedPage& p) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::string name = fmt::format("{}-seed{}.html", p.scenario, p.seed);
  std::string body = fmt::format("<h1>{} seed {}: failed</h1>\n", esc(p.scenario), p.seed);
  body += "<div class=\"failure\" id=\"failure\">";
  for (const auto& f : p.failures) body += fmt::format("<p>{}</p>", esc(f));
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
    } else if (line.rfind("    result: ", 0) == 0 || line.rfind("    pool ", 0) == 0) {
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
          "bitmap or index</span><span>amber: array block</span><span>black bar: flush</span><span>red bar: power "
          "cut</span><span>red outline: failed</span></p>\n";
  body += fmt::format("<div class=\"timeline\" id=\"timeline\">{}</div>\n", timeline);
  if (!failed_ops.empty())
    body += fmt::format("<p>Operations the disk failed (outlined in red above):</p><ul class=\"failed-ops\">{}</ul>\n", failed_ops);
  body += "<h2>What the checks found</h2>\n";
  const auto blocks = named_blocks(p.failures);
  if (blocks.empty()) {
    body += "<p>The failure names no block.</p>\n";
  } else if (p.image_path.empty()) {
    body += "<p>No image of the failing run was saved.</p>\n";
  } else if (auto img = sim::Image::load(p.image_path); !img) {
    body += fmt::format("<p>The image could not be read: {}</p>\n", esc(img.error().to_string()));
  } else {
    body += fmt::format("<p>As the image the failing run saved holds them ({}): the durable image its checks read, "
                        "or for a run that checks several, the disk at its end, unflushed writes included.</p>\n",
                        esc(p.image_path));
    for (BlockNr b : blocks) {
      body += fmt::format("<h3>Block {}</h3>\n", b);
      // A write of this block the disk failed is most often the answer.
      for (const auto& f : failed_lines)
        if (f.find(fmt::format(": write {} ", b)) != std::string::npos)
          body += fmt::format("<p class=\"failed-ops\" id=\"failed-write-of-block-{}\">the disk failed a write of this "
                              "block: {}</p>\n", b, esc(f));
      if (const std::string path = thin_path_to(*img, b); !path.empty())
        body += fmt::format("<p class=\"path\" id=\"path-to-block-{}\">{}</p>\n", b, esc(path));
      else
        body += "<p class=\"path\">No path from a thin superblock of this image reaches it (unreferenced, or not thin "
                "metadata).</p>\n";
      body += decode_block(*img, b) + "\n";
    }
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
