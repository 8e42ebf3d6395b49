#include "scenarios/suite.h"

#include "scenarios/sim_selftest.h"

namespace pdsim::scenarios {

const std::vector<Suite>& all_suites() {
  static const std::vector<Suite> suites = {
      {"default",
       "Simulator self-test: a durability model, every power-cut policy, faults against block "
       "validators, write-log replay and crash-state enumeration, checked seed by seed.",
       &run_sim_selftest},
  };
  return suites;
}

const Suite* find_suite(const std::string& name) {
  for (const auto& s : all_suites())
    if (s.name == name) return &s;
  return nullptr;
}

}  // namespace pdsim::scenarios
