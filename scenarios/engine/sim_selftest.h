// SPDX-License-Identifier: GPL-2.0-or-later
// The simulator self-test: checks SimDisk, FaultPlan, WriteLog, CrashStates and the block
// manager's validators against independent models, one seed at a time.
#pragma once

#include "scenarios/runner/scenario.h"

namespace pdsim::scenarios {

[[nodiscard]] SeedOutcome run_sim_selftest(std::uint64_t seed, const RunOptions& opts, std::ostream& trace);

}  // namespace pdsim::scenarios
