// SPDX-License-Identifier: GPL-2.0-or-later
// The engine family: the simulator's self-test and the raw engine rollback workload.
#pragma once

#include <vector>

#include "scenarios/runner/scenario.h"

namespace pdsim::scenarios {

[[nodiscard]] std::vector<Scenario> engine_scenarios();

}  // namespace pdsim::scenarios
