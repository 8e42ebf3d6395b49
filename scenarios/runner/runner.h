// SPDX-License-Identifier: GPL-2.0-or-later
// The scenario runner behind `pdsim run`: runs a suite or one scenario seed by seed with seed-bug
// switches on, collects coverage marks, shrinks failing step lists (delta debugging), prints a
// progress line, per-seed lines and a summary table, and writes a JSON report.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "scenarios/runner/scenario.h"
#include "scenarios/runner/shrink.h"

namespace pdsim::scenarios {

struct RunRequest {
  std::string target;                 // a suite or a scenario name
  std::uint64_t first_seed = 1;
  std::uint64_t runs = 8;             // seeds per scenario
  std::vector<Bug> bugs;              // switches on for every run
  std::string json;                   // write the report here ("" = no report)
  std::uint64_t shard_index = 0;      // run only seeds whose position % shard_count == shard_index
  std::uint64_t shard_count = 1;
  std::string replay;                 // a steps file to replay (one scenario, one seed)
  bool progress = false;              // a progress line on stderr
  bool shrink = true;
  std::uint64_t max_failures = 0;     // stop after this many failed seeds (0 = never)
  bool strict = false;                // a run a known divergence ended fails (SeedOutcome::divergence)
  std::string report_dir;             // --report: an HTML page per failing seed and index.html here
  std::string build;                  // which program: goes into the JSON report (pdsim merge compares it)
  unsigned jobs = 1;                  // worker processes (scenarios/runner/workers.h); same output for any number
  RunOptions opts;
};

// Returns the exit code: 0 all passed, 1 a run failed, 2 a usage error (unknown target...).
[[nodiscard]] int run(const RunRequest& req, std::ostream& out, std::ostream& err);

}  // namespace pdsim::scenarios
