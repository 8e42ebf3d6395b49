// SPDX-License-Identifier: GPL-2.0-or-later
#include "sim/write_log.h"

#include <memory>

#include <gtest/gtest.h>

#include "sim/sim_disk.h"
#include "testing/test_util.h"

namespace pdsim::sim {
namespace {

using pdsim::testing::pattern_block;

TEST(WriteLog, RecordsEveryOperationInOrder) {
  SimDisk d(8, 1, *FaultPlan::parse("write nth=2 -> misdirect=1; flush nth=1 -> lie"));
  Block b{};
  ASSERT_TRUE(d.write(0, ConstBlockSpan(pattern_block(1))).ok());
  ASSERT_TRUE(d.write(2, ConstBlockSpan(pattern_block(2))).ok());
  ASSERT_TRUE(d.read(0, BlockSpan(b)).ok());
  ASSERT_TRUE(d.flush().ok());
  ASSERT_TRUE(d.flush().ok());
  d.power_cut(PowerCutPolicy::none);
  const auto& e = d.log().entries();
  ASSERT_EQ(e.size(), 6u);
  EXPECT_EQ(e[0].op, LogOp::write);
  EXPECT_EQ(e[1].target, 3u);
  EXPECT_EQ(e[1].fault, FaultAction::misdirect);
  EXPECT_EQ(e[2].op, LogOp::read);
  EXPECT_FALSE(e[3].made_durable);
  EXPECT_EQ(e[3].fault, FaultAction::lie);
  EXPECT_TRUE(e[4].made_durable);
  EXPECT_EQ(e[5].op, LogOp::power_cut);
  EXPECT_NE(e[1].describe().find("->3"), std::string::npos);
}

// The log must rebuild the disk's durable image and pending set at every point of a run that
// uses every kind of operation and fault.
TEST(WriteLog, ReplayRebuildsEveryIntermediateState) {
  auto plan = FaultPlan::parse("write p=1/9 -> drop; write p=1/9 -> flip=2; write p=1/11 -> misdirect=5; "
                               "flush p=1/4 -> lie; any p=1/13 -> error");
  ASSERT_TRUE(plan.ok());
  SimDisk d(32, 77, *plan);
  Rng rng(3);
  std::vector<Image> durable_after;
  std::vector<std::size_t> pending_after;
  for (int i = 0; i < 400; ++i) {
    auto dice = rng.below(20);
    Block data;
    rng.fill(std::span<std::uint8_t>(data));
    BlockNr b = rng.below(32);
    if (dice < 12) (void)d.write(b, ConstBlockSpan(data), rng.chance(1, 10) ? WriteMode::fua : WriteMode::normal).ok();
    else if (dice < 15) (void)d.read(b, BlockSpan(data)).ok();
    else if (dice < 19) (void)d.flush().ok();
    else d.power_cut(kAllPowerCutPolicies[rng.below(kAllPowerCutPolicies.size())]);
    durable_after.push_back(d.durable());
    pending_after.push_back(d.pending().size());
  }
  ASSERT_EQ(d.log().size(), durable_after.size());
  WriteLog::State st{d.log().initial(), {}};
  for (std::size_t i = 0; i < d.log().size(); ++i) {
    d.log().apply(i, st);
    ASSERT_TRUE(st.durable.same_content(durable_after[i])) << "after entry " << i << ": " << d.log().entries()[i].describe();
    ASSERT_EQ(st.pending.size(), pending_after[i]) << "after entry " << i;
  }
  auto again = d.log().replay(d.log().size());
  EXPECT_TRUE(again.durable.same_content(d.durable()));
}

TEST(WriteLog, DigestSeesEveryDifference) {
  auto run = [](std::uint8_t pattern, bool flush) {
    SimDisk d(4, 1);
    EXPECT_TRUE(d.write(1, ConstBlockSpan(pattern_block(pattern))).ok());
    if (flush) {
      EXPECT_TRUE(d.flush().ok());
    }
    return d.log().digest();
  };
  EXPECT_EQ(run(1, true), run(1, true));
  EXPECT_NE(run(1, true), run(2, true));
  EXPECT_NE(run(1, true), run(1, false));
}

TEST(WriteLog, LoggingCanBeSwitchedOff) {
  SimDisk d(4, 1);
  d.set_logging(false);
  ASSERT_TRUE(d.write(1, ConstBlockSpan(pattern_block(1))).ok());
  EXPECT_EQ(d.log().size(), 0u);
}

// The engine's view keeps what each write sent, whatever the disk did with it: a failed write, a
// dropped one, a flipped one and one a power cut lost all read back as sent, and none of them is
// durable. It is for the reader only: what a failed write sent does not enter the digest.
TEST(WriteLog, EngineViewHoldsEveryWriteAsSent) {
  const auto run = [](std::uint8_t failed_data) {
    auto d = std::make_unique<SimDisk>(8, 1, *FaultPlan::parse("write nth=1 -> error; write nth=2 -> drop; write nth=3 -> flip=4"));
    EXPECT_FALSE(d->write(1, ConstBlockSpan(pattern_block(failed_data))).ok());
    for (std::uint8_t i = 2; i <= 4; ++i) EXPECT_TRUE(d->write(i, ConstBlockSpan(pattern_block(i))).ok());
    d->power_cut(PowerCutPolicy::none);  // the flipped write 3 and write 4 were pending: lost
    return d;
  };
  const auto d = run(1);
  const Image view = d->log().engine_view();
  Block b{};
  for (std::uint8_t i = 1; i <= 4; ++i) {
    view.read(i, b);
    EXPECT_EQ(b, pattern_block(i)) << "block " << int{i};
    d->durable().read(i, b);
    EXPECT_NE(b, pattern_block(i)) << "block " << int{i} << " should not be durable";
  }
  const auto other = run(5);
  EXPECT_EQ(other->log().digest(), d->log().digest());
  other->log().engine_view().read(1, b);
  EXPECT_EQ(b, pattern_block(5));
}

}  // namespace
}  // namespace pdsim::sim
