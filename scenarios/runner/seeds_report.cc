// SPDX-License-Identifier: GPL-2.0-or-later
#include "scenarios/runner/seeds_report.h"

#include <sstream>

#include <fmt/format.h>

#include "core/common/assert.h"
#include "scenarios/runner/registry.h"
#include "scenarios/runner/report.h"

namespace pdsim::scenarios {
namespace {

struct BugRow {
  const BugInfo* bug = nullptr;
  const Scenario* scenario = nullptr;
  bool caught = false;
  std::uint64_t seeds_to_catch = 0;
  std::uint64_t operations = 0;
  std::string symptom;
  std::optional<std::size_t> shrunk_steps;
  bool clean_when_off = true;
  std::string false_alarm;
  std::vector<std::string> also_seen_by;
};

// One switch's row: its first regression in the seeds suite run with the switch on until it
// fails (then shrunk), the same seeds with every switch off, and which other scenarios see it.
BugRow check_bug(const BugInfo& info, const Suite& seeds, const Suite& others, const RunRequest& req,
                 const RunOptions& quiet, std::ostream& sink) {
  BugRow row;
  row.bug = &info;
  // The bug's first regression in the suite is its row; later ones (the cache regressions of
  // (i) and (j)) are checked with the scenarios that also see it.
  std::vector<const Scenario*> more;
  for (const auto& name : seeds.scenarios) {
    const Scenario* s = find_scenario(name);
    PDSIM_ASSERT(s != nullptr, "the seeds suite names an unknown scenario");
    for (Bug b : s->catches) {
      if (b != info.bug) continue;
      if (row.scenario == nullptr) row.scenario = s;
      else more.push_back(s);
    }
  }
  if (row.scenario == nullptr) return row;
  const Scenario& sc = *row.scenario;
  {
    ScopedBugs on({info.bug});
    for (std::uint64_t k = 0; k < req.runs && !row.caught; ++k) {
      const std::uint64_t seed = req.first_seed + k;
      SeedOutcome o = sc.run(seed, quiet, sink);
      row.operations += o.operations;
      if (!o.passed) {
        row.caught = true;
        row.seeds_to_catch = k + 1;
        row.symptom = o.failures.empty() ? "" : o.failures.front();
        if (sc.generate && sc.replay && req.shrink) {
          const Steps small = shrink_steps(sc.generate(seed), [&](const Steps& s) { return !sc.replay(seed, s, quiet, sink).passed; }, 400);
          row.shrunk_steps = small.size();
        }
      }
    }
  }
  {
    ScopedBugs off({});
    for (std::uint64_t k = 0; k < req.runs && row.clean_when_off; ++k) {
      SeedOutcome o = sc.run(req.first_seed + k, quiet, sink);
      if (!o.passed) {
        row.clean_when_off = false;
        row.false_alarm = o.failures.empty() ? "" : o.failures.front();
      }
    }
  }
  // Which other scenarios see the bug (one seed each, the default suite's checks).
  ScopedBugs on({info.bug});
  for (const auto& name : others.scenarios) {
    const Scenario* s = find_scenario(name);
    PDSIM_ASSERT(s != nullptr, "the default suite names an unknown scenario");
    if (!s->run(req.first_seed, quiet, sink).passed) row.also_seen_by.push_back(name);
  }
  for (const Scenario* s : more)
    if (!s->run(req.first_seed, quiet, sink).passed) row.also_seen_by.push_back(s->name);
  return row;
}

// The table, the symptoms, the false alarms and the totals line. Returns whether every bug was
// caught and every scenario was clean.
bool print_report(const std::vector<BugRow>& rows, std::ostream& out) {
  out << "\n| bug | switch | scenario | caught (switch on) | seeds to catch | operations | shrunk steps | clean (switch off) | also seen by |\n";
  out << "|---|---|---|---|---|---|---|---|---|\n";
  bool all_ok = true;
  for (const auto& r : rows) {
    all_ok = all_ok && r.scenario != nullptr && r.caught && r.clean_when_off;
    std::string also;
    for (const auto& n : r.also_seen_by) also += (also.empty() ? "" : ", ") + n;
    out << fmt::format("| ({}) {} | {} | {} | {} | {} | {} | {} | {} | {} |\n", r.bug->name.substr(5, 1), r.bug->commit,
                       r.bug->name, r.scenario ? r.scenario->name : "(none)", r.caught ? "yes" : "no",
                       r.caught ? std::to_string(r.seeds_to_catch) : "-", r.operations,
                       r.shrunk_steps ? std::to_string(*r.shrunk_steps) : "-", r.clean_when_off ? "yes" : "no",
                       also.empty() ? "-" : also);
  }
  out << "\nsymptoms (first failure line with the switch on):\n";
  for (const auto& r : rows)
    if (r.caught) out << fmt::format("  {}: {}\n", r.bug->name, r.symptom);
  for (const auto& r : rows)
    if (!r.clean_when_off) out << fmt::format("  FALSE ALARM with {} off: {}\n", r.bug->name, r.false_alarm);
  std::uint64_t caught = 0, clean = 0;
  for (const auto& r : rows) {
    caught += r.caught ? 1 : 0;
    clean += r.clean_when_off ? 1 : 0;
  }
  out << fmt::format("{} of {} bugs caught with the switch on; {} of {} scenarios clean with all switches off\n", caught,
                     rows.size(), clean, rows.size());

  return all_ok;
}

}  // namespace

int run_seeds_report(const RunRequest& req, std::ostream& out, std::ostream& err) {
  RunOptions quiet = req.opts;
  quiet.thin_check = ThinCheck::never;
  quiet.trace = false;
  std::ostringstream sink;
  out << fmt::format("seed bugs: {} switches, {} seeds each (from seed {})\n", all_bugs().size(), req.runs, req.first_seed);
  const Suite* seeds = find_suite("seeds");
  const Suite* others = find_suite("default");
  PDSIM_ASSERT(seeds != nullptr && others != nullptr, "the seeds and default suites are registered");
  std::vector<BugRow> rows;
  for (const auto& info : all_bugs()) {
    rows.push_back(check_bug(info, *seeds, *others, req, quiet, sink));
    const BugRow& row = rows.back();
    if (row.scenario != nullptr) out << fmt::format("  {}: {}\n", info.name, row.caught ? "caught" : "NOT caught");
  }
  const bool all_ok = print_report(rows, out);
  if (!req.json.empty()) {
    std::vector<report::BugRow> json_rows;
    for (const auto& r : rows)
      json_rows.push_back({std::string(r.bug->name), std::string(r.bug->commit), r.scenario ? r.scenario->name : "",
                           r.caught, r.seeds_to_catch, r.operations, r.shrunk_steps, r.clean_when_off, r.symptom,
                           r.also_seen_by});
    if (Status w = report::write_json(req.json, report::seeds_to_json(json_rows, all_ok)); !w) {
      err << fmt::format("pdsim run: {}\n", w.error().message());
      return 2;
    }
  }
  return all_ok ? 0 : 1;
}

}  // namespace pdsim::scenarios
