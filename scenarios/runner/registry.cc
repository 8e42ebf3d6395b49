// SPDX-License-Identifier: GPL-2.0-or-later
#include "scenarios/runner/registry.h"

#include <map>
#include <set>

#include <fmt/format.h>

#include "scenarios/cache/cache_scenarios.h"
#include "scenarios/differential/differential.h"
#include "scenarios/engine/engine_scenarios.h"
#include "scenarios/seeds/seeds.h"
#include "scenarios/thin/crash_explorer.h"
#include "scenarios/thin/thin_scenarios.h"

namespace pdsim::scenarios {
namespace {

// Every family, in the order `pdsim list` and the "all" suite show them.
const std::vector<Family>& families() {
  static const std::vector<Family> f{
      {"engine", &engine_scenarios},
      {"crash", &crash_scenarios},
      {"dmtest", &dmtest_scenarios},
      {"storms", &thin_random_scenarios},
      {"trees", &tree_scenarios},
      {"cache", &cache_scenarios},
      {"differential", &differential_scenarios},
      {"seeds", &seed_scenarios},
      {"cache_regressions", &cache_regression_scenarios},
  };
  return f;
}

const std::vector<SuiteDef>& suite_defs() {
  static const std::vector<SuiteDef> s{
      {"default",
       "What the main job runs: the simulator self-test, the raw engine rollback workload, the crash explorer, the "
       "dmtest re-creations, the thin storms under faults, big trees in every shape, data-space churn and the cache "
       "metadata under faults, and the differential runs of pdsim's engine against the kernel's.",
       {"sim_selftest", "engine_rollback", "crash_explorer", "resize_with_io", "thin_remove_works_after_resize",
        "commit_failure_sets_needs_check", "cant_provision_new_blocks", "out_of_data_space_resize", "snapshot_storm",
        "thin_faults", "thin_corruption", "tree_shapes", "data_churn", "cache_crash", "differential_thin",
        "differential_cache"}},
      {"kernel_thin",
       "The thin scenarios of 'default' and the dmtest re-creations, for the kernel engine ('pdsim run kernel_thin "
       "--engine kernel'). A run in which the kernel drops an error a fault caused ends there as a known divergence "
       "(see the README's kernel engine section); --strict fails it.",
       {"@dmtest", "snapshot_storm", "thin_faults", "thin_corruption", "tree_shapes", "data_churn"}},
      {"sim", "The simulator self-test.", {"sim_selftest"}},
      {"engine", "The raw engine rollback workload.", {"engine_rollback"}},
      {"crash", "The crash explorer.", {"crash_explorer"}},
      {"dmtest", "The device-mapper-test-suite tests re-created in simulation.", {"@dmtest"}},
      {"thin", "Every thin-pool scenario: dmtest re-creations, storms, faults, swarm, crash explorer.",
       {"@dmtest", "@storms", "@trees", "crash_explorer"}},
      {"cache", "The dm-cache metadata scenarios: crashes and I/O errors, and the cache regressions of seed bugs (i) and (j).",
       {"@cache", "@cache_regressions"}},
      {"swarm",
       "Swarm runs: each seed draws its own operation mix and faults; the tree shapes at swarm size; the differential "
       "runs.",
       {"thin_swarm", "tree_swarm", "cache_swarm", "differential_thin", "differential_cache"}},
      {"differential", "pdsim's engine against the kernel's own code, step by step.", {"@differential"}},
      {"seeds",
       "The ten seed-bug regressions, then the cache regressions of (i) and (j). `pdsim run seeds` prints the bug "
       "report: each caught with its switch on (by its first regression), clean with it off, and which other "
       "scenarios see it.",
       {"@seeds", "@cache_regressions"}},
      {"all", "Every scenario.", {"@*"}},
  };
  return s;
}

struct Built {
  std::vector<Scenario> scenarios;
  std::map<std::string, std::vector<std::string>> groups;  // group -> scenario names
};

Built build(const std::vector<Family>& fams) {
  Built b;
  for (const auto& f : fams) {
    auto& names = b.groups[f.group];
    for (auto& s : f.scenarios()) {
      names.push_back(s.name);
      b.groups["*"].push_back(s.name);
      b.scenarios.push_back(std::move(s));
    }
  }
  return b;
}

// The suite's scenarios in the order its members name them; a scenario named again (directly and
// through a group, or by two groups) keeps its first place and runs once.
std::vector<std::string> resolve(const Built& b, const SuiteDef& def) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  auto add = [&](const std::string& name) {
    if (seen.insert(name).second) out.push_back(name);
  };
  for (const auto& m : def.members) {
    if (m.starts_with("@")) {
      auto it = b.groups.find(m.substr(1));
      if (it != b.groups.end())
        for (const auto& n : it->second) add(n);
    } else {
      add(m);
    }
  }
  return out;
}

const Built& built() {
  static const Built b = build(families());
  return b;
}

Status check_built(const Built& b, const std::vector<SuiteDef>& suites) {
  std::set<std::string> scenario_names;
  for (const auto& s : b.scenarios) {
    if (s.name.empty()) return Error::invalid("registry: a scenario has no name");
    if (!scenario_names.insert(s.name).second)
      return Error::invalid(fmt::format("registry: scenario '{}' is registered twice", s.name));
    if (s.description.empty()) return Error::invalid(fmt::format("registry: scenario '{}' has no description", s.name));
    if (!s.run) return Error::invalid(fmt::format("registry: scenario '{}' has no run function", s.name));
    if (static_cast<bool>(s.generate) != static_cast<bool>(s.replay))
      return Error::invalid(fmt::format("registry: scenario '{}' has generate without replay or the reverse", s.name));
    if (s.replay && s.grammar.empty())
      return Error::invalid(fmt::format("registry: scenario '{}' replays steps but has no step grammar", s.name));
  }
  std::set<std::string> suite_names;
  for (const auto& def : suites) {
    if (!suite_names.insert(def.name).second)
      return Error::invalid(fmt::format("registry: suite '{}' is defined twice", def.name));
    if (scenario_names.count(def.name) != 0)
      return Error::invalid(fmt::format("registry: suite '{}' has the name of a scenario", def.name));
    if (def.members.empty()) return Error::invalid(fmt::format("registry: suite '{}' has no members", def.name));
    for (const auto& m : def.members) {
      const bool known = m.starts_with("@") ? b.groups.count(m.substr(1)) != 0 : scenario_names.count(m) != 0;
      if (!known)
        return Error::invalid(fmt::format("registry: suite '{}' names unknown {} '{}'", def.name,
                                          m.starts_with("@") ? "family group" : "scenario", m));
    }
  }
  return {};
}

}  // namespace

Status check_registry(const std::vector<Family>& fams, const std::vector<SuiteDef>& suites) {
  return check_built(build(fams), suites);
}

// The tables the CLI runs from, checked as built once (all_scenarios() serves the same copy).
Status check_registry() { return check_built(built(), suite_defs()); }

const std::vector<Scenario>& all_scenarios() { return built().scenarios; }

const std::vector<Suite>& all_suites() {
  static const std::vector<Suite> suites = [] {
    std::vector<Suite> v;
    for (const auto& def : suite_defs()) v.push_back({def.name, def.description, resolve(built(), def)});
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
