// SPDX-License-Identifier: GPL-2.0-or-later
// dm-cache metadata scenarios (on scenarios/harness/cache_harness.h):
//   - cache_crash: a random cache workload, version 1 or 2 by seed, under injected I/O errors and
//     power cuts (default suite);
//   - cache_grow_loses_tail_mappings: seed bug (j) as dm-cache meets it (seeds suite);
//   - cache_remap_after_commit_fails: seed bug (i) as dm-cache meets it (seeds suite).
// All are step lists, so a failing seed shrinks and replays from a file.
#pragma once

#include <vector>

#include "scenarios/runner/scenario.h"

namespace pdsim::scenarios {

[[nodiscard]] Scenario cache_crash_scenario();
[[nodiscard]] Scenario cache_swarm_scenario();
// The family's table: cache_crash, cache_swarm.
[[nodiscard]] std::vector<Scenario> cache_scenarios();
// The cache regressions of seed bugs (i) and (j), in the order (i), (j).
[[nodiscard]] std::vector<Scenario> cache_regression_scenarios();

}  // namespace pdsim::scenarios
