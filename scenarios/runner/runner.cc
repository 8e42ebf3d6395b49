#include "scenarios/runner/runner.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "core/common/assert.h"
#include "core/common/marks.h"
#include "core/common/result.h"
#include "scenarios/runner/seeds_report.h"
#include "scenarios/runner/registry.h"

namespace pdsim::scenarios {
namespace {

// One failed run, for the JSON report.
struct FailureRecord {
  std::string scenario;
  std::uint64_t seed = 0;
  std::string reproduce;
  std::string message;
};

struct ScenarioTotals {
  std::uint64_t runs = 0, failed = 0, operations = 0, crash_states = 0, thin_checks = 0;
  double seconds = 0;
  std::map<std::string, std::uint64_t> marks;
  std::vector<std::uint64_t> failed_seeds;
  std::vector<std::string> missing_marks;
};

std::string bug_flags(const std::vector<Bug>& bugs) {
  std::string s;
  for (Bug b : bugs) s += fmt::format(" --bug {}", bug_info(b).name);
  return s;
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      o += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
      continue;
    }
    o += c;
  }
  return o;
}

Result<Steps> read_steps(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error::io(fmt::format("cannot read '{}'", path));
  Steps steps;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty() && line[0] != '#') steps.push_back(line);
  return steps;
}

}  // namespace

Steps shrink_steps(const Steps& steps, const std::function<bool(const Steps&)>& fails, std::uint64_t max_tries) {
  Steps cur = steps;
  std::size_t n = 2;
  std::uint64_t tries = 0;
  while (cur.size() >= 2 && tries < max_tries) {
    const std::size_t chunk = (cur.size() + n - 1) / n;
    bool reduced = false;
    // Try removing each chunk (testing each complement).
    for (std::size_t start = 0; start < cur.size() && tries < max_tries; start += chunk) {
      Steps candidate;
      candidate.reserve(cur.size());
      for (std::size_t i = 0; i < cur.size(); ++i)
        if (i < start || i >= start + chunk) candidate.push_back(cur[i]);
      ++tries;
      if (!candidate.empty() && fails(candidate)) {
        cur = std::move(candidate);
        n = std::max<std::size_t>(n - 1, 2);
        reduced = true;
        break;
      }
    }
    if (reduced) continue;
    if (n >= cur.size()) break;
    n = std::min(cur.size(), n * 2);
  }
  return cur;
}

int run(const RunRequest& req, std::ostream& out, std::ostream& err) {
  // The seeds suite with no switch given is the bug report; with --bug it runs like any suite.
  if (req.target == "seeds" && req.bugs.empty() && req.replay.empty() && req.shard_count == 1)
    return run_seeds_report(req, out, err);
  std::vector<const Scenario*> targets;
  std::string suite_name = req.target;
  if (const Suite* suite = find_suite(req.target)) {
    for (const auto& name : suite->scenarios) {
      const Scenario* s = find_scenario(name);
      PDSIM_ASSERT(s != nullptr, "a suite names an unknown scenario (check_registry() was not run)");
      targets.push_back(s);
    }
    out << fmt::format("suite {}: {}\n", suite->name, suite->description);
  } else if (const Scenario* s = find_scenario(req.target)) {
    targets.push_back(s);
    out << fmt::format("scenario {}: {}\n", s->name, s->description);
  } else {
    std::string known;
    for (const auto& su : all_suites()) known += (known.empty() ? "" : ", ") + su.name;
    err << fmt::format("pdsim run: unknown suite or scenario '{}' (suites: {}; 'pdsim list' shows the scenarios)\n",
                       req.target, known);
    return 2;
  }
  if (req.shard_count == 0 || req.shard_index >= req.shard_count) {
    err << fmt::format("pdsim run: --shard {}/{} is not a shard (I/N with I < N)\n", req.shard_index, req.shard_count);
    return 2;
  }
  if (!req.replay.empty() && (targets.size() != 1 || !targets[0]->replay)) {
    err << "pdsim run: --replay needs one scenario that has steps (see 'pdsim list')\n";
    return 2;
  }
  if (!req.bugs.empty()) {
    std::string names;
    for (Bug b : req.bugs) names += std::string(names.empty() ? "" : ", ") + std::string(bug_info(b).name);
    out << fmt::format("seed bugs on: {}\n", names);
  }
  out << fmt::format("seeds {}..{}{}\n", req.first_seed, req.first_seed + req.runs - 1,
                     req.shard_count > 1 ? fmt::format(" (shard {}/{})", req.shard_index, req.shard_count) : "");

  const bool tty = req.progress && ::isatty(STDERR_FILENO) != 0;
  std::vector<ScenarioTotals> totals(targets.size());
  std::ostringstream json_failures;
  std::vector<FailureRecord> failure_records;
  std::uint64_t failed_runs = 0, done = 0;
  const std::uint64_t planned = targets.size() * req.runs;
  for (std::size_t t = 0; t < targets.size(); ++t) {
    const Scenario& sc = *targets[t];
    ScenarioTotals& tot = totals[t];
    if (req.max_failures != 0 && failed_runs >= req.max_failures) break;
    for (std::uint64_t k = 0; k < req.runs; ++k, ++done) {
      if (req.max_failures != 0 && failed_runs >= req.max_failures) break;
      if (k % req.shard_count != req.shard_index) continue;
      const std::uint64_t seed = req.first_seed + k;
      if (tty) err << fmt::format("\r[{}/{}] {} seed {}   ", done + 1, planned, sc.name, seed) << std::flush;
      const auto marks_before = marks::snapshot();
      const auto t0 = std::chrono::steady_clock::now();
      SeedOutcome o;
      {
        ScopedBugs on(req.bugs);
        if (!req.replay.empty()) {
          auto steps = read_steps(req.replay);
          if (!steps) {
            err << fmt::format("pdsim run: {}\n", steps.error().to_string());
            return 2;
          }
          o = sc.replay(seed, *steps, req.opts, out);
        } else {
          o = sc.run(seed, req.opts, out);
        }
      }
      tot.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      for (const auto& [m, c] : marks::diff(marks_before, marks::snapshot())) tot.marks[m] += c;
      ++tot.runs;
      tot.operations += o.operations;
      tot.crash_states += o.crash_states;
      tot.thin_checks += o.thin_checks;
      out << fmt::format("{} seed {}: {} {}\n", sc.name, seed, o.passed ? "ok" : "FAILED", o.summary);
      if (o.passed) continue;
      ++tot.failed;
      ++failed_runs;
      tot.failed_seeds.push_back(seed);
      for (const auto& f : o.failures) out << fmt::format("  failure: {}\n", f);
      const std::string reproduce = fmt::format("./pdsim run {} --seed {}{}", sc.name, seed, bug_flags(req.bugs));
      out << fmt::format("  reproduce: {}\n", reproduce);
      failure_records.push_back({sc.name, seed, reproduce, o.failures.empty() ? o.summary : o.failures.front()});
      if (sc.generate && sc.replay && req.shrink && req.replay.empty()) {
        const Steps steps = sc.generate(seed);
        ScopedBugs on(req.bugs);
        std::ostringstream sink;
        auto fails = [&](const Steps& s) { return !sc.replay(seed, s, RunOptions{.thin_check = ThinCheck::never}, sink).passed; };
        // Shrinking starts from a list that fails; if the whole list replays clean (a failure
        // only thin_check saw, say), there is nothing to shrink.
        if (!fails(steps)) {
          out << "  not shrunk: the seed's steps replay clean without thin_check (the failure came from a check the "
                 "replay skips)\n";
          continue;
        }
        const Steps small = shrink_steps(steps, fails);
        const std::string file = fmt::format("{}{}-seed{}.steps",
                                             req.opts.save_images_dir.empty() ? "" : req.opts.save_images_dir + "/", sc.name, seed);
        if (!req.opts.save_images_dir.empty()) {
          std::error_code ec;  // like the harness's images: --save-images DIR need not exist yet
          std::filesystem::create_directories(req.opts.save_images_dir, ec);
        }
        std::ofstream f(file, std::ios::trunc);
        f << fmt::format("# {} seed {}{}: shrunk from {} to {} steps\n", sc.name, seed, bug_flags(req.bugs), steps.size(), small.size());
        for (const auto& s : small) f << s << "\n";
        f.close();
        if (!f) err << fmt::format("pdsim run: cannot write '{}'\n", file);
        out << fmt::format("  shrunk: {} -> {} steps:\n", steps.size(), small.size());
        for (const auto& s : small) out << fmt::format("    {}\n", s);
        out << fmt::format("  replay: ./pdsim run {} --seed {}{} --replay {}\n", sc.name, seed, bug_flags(req.bugs), file);
        json_failures << fmt::format("{}{{\"scenario\":\"{}\",\"seed\":{},\"shrunk_steps\":{},\"steps_file\":\"{}\"}}",
                                     json_failures.tellp() > 0 ? "," : "", json_escape(sc.name), seed, small.size(),
                                     json_escape(file));
      }
    }
    if (tot.runs > 0)
      for (const auto& m : sc.required_marks)
        if (tot.marks.count(m) == 0) tot.missing_marks.push_back(m);
  }
  if (tty) err << "\r" << std::string(60, ' ') << "\r" << std::flush;

  // The summary table.
  out << "\n| scenario | runs | failed | operations | crash states | states/s | thin_check | marks hit | missing marks |\n";
  out << "|---|---|---|---|---|---|---|---|---|\n";
  bool missing_any = false;
  for (std::size_t t = 0; t < targets.size(); ++t) {
    const ScenarioTotals& tot = totals[t];
    if (tot.runs == 0) continue;
    std::string missing;
    for (const auto& m : tot.missing_marks) missing += (missing.empty() ? "" : " ") + m;
    missing_any = missing_any || !missing.empty();
    const std::string rate = tot.crash_states == 0 ? "-" : fmt::format("{:.0f}", static_cast<double>(tot.crash_states) / std::max(tot.seconds, 1e-9));
    out << fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", targets[t]->name, tot.runs, tot.failed,
                       tot.operations, tot.crash_states, rate, tot.thin_checks, tot.marks.size(), missing.empty() ? "-" : missing);
  }
  std::map<std::string, std::uint64_t> all_marks;
  for (const auto& tot : totals)
    for (const auto& [m, c] : tot.marks) all_marks[m] += c;
  std::string hit;
  for (const auto& [m, c] : all_marks) hit += fmt::format("{}{}={}", hit.empty() ? "" : " ", m, c);
  out << fmt::format("\nmarks hit: {}\n", hit.empty() ? "none" : hit);
  std::string never;
  for (const auto& [m, c] : marks::snapshot())
    if (all_marks.count(m) == 0) never += (never.empty() ? "" : " ") + m;
  if (!never.empty()) out << fmt::format("marks not hit: {}\n", never);
  const bool passed = failed_runs == 0 && !missing_any;
  out << fmt::format("{} runs, {} failed{}\n", done == 0 ? 0 : [&] {
    std::uint64_t r = 0;
    for (const auto& t : totals) r += t.runs;
    return r;
  }(), failed_runs, missing_any ? "; required coverage marks missing" : "");

  if (!req.json.empty()) {
    std::ofstream j(req.json, std::ios::trunc);
    if (!j) {
      err << fmt::format("pdsim run: cannot write '{}'\n", req.json);
      return 2;
    }
    // Totals first (what the issue asks of every report, and what merging shard files sums), then
    // one object per scenario.
    std::uint64_t runs_done = 0, crash_states = 0;
    for (const auto& t : totals) {
      runs_done += t.runs;
      crash_states += t.crash_states;
    }
    j << fmt::format("{{\"target\":\"{}\",\"first_seed\":{},\"seeds_per_scenario\":{},\"runs\":{},\"failed\":{},"
                     "\"crash_states_checked\":{},\"failures\":[",
                     json_escape(suite_name), req.first_seed, req.runs, runs_done, failed_runs, crash_states);
    for (std::size_t i = 0; i < failure_records.size(); ++i) {
      const FailureRecord& f = failure_records[i];
      j << fmt::format("{}{{\"scenario\":\"{}\",\"seed\":{},\"reproduce\":\"{}\",\"message\":\"{}\"}}", i ? "," : "",
                       json_escape(f.scenario), f.seed, json_escape(f.reproduce), json_escape(f.message));
    }
    j << "],\"marks\":{";
    for (bool first = true; const auto& [m, c] : all_marks) {
      j << fmt::format("{}\"{}\":{}", first ? "" : ",", json_escape(m), c);
      first = false;
    }
    j << "},\"bugs\":[";
    for (std::size_t i = 0; i < req.bugs.size(); ++i) j << (i ? "," : "") << '"' << bug_info(req.bugs[i]).name << '"';
    j << "],\"scenarios\":[";
    for (std::size_t t = 0; t < targets.size(); ++t) {
      const ScenarioTotals& tot = totals[t];
      j << fmt::format("{}{{\"name\":\"{}\",\"runs\":{},\"failed\":{},\"operations\":{},\"crash_states\":{},\"thin_checks\":{},\"failed_seeds\":[",
                       t ? "," : "", json_escape(targets[t]->name), tot.runs, tot.failed, tot.operations, tot.crash_states, tot.thin_checks);
      for (std::size_t i = 0; i < tot.failed_seeds.size(); ++i) j << (i ? "," : "") << tot.failed_seeds[i];
      j << "],\"marks\":{";
      bool first = true;
      for (const auto& [m, c] : tot.marks) {
        j << fmt::format("{}\"{}\":{}", first ? "" : ",", json_escape(m), c);
        first = false;
      }
      j << "},\"missing_marks\":[";
      for (std::size_t i = 0; i < tot.missing_marks.size(); ++i) j << (i ? "," : "") << '"' << json_escape(tot.missing_marks[i]) << '"';
      j << "]}";
    }
    j << "],\"shrunk\":[" << json_failures.str() << "],\"passed\":" << (passed ? "true" : "false") << "}\n";
  }
  return passed ? 0 : 1;
}

}  // namespace pdsim::scenarios
