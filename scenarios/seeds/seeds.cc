// SPDX-License-Identifier: GPL-2.0-or-later
#include "scenarios/seeds/seeds.h"

namespace pdsim::scenarios {
namespace seeds {
Scenario seed_a_scenario();
Scenario seed_b_scenario();
Scenario seed_c_scenario();
Scenario seed_d_scenario();
Scenario seed_e_scenario();
Scenario seed_f_scenario();
Scenario seed_g_scenario();
Scenario seed_h_scenario();
Scenario seed_i_scenario();
Scenario seed_j_scenario();
}  // namespace seeds

std::vector<Scenario> seed_scenarios() {
  return {seeds::seed_a_scenario(), seeds::seed_b_scenario(), seeds::seed_c_scenario(), seeds::seed_d_scenario(),
          seeds::seed_e_scenario(), seeds::seed_f_scenario(), seeds::seed_g_scenario(), seeds::seed_h_scenario(),
          seeds::seed_i_scenario(), seeds::seed_j_scenario()};
}

}  // namespace pdsim::scenarios
