#include "scenarios/runner/registry.h"

#include "scenarios/cache/cache_scenarios.h"
#include "scenarios/thin/crash_explorer.h"
#include "scenarios/engine/engine_rollback.h"
#include "scenarios/seeds/seeds.h"
#include "scenarios/engine/sim_selftest.h"
#include "scenarios/thin/thin_scenarios.h"

namespace pdsim::scenarios {
namespace {

std::vector<std::string> names_of(const std::vector<Scenario>& v) {
  std::vector<std::string> out;
  for (const auto& s : v) out.push_back(s.name);
  return out;
}

}  // namespace

const std::vector<Scenario>& all_scenarios() {
  static const std::vector<Scenario> scenarios = [] {
    std::vector<Scenario> v;
    v.push_back({"sim_selftest",
                 "Simulator self-test: a durability model, every power-cut policy, faults against block validators, "
                 "write-log replay and crash-state enumeration, checked seed by seed.",
                 {}, {}, &run_sim_selftest, {}, {}});
    v.push_back({"engine_rollback",
                 "Raw engine structures: EngineStore (a map tree, volume trees with snapshots, both space maps) under "
                 "random I/O errors and power cuts; exact rollback and a clean independent check after every commit "
                 "and every recovery.",
                 {"sm.queue_applied", "sm.overflow_remove"}, {}, &run_engine_rollback, {}, {}});
    v.push_back(crash_explorer_scenario());
    for (auto& s : dmtest_scenarios()) v.push_back(std::move(s));
    for (auto& s : thin_random_scenarios()) v.push_back(std::move(s));
    for (auto& s : tree_scenarios()) v.push_back(std::move(s));
    v.push_back(cache_crash_scenario());
    v.push_back(cache_swarm_scenario());
    for (auto& s : seed_scenarios()) v.push_back(std::move(s));
    for (auto& s : cache_regression_scenarios()) v.push_back(std::move(s));
    return v;
  }();
  return scenarios;
}

const std::vector<Suite>& all_suites() {
  static const std::vector<Suite> suites = [] {
    std::vector<Suite> v;
    v.push_back({"default",
                 "What the main job runs: the simulator self-test, the raw engine rollback workload, the crash "
                 "explorer, the dmtest re-creations, the thin storms under faults, big trees in every shape, data-space "
                 "churn and the cache metadata under faults.",
                 {"sim_selftest", "engine_rollback", "crash_explorer", "resize_with_io", "thin_remove_works_after_resize",
                  "commit_failure_sets_needs_check", "cant_provision_new_blocks", "out_of_data_space_resize",
                  "snapshot_storm", "thin_faults", "thin_corruption", "tree_shapes", "data_churn", "cache_crash"}});
    v.push_back({"sim", "The simulator self-test.", {"sim_selftest"}});
    v.push_back({"engine", "The raw engine rollback workload.", {"engine_rollback"}});
    v.push_back({"crash", "The crash explorer.", {"crash_explorer"}});
    v.push_back({"dmtest", "The device-mapper-test-suite tests re-created in simulation.", names_of(dmtest_scenarios())});
    v.push_back({"thin", "Every thin-pool scenario: dmtest re-creations, storms, faults, swarm, crash explorer.",
                 [] {
                   auto n = names_of(dmtest_scenarios());
                   for (auto& s : names_of(thin_random_scenarios())) n.push_back(s);
                   for (auto& s : names_of(tree_scenarios())) n.push_back(s);
                   n.push_back("crash_explorer");
                   return n;
                 }()});
    v.push_back({"cache", "The dm-cache metadata scenarios: crashes and I/O errors, and the cache regressions of seed bugs (i) and (j).",
                 [] {
                   std::vector<std::string> n{"cache_crash", "cache_swarm"};
                   for (auto& s : names_of(cache_regression_scenarios())) n.push_back(s);
                   return n;
                 }()});
    v.push_back({"swarm", "Swarm runs: each seed draws its own operation mix and faults; the tree shapes at swarm size.",
                 {"thin_swarm", "tree_swarm", "cache_swarm"}});
    v.push_back({"seeds",
                 "The ten seed-bug regressions, then the cache regressions of (i) and (j). `pdsim run seeds` prints the "
                 "bug report: each caught with its switch on (by its first regression), clean with it off, and which "
                 "other scenarios see it.",
                 [] {
                   auto n = names_of(seed_scenarios());
                   for (auto& s : names_of(cache_regression_scenarios())) n.push_back(s);
                   return n;
                 }()});
    v.push_back({"all", "Every scenario.", names_of(all_scenarios())});
    return v;
  }();
  return suites;
}

const Suite* find_suite(const std::string& name) {
  for (const auto& s : all_suites())
    if (s.name == name) return &s;
  return nullptr;
}

const Scenario* find_scenario(const std::string& name) {
  for (const auto& s : all_scenarios())
    if (s.name == name) return &s;
  return nullptr;
}

}  // namespace pdsim::scenarios
