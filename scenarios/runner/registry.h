// The registry: every scenario, and the suites that group them (`pdsim list`).
#pragma once

#include <string>
#include <vector>

#include "scenarios/runner/scenario.h"

namespace pdsim::scenarios {

struct Suite {
  std::string name;
  std::string description;
  std::vector<std::string> scenarios;  // names, in run order
};

[[nodiscard]] const std::vector<Scenario>& all_scenarios();
[[nodiscard]] const std::vector<Suite>& all_suites();
[[nodiscard]] const Suite* find_suite(const std::string& name);
[[nodiscard]] const Scenario* find_scenario(const std::string& name);

}  // namespace pdsim::scenarios
