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
// The family's table (the crash explorer alone).
[[nodiscard]] std::vector<Scenario> crash_scenarios();

}  // namespace pdsim::scenarios
