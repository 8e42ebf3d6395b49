// SPDX-License-Identifier: GPL-2.0-or-later
// The seed-bug regression scenarios: one per historical bug of ../shared/spec/seed-bugs.md, in
// the order (a)..(j). Each drives its bug's trigger workload on a SimDisk with seeded variation
// and checks the result with the independent checker and simple models. With its switch on
// (core/common/seed_bugs.h) a scenario fails within seeds 1..8 and its first failure line names
// the symptom; with every switch off it passes.
#pragma once

#include <vector>

#include "scenarios/runner/scenario.h"

namespace pdsim::scenarios {

[[nodiscard]] std::vector<Scenario> seed_scenarios();

}  // namespace pdsim::scenarios
