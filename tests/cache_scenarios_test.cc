// SPDX-License-Identifier: GPL-2.0-or-later
// The dm-cache scenarios (scenarios/cache/cache_scenarios.h): the crash and I/O-error workload passes
// seeds 1..4 (versions 1 and 2) with every switch off and really injects faults; the cache
// regressions of seed bugs (i) and (j) fail with their switch on, naming the symptom, and pass
// with it off; failing runs replay from their own steps.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <sstream>

#include "scenarios/cache/cache_scenarios.h"
#include "scenarios/runner/registry.h"

namespace pdsim::scenarios {
namespace {

constexpr std::uint64_t kSeedBudget = 8;

TEST(CacheCrash, PassesSeeds1To4WithEverySwitchOff) {
  const Scenario s = cache_crash_scenario();
  ScopedBugs off({});
  std::ostringstream trace;
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    const SeedOutcome out = s.run(seed, RunOptions{}, trace);
    EXPECT_TRUE(out.passed) << "seed " << seed << ": " << (out.failures.empty() ? std::string("?") : out.failures.front());
    EXPECT_GT(out.operations, 100u) << out.summary;
    std::cout << "  cache_crash seed " << seed << ": " << out.summary << "\n";
  }
}

TEST(CacheCrash, IsInTheDefaultSuite) {
  const Suite* d = find_suite("default");
  ASSERT_NE(d, nullptr);
  EXPECT_NE(std::find(d->scenarios.begin(), d->scenarios.end(), "cache_crash"), d->scenarios.end());
  EXPECT_NE(find_scenario("cache_crash"), nullptr);
}

TEST(CacheCrash, ReplaysItsOwnSteps) {
  const Scenario s = cache_crash_scenario();
  ASSERT_TRUE(s.generate && s.replay);
  std::ostringstream trace;
  const SeedOutcome run = s.run(2, RunOptions{}, trace);
  const SeedOutcome replay = s.replay(2, s.generate(2), RunOptions{}, trace);
  EXPECT_EQ(run.summary, replay.summary);
}

class CacheRegression : public ::testing::TestWithParam<std::size_t> {
 protected:
  Scenario scenario() const { return cache_regression_scenarios().at(GetParam()); }
};

TEST_P(CacheRegression, FailsWithItsSwitchOn) {
  const Scenario s = scenario();
  ASSERT_EQ(s.catches.size(), 1u);
  ScopedBugs on(s.catches);
  std::ostringstream trace;
  bool caught = false;
  for (std::uint64_t seed = 1; seed <= kSeedBudget && !caught; ++seed) {
    const SeedOutcome out = s.run(seed, RunOptions{}, trace);
    if (out.passed) continue;
    caught = true;
    ASSERT_FALSE(out.failures.empty());
    std::cout << "  " << s.name << " caught at seed " << seed << ": " << out.failures.front() << "\n";
    // A failing run replays from its steps, and still fails the same way.
    const SeedOutcome replay = s.replay(seed, s.generate(seed), RunOptions{}, trace);
    EXPECT_EQ(replay.failures, out.failures);
  }
  EXPECT_TRUE(caught) << s.name << " did not catch " << bug_info(s.catches.front()).name;
}

TEST_P(CacheRegression, PassesWithEverySwitchOff) {
  const Scenario s = scenario();
  ScopedBugs off({});
  std::ostringstream trace;
  for (std::uint64_t seed = 1; seed <= kSeedBudget; ++seed) {
    const SeedOutcome out = s.run(seed, RunOptions{}, trace);
    EXPECT_TRUE(out.passed) << s.name << " seed " << seed << ": "
                            << (out.failures.empty() ? std::string("?") : out.failures.front());
  }
}

TEST_P(CacheRegression, IsInTheSeedsSuite) {
  const Suite* seeds = find_suite("seeds");
  ASSERT_NE(seeds, nullptr);
  EXPECT_NE(std::find(seeds->scenarios.begin(), seeds->scenarios.end(), scenario().name), seeds->scenarios.end());
}

std::string name_of(const ::testing::TestParamInfo<std::size_t>& info) { return info.param == 0 ? "i" : "j"; }

INSTANTIATE_TEST_SUITE_P(Cache, CacheRegression, ::testing::Range<std::size_t>(0, 2), name_of);

TEST(CacheCrash, SeesSeedBugsIAndJ) {
  // What `pdsim run seeds` reports as "also seen by": the crash workload alone, seed 1.
  const Scenario s = cache_crash_scenario();
  std::ostringstream trace;
  for (Bug b : {Bug::i, Bug::j}) {
    ScopedBugs on({b});
    const SeedOutcome out = s.run(1, RunOptions{}, trace);
    EXPECT_FALSE(out.passed) << bug_info(b).name;
    if (!out.failures.empty()) std::cout << "  cache_crash seed 1 with " << bug_info(b).name << ": " << out.failures.front() << "\n";
  }
}

}  // namespace
}  // namespace pdsim::scenarios
