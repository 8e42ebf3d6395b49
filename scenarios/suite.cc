#include "scenarios/suite.h"

#include "scenarios/engine_rollback.h"
#include "scenarios/sim_selftest.h"

namespace pdsim::scenarios {

const std::vector<Suite>& all_suites() {
  static const std::vector<Suite> suites = {
      {"default",
       "The simulator self-test, then the engine rollback workload: random btree and space-map work "
       "with I/O errors and power cuts, checked against the last commit and by the independent checker.",
       [](std::uint64_t seed, const RunOptions& opts, std::ostream& trace) {
         SeedOutcome a = run_sim_selftest(seed, opts, trace);
         SeedOutcome b = run_engine_rollback(seed, opts, trace);
         a.passed = a.passed && b.passed;
         a.summary += b.summary;
         a.failures.insert(a.failures.end(), b.failures.begin(), b.failures.end());
         return a;
       }},
      {"sim",
       "Simulator self-test: a durability model, every power-cut policy, faults against block "
       "validators, write-log replay and crash-state enumeration, checked seed by seed.",
       &run_sim_selftest},
      {"engine",
       "Engine rollback: EngineStore (map, volume trees with snapshots, both space maps) under random "
       "I/O errors and power cuts; exact rollback and a clean independent check after every commit.",
       &run_engine_rollback},
  };
  return suites;
}

const Suite* find_suite(const std::string& name) {
  for (const auto& s : all_suites())
    if (s.name == name) return &s;
  return nullptr;
}

}  // namespace pdsim::scenarios
