// SPDX-License-Identifier: GPL-2.0-or-later
// The crash explorer: runs a thin workload with the disk's WriteLog on, then checks every crash
// state the log allows (sim/crash_states.h): after each write and flush, the durable prefix plus
// every subset of at most K pending writes, plus torn variants — exhaustive for small points,
// sampled for large ones. Each state must open as exactly the last transaction committed by that
// point, or the one whose commit was under way, and pass the independent checker.
#pragma once

#include <vector>

#include "scenarios/runner/scenario.h"

namespace pdsim::scenarios {

[[nodiscard]] Scenario crash_explorer_scenario();

// Where a crash state's time goes (bench/crash_states_compare.cc): seconds building the states,
// opening, reading the pool and checking, and how many states took the durable image's verdict.
struct CrashExplorerTimes {
  double build = 0, open = 0, read = 0, check = 0;
  std::uint64_t states = 0, reused = 0;
};

struct CrashExplorerOptions {
  // A state that changes only blocks the durable image's open, read and check never read gets
  // the durable image's verdict (same bytes read, same result). Off: every state is opened,
  // read and checked (how it was done before; the benchmark's baseline).
  bool reuse_verdicts = true;
  CrashExplorerTimes* times = nullptr;  // filled in when given
};

// One seed of the crash explorer with these options (the scenario runs it with the defaults).
[[nodiscard]] SeedOutcome explore_crash_states(std::uint64_t seed, const RunOptions& opts,
                                               const CrashExplorerOptions& xopts, std::ostream& trace);
// The family's table (the crash explorer alone).
[[nodiscard]] std::vector<Scenario> crash_scenarios();

}  // namespace pdsim::scenarios
