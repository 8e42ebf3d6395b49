// SPDX-License-Identifier: GPL-2.0-or-later
#include "scenarios/runner/runner.h"

#include <unistd.h>

#include <chrono>
#include <cstring>
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
#include "scenarios/harness/failures.h"
#include "scenarios/runner/html_report.h"
#include "scenarios/runner/registry.h"
#include "scenarios/runner/report.h"
#include "scenarios/runner/seeds_report.h"
#include "scenarios/runner/workers.h"

namespace pdsim::scenarios {
namespace {

using report::ScenarioTotals;

std::string bug_flags(const std::vector<Bug>& bugs) {
  std::string s;
  for (Bug b : bugs) s += fmt::format(" --bug {}", bug_info(b).name);
  return s;
}

// The engine behind the seam, by the name --engine takes.
std::string_view engine_name(const RunRequest& req) {
  if (req.opts.thin_engine) return req.opts.thin_engine->name();
  if (req.opts.cache_engine) return req.opts.cache_engine->name();
  return "pdsim";
}

// The flags a reproduce or replay line needs to run the seed as this run did: the seed-bug
// switches, the engine when it is not ours, and --strict.
std::string run_flags(const RunRequest& req) {
  std::string s = bug_flags(req.bugs);
  if (const std::string_view engine = engine_name(req); engine != "pdsim") s += fmt::format(" --engine {}", engine);
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
  bool interrupted = false;  // Ctrl-C stopped a --jobs run: what finished is reported
};

// The command that runs one seed again as this run ran it.
std::string reproduce_line(const RunRequest& req, const Scenario& sc, std::uint64_t seed) {
  return fmt::format("./pdsim run {} --seed {}{}", sc.name, seed, run_flags(req));
}

// Counts a failed seed (the run itself already counted in `tot`) and keeps its failure line.
void count_failure(ScenarioTotals& tot, RunState& st, const Scenario& sc, std::uint64_t seed, const std::string& reproduce,
                   std::string message) {
  ++tot.failed;
  ++st.failed_runs;
  tot.failed_seeds.push_back(seed);
  st.failures.push_back({sc.name, seed, reproduce, std::move(message)});
}

struct Shrunk {
  Steps steps;
  std::string replay;  // the command that replays them
};

// Shrinks a failing seed's steps, prints them and saves them as a replayable steps file.
std::optional<Shrunk> shrink_failure(const RunRequest& req, const Scenario& sc, std::uint64_t seed, RunState& st,
                                     std::ostream& out, std::ostream& err) {
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
    return std::nullopt;
  }
  const Steps small = shrink_steps(steps, fails);
  // Beside the images (--save-images), else beside the report pages (--report), else here.
  const std::string& dir = !req.opts.save_images_dir.empty() ? req.opts.save_images_dir : req.report_dir;
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
  const std::string replay = fmt::format("{} --replay {}", reproduce_line(req, sc, seed), file);
  out << fmt::format("  replay: {}\n", replay);
  st.shrunk.push_back({sc.name, seed, small.size(), file});
  return Shrunk{small, replay};
}

// --report DIR: the failing seed's page, from a replay of its (shrunk) steps with the trace on
// and its image saved beside the page; a scenario without steps is run again whole.
void write_report_page(const RunRequest& req, const Scenario& sc, std::uint64_t seed, const SeedOutcome& o,
                       const std::string& reproduce, const std::optional<Shrunk>& shrunk, std::ostream& out,
                       std::ostream& err) {
  SeedPage page;
  page.scenario = sc.name;
  page.seed = seed;
  page.failures = o.failures;
  page.reproduce = reproduce;
  if (shrunk) page.replay = shrunk->replay;
  RunOptions traced = req.opts;
  traced.trace = true;
  traced.thin_check = ThinCheck::never;
  traced.save_images_dir = req.report_dir;
  std::ostringstream trace;
  SeedOutcome replayed;
  {
    ScopedBugs on(req.bugs);
    if (sc.replay && (shrunk || sc.generate)) replayed = sc.replay(seed, shrunk ? shrunk->steps : sc.generate(seed), traced, trace);
    else replayed = sc.run(seed, traced, trace);
  }
  page.trace = trace.str();
  page.replay_failures = replayed.failures;
  // The images the traced replay saved, where it saved them (when it did).
  for (auto [kind, path] : {std::pair{"", &page.image_path}, std::pair{"expected", &page.expected_image_path},
                            std::pair{"written", &page.written_image_path}})
    if (std::string f = failing_image_path(req.report_dir, sc.name, seed, kind); std::filesystem::exists(f)) *path = f;
  auto written = write_seed_page(req.report_dir, page);
  if (!written) {
    err << fmt::format("pdsim run: --report: {}\n", written.error().message());
    return;
  }
  out << fmt::format("  report: {}/{}\n", req.report_dir, *written);
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
  for (const auto& f : o.failures) out << fmt::format("  failure: {}\n", f);
  const std::string reproduce = reproduce_line(req, sc, seed);
  out << fmt::format("  reproduce: {}\n", reproduce);
  count_failure(tot, st, sc, seed, reproduce, o.failures.empty() ? o.summary : o.failures.front());
  std::optional<Shrunk> shrunk;
  if (sc.generate && sc.replay && req.shrink && req.replay.empty()) shrunk = shrink_failure(req, sc, seed, st, out, err);
  if (!req.report_dir.empty()) write_report_page(req, sc, seed, o, reproduce, shrunk, out, err);
  return true;
}

// The required marks a scenario's runs did not hit. Coverage marks are placed in pdsim's engine;
// another engine behind the seam (the kernel's code) has none, so its runs are judged by their
// checks alone.
void note_missing_marks(const RunRequest& req, const std::vector<const Scenario*>& targets, RunState& st) {
  const bool our_engine = req.opts.thin_engine == nullptr && req.opts.cache_engine == nullptr;
  for (std::size_t t = 0; t < targets.size(); ++t) {
    ScenarioTotals& tot = st.totals[t];
    if (tot.runs > 0 && our_engine)
      for (const auto& m : targets[t]->required_marks)
        if (tot.marks.count(m) == 0) tot.missing_marks.push_back(m);
  }
}

// ---- --jobs: one seed's result, from a worker process to the parent -------------------------

class Encoder {
 public:
  void u64(std::uint64_t v) { bytes_.append(reinterpret_cast<const char*>(&v), sizeof v); }
  void str(const std::string& s) {
    u64(s.size());
    bytes_ += s;
  }
  std::string take() { return std::move(bytes_); }

 private:
  std::string bytes_;
};

class Decoder {
 public:
  explicit Decoder(const std::string& b) : b_(b) {}
  std::uint64_t u64() {
    std::uint64_t v = 0;
    if (at_ + sizeof v > b_.size()) return bad_ = true, 0;
    std::memcpy(&v, b_.data() + at_, sizeof v);
    at_ += sizeof v;
    return v;
  }
  std::string str() {
    const std::uint64_t n = u64();
    if (bad_ || n > b_.size() - at_) return bad_ = true, std::string();
    std::string s = b_.substr(at_, n);
    at_ += n;
    return s;
  }
  [[nodiscard]] bool ok() const { return !bad_ && at_ == b_.size(); }
  [[nodiscard]] bool bad() const { return bad_; }

 private:
  const std::string& b_;
  std::size_t at_ = 0;
  bool bad_ = false;
};

// What run_seed leaves behind for one seed, with everything it printed.
struct SeedResult {
  bool ok = true;
  std::string out, err;
  ScenarioTotals tot;
  RunState st;
  std::vector<std::string> registered_marks;  // the worker's mark registry (for "marks not hit")
};

std::string encode(const SeedResult& r) {
  Encoder e;
  e.u64(r.ok ? 1 : 0);
  e.str(r.out);
  e.str(r.err);
  const ScenarioTotals& t = r.tot;
  for (std::uint64_t v : {t.runs, t.failed, t.operations, t.crash_states, t.thin_checks, t.diverged}) e.u64(v);
  std::uint64_t secs = 0;
  std::memcpy(&secs, &t.seconds, sizeof secs);
  e.u64(secs);
  e.u64(t.marks.size());
  for (const auto& [m, c] : t.marks) e.str(m), e.u64(c);
  e.u64(t.failed_seeds.size());
  for (auto s : t.failed_seeds) e.u64(s);
  e.u64(r.st.failures.size());
  for (const auto& f : r.st.failures) e.str(f.scenario), e.u64(f.seed), e.str(f.reproduce), e.str(f.message);
  e.u64(r.st.shrunk.size());
  for (const auto& s : r.st.shrunk) e.str(s.scenario), e.u64(s.seed), e.u64(s.shrunk_steps), e.str(s.steps_file);
  e.u64(r.st.failed_runs);
  e.u64(r.registered_marks.size());
  for (const auto& m : r.registered_marks) e.str(m);
  return e.take();
}

std::optional<SeedResult> decode(const std::string& bytes) {
  Decoder d(bytes);
  SeedResult r;
  r.ok = d.u64() != 0;
  r.out = d.str();
  r.err = d.str();
  ScenarioTotals& t = r.tot;
  for (std::uint64_t* v : {&t.runs, &t.failed, &t.operations, &t.crash_states, &t.thin_checks, &t.diverged}) *v = d.u64();
  const std::uint64_t secs = d.u64();
  std::memcpy(&t.seconds, &secs, sizeof secs);
  for (std::uint64_t n = d.u64(); n > 0 && !d.bad(); --n) {
    std::string m = d.str();
    t.marks[m] = d.u64();
  }
  for (std::uint64_t n = d.u64(); n > 0 && !d.bad(); --n) t.failed_seeds.push_back(d.u64());
  for (std::uint64_t n = d.u64(); n > 0 && !d.bad(); --n) {
    report::Failure f;
    f.scenario = d.str();
    f.seed = d.u64();
    f.reproduce = d.str();
    f.message = d.str();
    r.st.failures.push_back(std::move(f));
  }
  for (std::uint64_t n = d.u64(); n > 0 && !d.bad(); --n) {
    report::Shrunk s;
    s.scenario = d.str();
    s.seed = d.u64();
    s.shrunk_steps = d.u64();
    s.steps_file = d.str();
    r.st.shrunk.push_back(std::move(s));
  }
  r.st.failed_runs = d.u64();
  for (std::uint64_t n = d.u64(); n > 0 && !d.bad(); --n) r.registered_marks.push_back(d.str());
  if (!d.ok()) return std::nullopt;
  return r;
}

// The seeds of the run (shard applied) on req.jobs worker processes. Prints exactly what the
// one-process loop prints, in the same order: each seed's lines as its turn comes, whatever order
// the workers finish in; the failure limit stops at the same seed. Only the progress line and
// the rates differ.
bool run_targets_in_workers(const RunRequest& req, const std::vector<const Scenario*>& targets, RunState& st,
                            std::ostream& out, std::ostream& err) {
  struct Task {
    std::size_t t;
    std::uint64_t k;
  };
  std::vector<Task> tasks;
  for (std::size_t t = 0; t < targets.size(); ++t)
    for (std::uint64_t k = 0; k < req.runs; ++k)
      if (k % req.shard_count == req.shard_index) tasks.push_back({t, k});
  const bool tty = req.progress && ::isatty(STDERR_FILENO) != 0;
  const auto t0 = std::chrono::steady_clock::now();
  bool usage_error = false;
  WorkerCallbacks cb;
  cb.work = [&](std::size_t i) {
    const Task& task = tasks[i];
    SeedResult r;
    std::ostringstream o, e;
    r.ok = run_seed(req, *targets[task.t], req.first_seed + task.k, r.tot, r.st, o, e);
    r.out = o.str();
    r.err = e.str();
    for (const auto& [m, c] : marks::snapshot()) r.registered_marks.push_back(m);
    return encode(r);
  };
  cb.in_order = [&](std::size_t i, const std::optional<std::string>& bytes, const std::string& death) {
    const Task& task = tasks[i];
    const Scenario& sc = *targets[task.t];
    const std::uint64_t seed = req.first_seed + task.k;
    ScenarioTotals& tot = st.totals[task.t];
    std::optional<SeedResult> r = bytes ? decode(*bytes) : std::nullopt;
    if (!r) {  // the worker died in this seed: a failure the one-process run would have crashed on
      const std::string why = bytes ? "its worker's answer did not decode" : death;
      const std::string reproduce = reproduce_line(req, sc, seed);
      out << fmt::format("{} seed {}: FAILED the run did not finish: {}\n  reproduce: {}\n", sc.name, seed, why, reproduce);
      ++tot.runs;
      count_failure(tot, st, sc, seed, reproduce, fmt::format("the run did not finish: {}", why));
    } else {
      out << r->out;
      err << r->err;
      if (!r->ok) {
        usage_error = true;
        return false;
      }
      report::add_totals(tot, r->tot);
      st.failures.insert(st.failures.end(), r->st.failures.begin(), r->st.failures.end());
      st.shrunk.insert(st.shrunk.end(), r->st.shrunk.begin(), r->st.shrunk.end());
      st.failed_runs += r->st.failed_runs;
      for (const auto& m : r->registered_marks) (void)marks::counter(m);  // known here too: "marks not hit"
    }
    st.done = task.t * req.runs + task.k + 1;
    return !(req.max_failures != 0 && st.failed_runs >= req.max_failures);
  };
  std::uint64_t failed_seen = 0;
  cb.progress = [&](std::size_t finished) {
    if (!tty) return;
    failed_seen = st.failed_runs;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    err << fmt::format("\r[{}/{}] {} failed, {:.1f} seeds/s, {} workers   ", finished, tasks.size(), failed_seen,
                       static_cast<double>(finished) / std::max(secs, 1e-9), req.jobs)
        << std::flush;
  };
  auto end = run_in_workers(tasks.size(), req.jobs, cb);
  if (tty) err << "\r" << std::string(70, ' ') << "\r" << std::flush;
  if (!end) {
    err << end.error().message() << "\n";
    return false;
  }
  if (usage_error) return false;
  if (end->reported == tasks.size()) st.done = targets.size() * req.runs;
  if (end->interrupted) {
    st.interrupted = true;
    err << fmt::format("pdsim run: interrupted: {} of {} seeds finished and are reported below\n", end->reported,
                       tasks.size());
  }
  note_missing_marks(req, targets, st);
  return true;
}

// Every seed of every target, shard and failure limit applied. False on a usage error.
bool run_targets(const RunRequest& req, const std::vector<const Scenario*>& targets, RunState& st, std::ostream& out,
                 std::ostream& err) {
  std::uint64_t seeds = 0;
  for (std::uint64_t k = 0; k < req.runs; ++k) seeds += k % req.shard_count == req.shard_index ? std::uint64_t{1} : std::uint64_t{0};
  if (req.jobs > 1 && req.replay.empty() && seeds * targets.size() > 1)
    return run_targets_in_workers(req, targets, st, out, err);
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
  }
  note_missing_marks(req, targets, st);
  if (tty) err << "\r" << std::string(60, ' ') << "\r" << std::flush;
  return true;
}

std::map<std::string, std::uint64_t> marks_of(const RunState& st) {
  std::map<std::string, std::uint64_t> all;
  for (const auto& tot : st.totals)
    for (const auto& [m, c] : tot.marks) all[m] += c;
  return all;
}

report::Run make_report(const RunRequest& req, const std::vector<const Scenario*>& targets, const RunState& st,
                        bool passed) {
  report::Run r;
  r.target = req.target;
  r.first_seed = req.first_seed;
  r.seeds_per_scenario = req.runs;
  r.shard_index = req.shard_index;
  r.shard_count = req.shard_count;
  r.build = req.build;
  r.engine = engine_name(req);
  r.strict = req.strict;
  r.failed = st.failed_runs;
  r.failures = st.failures;
  r.marks = marks_of(st);
  for (const auto& [m, c] : marks::snapshot())  // every mark this program knows (its workers' too)
    if (r.marks.count(m) == 0) r.marks_not_hit.push_back(m);
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
  bool missing_any = false;
  for (const auto& t : st.totals) missing_any = missing_any || !t.missing_marks.empty();
  const bool passed = st.failed_runs == 0 && !missing_any && !st.interrupted;
  const report::Run summary = make_report(req, *targets, st, passed);
  report::print_summary(summary, out);
  if (!req.report_dir.empty()) {
    if (Status w = write_summary_page(req.report_dir, summary); !w) {
      err << fmt::format("pdsim run: --report: {}\n", w.error().message());
      return 2;
    }
    out << fmt::format("report: {}/index.html\n", req.report_dir);
  }
  if (!req.json.empty()) {
    if (Status w = report::write_json(req.json, report::to_json(summary)); !w) {
      err << fmt::format("pdsim run: {}\n", w.error().message());
      return 2;
    }
  }
  if (st.interrupted) return 130;  // as a shell reports SIGINT
  return passed ? 0 : 1;
}

}  // namespace pdsim::scenarios
