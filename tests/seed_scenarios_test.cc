// SPDX-License-Identifier: GPL-2.0-or-later
// The seed-bug regression scenarios (scenarios/seeds/): each fails with its switch on within
// seeds 1..8, naming the symptom, and passes with every switch off — "10 of 10 caught, 0 false
// alarms" as part of the default test run.
#include <gtest/gtest.h>

#include <sstream>

#include "scenarios/seeds/seeds.h"

namespace pdsim::scenarios {
namespace {

constexpr std::uint64_t kSeedBudget = 8;

class SeedScenario : public ::testing::TestWithParam<std::size_t> {
 protected:
  Scenario scenario() const { return seed_scenarios().at(GetParam()); }
};

TEST_P(SeedScenario, FailsWithItsSwitchOn) {
  const Scenario s = scenario();
  ASSERT_EQ(s.catches.size(), 1u);
  ScopedBugs on(s.catches);
  std::ostringstream trace;
  bool caught = false;
  for (std::uint64_t seed = 1; seed <= kSeedBudget && !caught; ++seed) {
    SeedOutcome out = s.run(seed, RunOptions{}, trace);
    if (!out.passed) {
      caught = true;
      ASSERT_FALSE(out.failures.empty());
      std::cout << "  " << s.name << " caught at seed " << seed << " after " << out.operations
                << " operations: " << out.failures.front() << "\n";
    }
  }
  EXPECT_TRUE(caught) << s.name << " did not catch " << bug_info(s.catches.front()).name << " within " << kSeedBudget
                      << " seeds";
}

TEST_P(SeedScenario, PassesWithEverySwitchOff) {
  const Scenario s = scenario();
  ScopedBugs off({});
  std::ostringstream trace;
  for (std::uint64_t seed = 1; seed <= kSeedBudget; ++seed) {
    SeedOutcome out = s.run(seed, RunOptions{}, trace);
    EXPECT_TRUE(out.passed) << s.name << " seed " << seed << ": "
                            << (out.failures.empty() ? std::string("?") : out.failures.front());
  }
}

TEST_P(SeedScenario, ShrinkableScenariosReplayTheirOwnSteps) {
  const Scenario s = scenario();
  if (!s.generate) {
    EXPECT_FALSE(s.replay) << "replay without generate";  // not a step list: nothing to shrink
    return;
  }
  ASSERT_TRUE(s.replay);
  ScopedBugs on(s.catches);
  std::ostringstream trace;
  for (std::uint64_t seed = 1; seed <= 2; ++seed) {
    const SeedOutcome run = s.run(seed, RunOptions{}, trace);
    const SeedOutcome replay = s.replay(seed, s.generate(seed), RunOptions{}, trace);
    EXPECT_EQ(run.passed, replay.passed);
    EXPECT_EQ(run.failures, replay.failures);
  }
}

std::string name_of(const ::testing::TestParamInfo<std::size_t>& info) {
  return std::string(1, static_cast<char>('a' + info.param));
}

INSTANTIATE_TEST_SUITE_P(Seeds, SeedScenario, ::testing::Range<std::size_t>(0, 10), name_of);

TEST(SeedScenarios, OnePerBugInOrder) {
  const auto all = seed_scenarios();
  ASSERT_EQ(all.size(), kBugCount);
  for (std::size_t i = 0; i < all.size(); ++i) {
    ASSERT_EQ(all[i].catches.size(), 1u);
    EXPECT_EQ(static_cast<std::size_t>(all[i].catches.front()), i) << all[i].name;
    EXPECT_FALSE(all[i].description.empty());
    EXPECT_TRUE(all[i].run);
  }
}

}  // namespace
}  // namespace pdsim::scenarios
