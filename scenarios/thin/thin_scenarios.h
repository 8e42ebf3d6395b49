// SPDX-License-Identifier: GPL-2.0-or-later
// The thin-pool scenarios: dmtest re-creations, random storms, the swarm and the crash explorer.
#pragma once

#include <vector>

#include "scenarios/runner/scenario.h"

namespace pdsim::scenarios {

[[nodiscard]] std::vector<Scenario> dmtest_scenarios();
[[nodiscard]] std::vector<Scenario> thin_random_scenarios();
[[nodiscard]] std::vector<Scenario> tree_scenarios();

}  // namespace pdsim::scenarios
