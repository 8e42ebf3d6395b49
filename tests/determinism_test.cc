// SPDX-License-Identifier: GPL-2.0-or-later
// Two runs of one seed must agree byte for byte: the disk's log and image, and the text pdsim
// prints for a suite run.
#include <sstream>

#include <gtest/gtest.h>

#include "scenarios/engine/sim_selftest.h"
#include "sim/sim_disk.h"

namespace pdsim {
namespace {

struct RunResult {
  std::uint64_t log_digest;
  std::uint64_t image_digest;
  std::string trace;
};

RunResult workload(std::uint64_t seed) {
  auto plan = sim::FaultPlan::parse("write p=1/7 -> flip=1; write p=1/9 -> misdirect=2; read p=1/8 -> rot=2; "
                                    "flush p=1/5 -> lie; any p=1/20 -> error; write p=1/15 -> drop");
  EXPECT_TRUE(plan.ok());
  sim::SimDisk d(64, seed, *plan);
  sim::Rng rng(seed ^ 0xABCDEF);
  for (int i = 0; i < 500; ++i) {
    Block data;
    rng.fill(std::span<std::uint8_t>(data));
    BlockNr b = rng.below(64);
    switch (rng.below(5)) {
      case 0: (void)d.read(b, BlockSpan(data)).ok(); break;
      case 1: (void)d.flush().ok(); break;
      case 2: d.power_cut(sim::kAllPowerCutPolicies[rng.below(6)]); break;
      default: (void)d.write(b, ConstBlockSpan(data)).ok(); break;
    }
  }
  std::string trace;
  for (const auto& e : d.log().entries()) trace += e.describe() + "\n";
  return {d.log().digest(), d.durable().digest(), trace};
}

TEST(Determinism, SameSeedAndPlanGiveTheSameLogAndImage) {
  RunResult a = workload(1234), b = workload(1234), c = workload(1235);
  EXPECT_EQ(a.log_digest, b.log_digest);
  EXPECT_EQ(a.image_digest, b.image_digest);
  EXPECT_EQ(a.trace, b.trace);
  EXPECT_NE(a.log_digest, c.log_digest);
  EXPECT_NE(a.trace, c.trace);
}

TEST(Determinism, SelfTestPrintsTheSameTraceTwice) {
  scenarios::RunOptions opts{.trace = true};
  std::ostringstream t1, t2;
  auto r1 = scenarios::run_sim_selftest(5, opts, t1);
  auto r2 = scenarios::run_sim_selftest(5, opts, t2);
  EXPECT_EQ(r1.summary, r2.summary);
  EXPECT_EQ(t1.str(), t2.str());
  EXPECT_GT(t1.str().size(), 1000u);
}

class SelfTestSeeds : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(SelfTestSeeds, Pass) {
  std::ostringstream trace;
  auto r = scenarios::run_sim_selftest(GetParam(), {}, trace);
  for (const auto& f : r.failures) ADD_FAILURE() << f;
  EXPECT_TRUE(r.passed);
}

INSTANTIATE_TEST_SUITE_P(First16, SelfTestSeeds, ::testing::Range<std::uint64_t>(1, 17));

}  // namespace
}  // namespace pdsim
