// SPDX-License-Identifier: GPL-2.0-or-later
// The engine rollback scenario (scenarios/engine/engine_rollback.h) over 40 seeds: every error rolls
// back exactly, every power cut recovers the last commit, and the checker is clean throughout.
#include <gtest/gtest.h>

#include <sstream>

#include "scenarios/engine/engine_rollback.h"

namespace pdsim::scenarios {
namespace {

class EngineFaults : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(EngineFaults, RollBackExactlyToTheLastCommit) {
  std::ostringstream trace;
  SeedOutcome out = run_engine_rollback(GetParam(), {}, trace);
  for (const auto& f : out.failures) ADD_FAILURE() << f;
  EXPECT_TRUE(out.passed);
  EXPECT_NE(out.summary.find("clean checks"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Seeds, EngineFaults, ::testing::Range<std::uint64_t>(1, 41));

TEST(EngineFaultsDeterminism, SameSeedSameRun) {
  std::ostringstream a, b;
  auto x = run_engine_rollback(7, {.trace = true}, a);
  auto y = run_engine_rollback(7, {.trace = true}, b);
  EXPECT_EQ(x.summary, y.summary);
  EXPECT_EQ(a.str(), b.str());
}

}  // namespace
}  // namespace pdsim::scenarios
