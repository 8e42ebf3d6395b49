// SPDX-License-Identifier: GPL-2.0-or-later
// The JSON reports of `pdsim run --json FILE`, built from one schema (nlohmann::ordered_json, so
// fields keep the order below). Every report starts with "schema" (which report) and "version"
// (kReportVersion; a reader must refuse a version it does not know). Counts are integers;
// "marks" maps a coverage mark to its hit count.
//
// schema "pdsim-run", version 1 (a suite or scenario run, one shard of it with --shard):
//   target, first_seed, seeds_per_scenario   what was asked
//   runs, failed, crash_states_checked       totals over every scenario (what merging shards sums)
//   failures: [{scenario, seed, reproduce, message}]   one per failed seed; reproduce is a command
//   marks: {mark: count}                     over the whole run
//   bugs: [switch name]                      the seed-bug switches that were on
//   scenarios: [{name, runs, failed, operations, crash_states, thin_checks, failed_seeds: [seed],
//                marks: {mark: count}, missing_marks: [mark]}]
//   shrunk: [{scenario, seed, shrunk_steps, steps_file}]  failing seeds shrunk to a steps file
//   passed                                    no failure and no required mark missing
//
// schema "pdsim-seeds", version 1 (`pdsim run seeds`, the seed-bug report):
//   target ("seeds"), bugs: [{name, commit, scenario, caught, seeds_to_catch (null when not
//   caught), operations, shrunk_steps (null when not shrunk), clean_when_off, symptom,
//   also_seen_by: [scenario]}], passed
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/common/result.h"

namespace pdsim::scenarios::report {

inline constexpr int kReportVersion = 1;

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
  std::uint64_t failed = 0;
  std::vector<Failure> failures;
  std::map<std::string, std::uint64_t> marks;
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

[[nodiscard]] nlohmann::ordered_json to_json(const Run& run);
[[nodiscard]] nlohmann::ordered_json seeds_to_json(const std::vector<BugRow>& rows, bool passed);

// Writes `j` (one line) to `path`; an error names the file when it cannot be written whole.
[[nodiscard]] Status write_json(const std::string& path, const nlohmann::ordered_json& j);

}  // namespace pdsim::scenarios::report
