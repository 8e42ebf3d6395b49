// SPDX-License-Identifier: GPL-2.0-or-later
// The JSON reports of `pdsim run --json FILE`, built from one schema (nlohmann::ordered_json, so
// fields keep the order below). Every report starts with "schema" (which report) and "version"
// (kReportVersion; a reader must refuse a version it does not know). Counts are integers;
// "marks" maps a coverage mark to its hit count.
//
// schema "pdsim-run", version 2 (a suite or scenario run, one shard of it with --shard):
//   target, first_seed, seeds_per_scenario   what was asked
//   shard: {index, count}                    which seeds ran (position % count == index); {0, 1}: all
//   build, engine, strict                    which program ran them, behind which engine seam
//   runs, failed, crash_states_checked       totals over every scenario (what merging shards sums)
//   failures: [{scenario, seed, reproduce, message}]   one per failed seed; reproduce is a command
//   marks: {mark: count}                     over the whole run
//   marks_not_hit: [mark]                    marks the program knows that the run never hit
//   bugs: [switch name]                      the seed-bug switches that were on
//   scenarios: [{name, runs, failed, operations, crash_states, thin_checks, failed_seeds: [seed],
//                marks: {mark: count}, missing_marks: [mark]}]
//   shrunk: [{scenario, seed, shrunk_steps, steps_file}]  failing seeds shrunk to a steps file
//   passed                                    no failure and no required mark missing
//
// schema "pdsim-seeds", version 1 (kSeedsReportVersion; `pdsim run seeds`, the seed-bug report):
//   target ("seeds"), bugs: [{name, commit, scenario, caught, seeds_to_catch (null when not
//   caught), operations, shrunk_steps (null when not shrunk), clean_when_off, symptom,
//   also_seen_by: [scenario]}], passed
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/common/result.h"

namespace pdsim::scenarios::report {

inline constexpr int kReportVersion = 2;       // schema pdsim-run
inline constexpr int kSeedsReportVersion = 1;  // schema pdsim-seeds

struct Failure {
  std::string scenario;
  std::uint64_t seed = 0;
  std::string reproduce;
  std::string message;
};

struct Shrunk {
  std::string scenario;
  std::uint64_t seed = 0;
  std::size_t shrunk_steps = 0;
  std::string steps_file;
};

struct ScenarioTotals {
  std::uint64_t runs = 0, failed = 0, operations = 0, crash_states = 0, thin_checks = 0, diverged = 0;
  double seconds = 0;
  std::map<std::string, std::uint64_t> marks;
  std::vector<std::uint64_t> failed_seeds;
  std::vector<std::string> missing_marks;
};

struct Run {
  std::string target;
  std::uint64_t first_seed = 0;
  std::uint64_t seeds_per_scenario = 0;
  std::uint64_t shard_index = 0, shard_count = 1;
  std::string build, engine;
  bool strict = false;
  std::uint64_t failed = 0;
  std::vector<Failure> failures;
  std::map<std::string, std::uint64_t> marks;
  std::vector<std::string> marks_not_hit;
  std::vector<std::string> bugs;
  std::vector<std::pair<std::string, ScenarioTotals>> scenarios;
  std::vector<Shrunk> shrunk;
  bool passed = true;
};

struct BugRow {
  std::string name, commit, scenario;
  bool caught = false;
  std::uint64_t seeds_to_catch = 0;
  std::uint64_t operations = 0;
  std::optional<std::size_t> shrunk_steps;
  bool clean_when_off = true;
  std::string symptom;
  std::vector<std::string> also_seen_by;
};

// `from`'s counts, marks and failed seeds added into `into` (one seed's totals into a run's, or a
// shard's into the merged run's).
void add_totals(ScenarioTotals& into, const ScenarioTotals& from);

[[nodiscard]] nlohmann::ordered_json to_json(const Run& run);
// A pdsim-run report read back; an error names what does not fit the schema.
[[nodiscard]] Result<Run> from_json(const nlohmann::json& j);
// The shards of one run merged into the report the whole range gives in one process. Refuses
// reports of different targets, seed ranges, seed-bug switches, builds, engines or shard counts,
// a shard given twice and a missing shard; the error names the report (by position) and field.
[[nodiscard]] Result<Run> merge(const std::vector<Run>& shards);
// What `pdsim run` prints after the seeds: the summary table (states/s "-" when the report has no
// timing, as a merged one has not), the marks hit and not hit, and the totals line.
void print_summary(const Run& run, std::ostream& out);
[[nodiscard]] nlohmann::ordered_json seeds_to_json(const std::vector<BugRow>& rows, bool passed);

// Writes `j` (one line) to `path`; an error names the file when it cannot be written whole.
[[nodiscard]] Status write_json(const std::string& path, const nlohmann::ordered_json& j);

}  // namespace pdsim::scenarios::report
