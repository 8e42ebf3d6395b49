// SPDX-License-Identifier: GPL-2.0-or-later
// The registry: every scenario, and the suites that group them (`pdsim list`).
//
// Scenarios come from family tables: each family (engine/, thin/, cache/, seeds/) exports a
// function returning its scenarios, and kFamilies below lists those functions under a group
// name. Suites are data: a name, a description and members, each a scenario name or "@group"
// (every scenario of a family group; "@*" is every scenario). check_registry() proves the tables
// consistent at start-up (the CLI refuses to run otherwise): an unknown member is an error, never
// skipped.
//
// Adding a scenario: add it to its family's table; if a suite should run it and does not already
// take the whole group, add its name to that suite's line.
#pragma once

#include <string>
#include <vector>

#include "core/common/result.h"
#include "scenarios/runner/scenario.h"

namespace pdsim::scenarios {

struct Family {
  std::string group;  // "@group" in a suite's members
  std::vector<Scenario> (*scenarios)();
};

struct SuiteDef {
  std::string name;
  std::string description;
  std::vector<std::string> members;  // scenario names, "@group" or "@*", in run order
};

// A suite with its members resolved to scenario names, in run order.
struct Suite {
  std::string name;
  std::string description;
  std::vector<std::string> scenarios;
};

// The tables' consistency: scenario names unique and non-empty, each with a description and a run
// function; suite names unique and distinct from scenario names; every member known. One line
// naming the first problem.
[[nodiscard]] Status check_registry(const std::vector<Family>& families, const std::vector<SuiteDef>& suites);
[[nodiscard]] Status check_registry();

[[nodiscard]] const std::vector<Scenario>& all_scenarios();
[[nodiscard]] const std::vector<Suite>& all_suites();
[[nodiscard]] const Suite* find_suite(const std::string& name);
[[nodiscard]] const Scenario* find_scenario(const std::string& name);

}  // namespace pdsim::scenarios
