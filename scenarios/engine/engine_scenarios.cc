// SPDX-License-Identifier: GPL-2.0-or-later
#include "scenarios/engine/engine_scenarios.h"

#include "scenarios/engine/engine_rollback.h"
#include "scenarios/engine/sim_selftest.h"

namespace pdsim::scenarios {

std::vector<Scenario> engine_scenarios() {
  return {
      {"sim_selftest",
       "Simulator self-test: a durability model, every power-cut policy, faults against block validators, "
       "write-log replay and crash-state enumeration, checked seed by seed.",
       {}, {}, &run_sim_selftest, {}, {}},
      {"engine_rollback",
       "Raw engine structures: EngineStore (a map tree, volume trees with snapshots, both space maps) under "
       "random I/O errors and power cuts; exact rollback and a clean independent check after every commit "
       "and every recovery.",
       {"sm.queue_applied", "sm.overflow_remove"}, {}, &run_engine_rollback, {}, {}},
  };
}

}  // namespace pdsim::scenarios
