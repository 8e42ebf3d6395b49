// SPDX-License-Identifier: GPL-2.0-or-later
// The ctest guard of the main job: every scenario of the `default` suite passes seeds 1..3 (with
// the real thin_check on a sample of images, as `pdsim run default` runs), and every dmtest
// re-creation passes seeds 1..2 — resize_after_exhaust, about 8 s a seed, is in the soak label
// (scenario_soak_test.cc). Each scenario must also reach the coverage marks it requires.
#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "core/common/marks.h"
#include "core/common/seed_bugs.h"
#include "scenarios/runner/registry.h"

namespace pdsim::scenarios {
namespace {

void expect_passes(const std::string& name, std::uint64_t first, std::uint64_t last, ThinCheck thin_check) {
  const Scenario* s = find_scenario(name);
  ASSERT_NE(s, nullptr) << name;
  ScopedBugs off({});
  std::ostringstream trace;
  std::map<std::string, std::uint64_t> hit;
  for (std::uint64_t seed = first; seed <= last; ++seed) {
    const auto before = marks::snapshot();
    const SeedOutcome o = s->run(seed, RunOptions{.thin_check = thin_check}, trace);
    for (const auto& [m, c] : marks::diff(before, marks::snapshot())) hit[m] += c;
    EXPECT_TRUE(o.passed) << name << " seed " << seed << ": " << o.summary << "\n  "
                          << (o.failures.empty() ? std::string("(no failure line)") : o.failures.front());
  }
  for (const auto& m : s->required_marks) EXPECT_GT(hit[m], 0u) << name << " never reached required mark " << m;
}

class DefaultSuite : public ::testing::TestWithParam<std::string> {};

TEST_P(DefaultSuite, PassesSeedsOneToThree) { expect_passes(GetParam(), 1, 3, ThinCheck::sample); }

INSTANTIATE_TEST_SUITE_P(Scenarios, DefaultSuite, ::testing::ValuesIn(find_suite("default")->scenarios),
                         [](const auto& param_info) { return param_info.param; });

std::vector<std::string> dmtest_fast() {
  std::vector<std::string> v;
  for (const auto& n : find_suite("dmtest")->scenarios)
    if (n != "resize_after_exhaust") v.push_back(n);
  return v;
}

// thin_check never: resize_no_io's 420,864-block images take thin_check seconds each; the
// default suite above runs the sample.
class DmtestSuite : public ::testing::TestWithParam<std::string> {};

TEST_P(DmtestSuite, PassesSeedsOneAndTwo) { expect_passes(GetParam(), 1, 2, ThinCheck::never); }

INSTANTIATE_TEST_SUITE_P(Scenarios, DmtestSuite, ::testing::ValuesIn(dmtest_fast()),
                         [](const auto& param_info) { return param_info.param; });

TEST(Suites, DefaultAndDmtestNameOnlyRegisteredScenarios) {
  for (const char* suite : {"default", "dmtest"}) {
    const Suite* s = find_suite(suite);
    ASSERT_NE(s, nullptr) << suite;
    EXPECT_FALSE(s->scenarios.empty());
    for (const auto& n : s->scenarios) EXPECT_NE(find_scenario(n), nullptr) << suite << " names unknown " << n;
  }
  const auto dm = find_suite("dmtest")->scenarios;
  EXPECT_NE(std::find(dm.begin(), dm.end(), "resize_after_exhaust"), dm.end());
  EXPECT_EQ(dmtest_fast().size() + 1, dm.size());
}

// A suite may name a scenario twice (directly and through a family group, or through two groups);
// it still runs once per seed.
TEST(Suites, RunEachScenarioOnce) {
  for (const auto& suite : all_suites()) {
    std::set<std::string> seen;
    for (const auto& n : suite.scenarios) EXPECT_TRUE(seen.insert(n).second) << suite.name << " runs " << n << " twice";
  }
}

// The tables are checked at start-up; each rule can fail.
std::vector<Scenario> two_scenarios() {
  auto run = [](std::uint64_t, const RunOptions&, std::ostream&) { return SeedOutcome{}; };
  return {{"a", "first", {}, {}, run, {}, {}}, {"b", "second", {}, {}, run, {}, {}}};
}
std::vector<Scenario> duplicate_a() { return {two_scenarios().front()}; }

TEST(Registry, TheRealTablesAreConsistent) {
  Status s = check_registry();
  EXPECT_TRUE(s) << s.error().message();
}

TEST(Registry, AnUnknownSuiteMemberIsAnErrorNotSkipped) {
  const std::vector<Family> f{{"g", &two_scenarios}};
  EXPECT_TRUE(check_registry(f, {{"s", "d", {"a", "@g", "@*"}}}));
  Status s = check_registry(f, {{"s", "d", {"a", "c"}}});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(), "registry: suite 's' names unknown scenario 'c'");
  s = check_registry(f, {{"s", "d", {"@nope"}}});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(), "registry: suite 's' names unknown family group '@nope'");
}

TEST(Registry, NamesAreUnique) {
  Status s = check_registry({{"g", &two_scenarios}, {"h", &duplicate_a}}, {});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(), "registry: scenario 'a' is registered twice");
  s = check_registry({{"g", &two_scenarios}}, {{"s", "d", {"a"}}, {"s", "d", {"b"}}});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(), "registry: suite 's' is defined twice");
  s = check_registry({{"g", &two_scenarios}}, {{"a", "d", {"b"}}});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(), "registry: suite 'a' has the name of a scenario");
}

TEST(Registry, SuitesResolveGroupsInFamilyOrder) {
  const Suite* all = find_suite("all");
  ASSERT_NE(all, nullptr);
  ASSERT_EQ(all->scenarios.size(), all_scenarios().size());
  for (std::size_t i = 0; i < all->scenarios.size(); ++i) EXPECT_EQ(all->scenarios[i], all_scenarios()[i].name);
}

}  // namespace
}  // namespace pdsim::scenarios
