// SPDX-License-Identifier: GPL-2.0-or-later
// Long runs behind `./run-tests --soak` (ctest label `soak`): the default suite's scenarios over
// many more seeds than the default test run uses.
#include <gtest/gtest.h>

#include <sstream>

#include "scenarios/engine/engine_rollback.h"
#include "scenarios/engine/sim_selftest.h"

namespace pdsim::scenarios {
namespace {

class SoakEngineRollback : public ::testing::TestWithParam<std::uint64_t> {};

// 25 seeds per test case, 2,000 seeds in all (seeds 41.. follow the default run's 1..40).
TEST_P(SoakEngineRollback, TwentyFiveSeeds) {
  for (std::uint64_t seed = GetParam(); seed < GetParam() + 25; ++seed) {
    std::ostringstream trace;
    SeedOutcome out = run_engine_rollback(seed, {}, trace);
    for (const auto& f : out.failures) ADD_FAILURE() << f << "\n  reproduce: ./pdsim run engine --seed " << seed;
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, SoakEngineRollback, ::testing::Range<std::uint64_t>(41, 2041, 25));

class SoakSimSelftest : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(SoakSimSelftest, FiftySeeds) {
  for (std::uint64_t seed = GetParam(); seed < GetParam() + 50; ++seed) {
    std::ostringstream trace;
    SeedOutcome out = run_sim_selftest(seed, {}, trace);
    for (const auto& f : out.failures) ADD_FAILURE() << f << "\n  reproduce: ./pdsim run sim --seed " << seed;
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, SoakSimSelftest, ::testing::Range<std::uint64_t>(17, 2017, 50));

}  // namespace
}  // namespace pdsim::scenarios
