// SPDX-License-Identifier: GPL-2.0-or-later
#include "scenarios/runner/runner.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "core/common/assert.h"
#include "core/common/marks.h"
#include "core/common/result.h"
#include "core/seam/cache_metadata.h"
#include "core/seam/thin_metadata.h"
#include "scenarios/runner/registry.h"
#include "scenarios/runner/report.h"
#include "scenarios/runner/seeds_report.h"

namespace pdsim::scenarios {
namespace {

using report::ScenarioTotals;

std::string bug_flags(const std::vector<Bug>& bugs) {
  std::string s;
  for (Bug b : bugs) s += fmt::format(" --bug {}", bug_info(b).name);
  return s;
}

// The flags a reproduce or replay line needs to run the seed as this run did: the seed-bug
// switches, the engine when it is not ours, and --strict.
std::string run_flags(const RunRequest& req) {
  std::string s = bug_flags(req.bugs);
  std::string_view engine;
  if (req.opts.thin_engine) engine = req.opts.thin_engine->name();
  else if (req.opts.cache_engine) engine = req.opts.cache_engine->name();
  if (!engine.empty() && engine != "pdsim") s += fmt::format(" --engine {}", engine);
  if (req.strict) s += " --strict";
  return s;
}

// The scenarios a target names, in run order, after printing what it is; nullopt (with a
// one-line error) when it names nothing.
std::optional<std::vector<const Scenario*>> resolve_target(const std::string& target, std::ostream& out,
                                                           std::ostream& err) {
  std::vector<const Scenario*> targets;
  if (const Suite* suite = find_suite(target)) {
    for (const auto& name : suite->scenarios) {
      const Scenario* s = find_scenario(name);
      PDSIM_ASSERT(s != nullptr, "a suite names an unknown scenario (check_registry() was not run)");
      targets.push_back(s);
    }
    out << fmt::format("suite {}: {}\n", suite->name, suite->description);
  } else if (const Scenario* s = find_scenario(target)) {
    targets.push_back(s);
    out << fmt::format("scenario {}: {}\n", s->name, s->description);
  } else {
    std::string known;
    for (const auto& su : all_suites()) known += (known.empty() ? "" : ", ") + su.name;
    err << fmt::format("pdsim run: unknown suite or scenario '{}' (suites: {}; 'pdsim list' shows the scenarios)\n",
                       target, known);
    return std::nullopt;
  }
  return targets;
}

// The usage errors a request can have once its targets are known; "" when there is none.
std::string request_error(const RunRequest& req, const std::vector<const Scenario*>& targets) {
  if (req.shard_count == 0 || req.shard_index >= req.shard_count)
    return fmt::format("pdsim run: --shard {}/{} is not a shard (I/N with I < N)\n", req.shard_index, req.shard_count);
  if (!req.replay.empty() && (targets.size() != 1 || !targets[0]->replay))
    return "pdsim run: --replay needs one scenario that has steps (see 'pdsim list')\n";
  return "";
}

void print_header(const RunRequest& req, std::ostream& out) {
  if (!req.bugs.empty()) {
    std::string names;
    for (Bug b : req.bugs) names += std::string(names.empty() ? "" : ", ") + std::string(bug_info(b).name);
    out << fmt::format("seed bugs on: {}\n", names);
  }
  out << fmt::format("seeds {}..{}{}\n", req.first_seed, req.first_seed + req.runs - 1,
                     req.shard_count > 1 ? fmt::format(" (shard {}/{})", req.shard_index, req.shard_count) : "");
}

// Everything a run accumulates.
struct RunState {
  std::vector<ScenarioTotals> totals;
  std::vector<report::Failure> failures;
  std::vector<report::Shrunk> shrunk;
  std::uint64_t failed_runs = 0;
  std::uint64_t done = 0;
};

// Shrinks a failing seed's steps, prints them and saves them as a replayable steps file.
void shrink_failure(const RunRequest& req, const Scenario& sc, std::uint64_t seed, RunState& st, std::ostream& out,
                    std::ostream& err) {
  const Steps steps = sc.generate(seed);
  ScopedBugs on(req.bugs);
  std::ostringstream sink;
  RunOptions quiet;
  quiet.thin_check = ThinCheck::never;
  quiet.thin_engine = req.opts.thin_engine;
  quiet.cache_engine = req.opts.cache_engine;
  quiet.peer_thin_engine = req.opts.peer_thin_engine;
  quiet.peer_cache_engine = req.opts.peer_cache_engine;
  auto fails = [&](const Steps& s) {
    const SeedOutcome o = sc.replay(seed, s, quiet, sink);
    return !o.passed || (req.strict && !o.divergence.empty());
  };
  // Shrinking starts from a list that fails; if the whole list replays clean (a failure only
  // thin_check saw, say), there is nothing to shrink.
  if (!fails(steps)) {
    out << "  not shrunk: the seed's steps replay clean without thin_check (the failure came from a check the "
           "replay skips)\n";
    return;
  }
  const Steps small = shrink_steps(steps, fails);
  const std::string& dir = req.opts.save_images_dir;
  const std::string file = fmt::format("{}{}-seed{}.steps", dir.empty() ? "" : dir + "/", sc.name, seed);
  if (!dir.empty()) {
    std::error_code ec;  // like the harness's images: --save-images DIR need not exist yet
    std::filesystem::create_directories(dir, ec);
  }
  const std::string header =
      fmt::format("{} seed {}{}: shrunk from {} to {} steps", sc.name, seed, run_flags(req), steps.size(), small.size());
  if (Status w = write_steps(file, header, small); !w) err << fmt::format("pdsim run: {}\n", w.error().message());
  out << fmt::format("  shrunk: {} -> {} steps:\n", steps.size(), small.size());
  for (const auto& s : small) out << fmt::format("    {}\n", s);
  out << fmt::format("  replay: ./pdsim run {} --seed {}{} --replay {}\n", sc.name, seed, run_flags(req), file);
  st.shrunk.push_back({sc.name, seed, small.size(), file});
}

// Runs one seed of one scenario (generated, or the request's steps file), adds it to the totals
// and reports a failure. Returns false on a usage error (an unreadable steps file).
bool run_seed(const RunRequest& req, const Scenario& sc, std::uint64_t seed, ScenarioTotals& tot, RunState& st,
              std::ostream& out, std::ostream& err) {
  const auto marks_before = marks::snapshot();
  const auto t0 = std::chrono::steady_clock::now();
  SeedOutcome o;
  {
    ScopedBugs on(req.bugs);
    if (!req.replay.empty()) {
      std::vector<std::size_t> lines;
      auto steps = read_steps(req.replay, &lines);
      if (!steps) {
        err << fmt::format("pdsim run: {}\n", steps.error().to_string());
        return false;
      }
      // A steps file is user input: every line is checked before anything runs.
      for (std::size_t i = 0; i < steps->size(); ++i) {
        if (Status ok = check_step(sc.grammar, (*steps)[i]); !ok) {
          const std::string& text = (*steps)[i];
          err << fmt::format("pdsim run: {}:{}: step {} '{}': {}\n", req.replay, lines[i], i,
                             text.size() <= 60 ? text : text.substr(0, 57) + "...", ok.error().message());
          return false;
        }
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
  const bool diverged = !o.divergence.empty();
  if (diverged) {
    ++tot.diverged;
    if (req.strict && o.passed) {
      o.passed = false;
      o.failures.insert(o.failures.begin(), fmt::format("known divergence (--strict): {}", o.divergence));
    }
  }
  out << fmt::format("{} seed {}: {} {}\n", sc.name, seed, o.passed ? (diverged ? "stopped" : "ok") : "FAILED", o.summary);
  if (diverged && o.passed) out << fmt::format("  known divergence, the run ends here: {}\n", o.divergence);
  if (o.passed) return true;
  ++tot.failed;
  ++st.failed_runs;
  tot.failed_seeds.push_back(seed);
  for (const auto& f : o.failures) out << fmt::format("  failure: {}\n", f);
  const std::string reproduce = fmt::format("./pdsim run {} --seed {}{}", sc.name, seed, run_flags(req));
  out << fmt::format("  reproduce: {}\n", reproduce);
  st.failures.push_back({sc.name, seed, reproduce, o.failures.empty() ? o.summary : o.failures.front()});
  if (sc.generate && sc.replay && req.shrink && req.replay.empty()) shrink_failure(req, sc, seed, st, out, err);
  return true;
}

// Every seed of every target, shard and failure limit applied. False on a usage error.
bool run_targets(const RunRequest& req, const std::vector<const Scenario*>& targets, RunState& st, std::ostream& out,
                 std::ostream& err) {
  const bool tty = req.progress && ::isatty(STDERR_FILENO) != 0;
  const std::uint64_t planned = targets.size() * req.runs;
  auto stop = [&] { return req.max_failures != 0 && st.failed_runs >= req.max_failures; };
  for (std::size_t t = 0; t < targets.size() && !stop(); ++t) {
    const Scenario& sc = *targets[t];
    ScenarioTotals& tot = st.totals[t];
    for (std::uint64_t k = 0; k < req.runs && !stop(); ++k, ++st.done) {
      if (k % req.shard_count != req.shard_index) continue;
      const std::uint64_t seed = req.first_seed + k;
      if (tty) err << fmt::format("\r[{}/{}] {} seed {}   ", st.done + 1, planned, sc.name, seed) << std::flush;
      if (!run_seed(req, sc, seed, tot, st, out, err)) return false;
    }
    // Coverage marks are placed in pdsim's engine; another engine behind the seam (the kernel's
    // code) has none, so its runs are judged by their checks alone.
    const bool our_engine = req.opts.thin_engine == nullptr && req.opts.cache_engine == nullptr;
    if (tot.runs > 0 && our_engine)
      for (const auto& m : sc.required_marks)
        if (tot.marks.count(m) == 0) tot.missing_marks.push_back(m);
  }
  if (tty) err << "\r" << std::string(60, ' ') << "\r" << std::flush;
  return true;
}

std::map<std::string, std::uint64_t> marks_of(const RunState& st) {
  std::map<std::string, std::uint64_t> all;
  for (const auto& tot : st.totals)
    for (const auto& [m, c] : tot.marks) all[m] += c;
  return all;
}

// The summary table, the marks hit and not hit, the totals line. Returns whether a required mark
// is missing.
bool print_summary(const std::vector<const Scenario*>& targets, const RunState& st, std::ostream& out) {
  out << "\n| scenario | runs | failed | operations | crash states | states/s | thin_check | marks hit | missing marks |\n";
  out << "|---|---|---|---|---|---|---|---|---|\n";
  bool missing_any = false;
  for (std::size_t t = 0; t < targets.size(); ++t) {
    const ScenarioTotals& tot = st.totals[t];
    if (tot.runs == 0) continue;
    std::string missing;
    for (const auto& m : tot.missing_marks) missing += (missing.empty() ? "" : " ") + m;
    missing_any = missing_any || !missing.empty();
    const std::string rate = tot.crash_states == 0
                                 ? "-"
                                 : fmt::format("{:.0f}", static_cast<double>(tot.crash_states) / std::max(tot.seconds, 1e-9));
    out << fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", targets[t]->name, tot.runs, tot.failed,
                       tot.operations, tot.crash_states, rate, tot.thin_checks, tot.marks.size(),
                       missing.empty() ? "-" : missing);
  }
  const auto all_marks = marks_of(st);
  std::string hit;
  for (const auto& [m, c] : all_marks) hit += fmt::format("{}{}={}", hit.empty() ? "" : " ", m, c);
  out << fmt::format("\nmarks hit: {}\n", hit.empty() ? "none" : hit);
  std::string never;
  for (const auto& [m, c] : marks::snapshot())
    if (all_marks.count(m) == 0) never += (never.empty() ? "" : " ") + m;
  if (!never.empty()) out << fmt::format("marks not hit: {}\n", never);
  std::uint64_t runs = 0, diverged = 0;
  for (const auto& t : st.totals) runs += t.runs, diverged += t.diverged;
  out << fmt::format("{} runs, {} failed{}{}\n", st.done == 0 ? 0 : runs, st.failed_runs,
                     diverged == 0 ? "" : fmt::format(", {} ended at a known divergence of the engine", diverged),
                     missing_any ? "; required coverage marks missing" : "");
  return missing_any;
}

report::Run make_report(const RunRequest& req, const std::vector<const Scenario*>& targets, const RunState& st,
                        bool passed) {
  report::Run r;
  r.target = req.target;
  r.first_seed = req.first_seed;
  r.seeds_per_scenario = req.runs;
  r.failed = st.failed_runs;
  r.failures = st.failures;
  r.marks = marks_of(st);
  for (Bug b : req.bugs) r.bugs.emplace_back(bug_info(b).name);
  for (std::size_t t = 0; t < targets.size(); ++t) r.scenarios.emplace_back(targets[t]->name, st.totals[t]);
  r.shrunk = st.shrunk;
  r.passed = passed;
  return r;
}

}  // namespace

int run(const RunRequest& req, std::ostream& out, std::ostream& err) {
  // The seeds suite with no switch given is the bug report; with --bug it runs like any suite.
  if (req.target == "seeds" && req.bugs.empty() && req.replay.empty() && req.shard_count == 1)
    return run_seeds_report(req, out, err);
  const auto targets = resolve_target(req.target, out, err);
  if (!targets) return 2;
  if (const std::string e = request_error(req, *targets); !e.empty()) {
    err << e;
    return 2;
  }
  print_header(req, out);
  RunState st;
  st.totals.resize(targets->size());
  if (!run_targets(req, *targets, st, out, err)) return 2;
  const bool missing_any = print_summary(*targets, st, out);
  const bool passed = st.failed_runs == 0 && !missing_any;
  if (!req.json.empty()) {
    if (Status w = report::write_json(req.json, report::to_json(make_report(req, *targets, st, passed))); !w) {
      err << fmt::format("pdsim run: {}\n", w.error().message());
      return 2;
    }
  }
  return passed ? 0 : 1;
}

}  // namespace pdsim::scenarios
