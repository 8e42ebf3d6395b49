// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/tm/transaction_manager.h"

#include <gtest/gtest.h>

#include "core/block/checksum.h"
#include "core/common/endian.h"
#include "core/sm/core_space_map.h"
#include "sim/sim_disk.h"

namespace pdsim {
namespace {

const HeaderValidator kV("test", salt::btree_node, 8);

struct Fixture {
  sim::SimDisk disk;
  BlockManager bm;
  CoreSpaceMap sm;
  TransactionManager tm;
  explicit Fixture(BlockNr n = 64, const char* plan = "none")
      : disk(n, 1, *sim::FaultPlan::parse(plan)), bm(disk, 32), sm(n), tm(bm, &sm) {
    EXPECT_TRUE(sm.set_count(0, 1).ok());  // the superblock
  }
  // A block created and committed, holding `payload`.
  BlockNr committed_block(std::uint64_t payload) {
    auto w = tm.new_block(&kV);
    EXPECT_TRUE(w.ok());
    store_le<std::uint64_t>(w->data().data() + 32, payload);
    BlockNr b = w->location();
    w->release();
    EXPECT_TRUE(commit().ok());
    return b;
  }
  Status commit() {
    PDSIM_TRY(tm.pre_commit());
    PDSIM_TRY_ASSIGN(WriteRef sb, bm.write_lock_zero(0, &kV));
    return tm.commit(std::move(sb));
  }
};

std::uint64_t payload(ConstBlockSpan d) { return load_le<std::uint64_t>(d.data() + 32); }

TEST(TransactionManager, NewBlockIsZeroedCountedAndAShadow) {
  Fixture f;
  auto w = f.tm.new_block(&kV);
  ASSERT_TRUE(w.ok());
  BlockNr b = w->location();
  EXPECT_NE(b, 0u);
  EXPECT_TRUE(sim::is_zero(w->data()));
  EXPECT_EQ(*f.sm.get_count(b), 1u);
  EXPECT_TRUE(f.tm.is_shadow(b));
}

TEST(TransactionManager, ShadowOfACommittedBlockCopiesAndMovesTheReference) {
  Fixture f;
  BlockNr orig = f.committed_block(77);
  EXPECT_FALSE(f.tm.is_shadow(orig));
  auto sh = f.tm.shadow_block(orig, &kV);
  ASSERT_TRUE(sh.ok()) << sh.error().to_string();
  BlockNr copy = sh->block.location();
  EXPECT_NE(copy, orig);
  EXPECT_FALSE(sh->inc_children);  // count was 1: children's references move to the copy
  EXPECT_EQ(payload(sh->block.data()), 77u);
  EXPECT_EQ(*f.sm.get_count(orig), 0u);
  EXPECT_EQ(*f.sm.get_count(copy), 1u);
  // The original is never modified.
  store_le<std::uint64_t>(sh->block.data().data() + 32, 99);
  sh->block.release();
  auto r = f.bm.read_lock(orig, &kV);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(payload(r->data()), 77u);
}

TEST(TransactionManager, SecondShadowInATransactionIsInPlace) {
  Fixture f;
  BlockNr orig = f.committed_block(1);
  BlockNr copy;
  {
    auto sh = f.tm.shadow_block(orig, &kV);
    ASSERT_TRUE(sh.ok());
    copy = sh->block.location();
  }
  auto again = f.tm.shadow_block(copy, &kV);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->block.location(), copy);
  EXPECT_FALSE(again->inc_children);
}

TEST(TransactionManager, SharedBlockIsCopiedEveryTimeEvenIfCreatedThisTransaction) {
  Fixture f;
  auto w = f.tm.new_block(&kV);
  ASSERT_TRUE(w.ok());
  BlockNr b = w->location();
  w->release();
  ASSERT_TRUE(f.tm.inc(b).ok());  // a second owner (a snapshot)
  auto sh = f.tm.shadow_block(b, &kV);
  ASSERT_TRUE(sh.ok());
  EXPECT_NE(sh->block.location(), b);
  EXPECT_TRUE(sh->inc_children);
  EXPECT_EQ(*f.sm.get_count(b), 1u);
}

TEST(TransactionManager, CommitClearsTheShadowTable) {
  Fixture f;
  BlockNr b = f.committed_block(5);
  EXPECT_FALSE(f.tm.is_shadow(b));
  EXPECT_EQ(f.tm.shadow_count(), 0u);
}

TEST(TransactionManager, OutOfSpaceIsNoSpace) {
  Fixture f(4);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(f.tm.new_block(&kV).ok());
  auto w = f.tm.new_block(&kV);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().kind(), ErrorKind::no_space);
}

TEST(TransactionManager, SuperblockIsWrittenOnlyAfterEverythingElseIsFlushed) {
  Fixture f;
  (void)f.committed_block(1);
  auto w = f.tm.new_block(&kV);
  ASSERT_TRUE(w.ok());
  w->release();
  ASSERT_TRUE(f.commit().ok());
  // In the log of the second commit: the new block's write and a flush come before block 0's write.
  const auto& log = f.disk.log().entries();
  std::size_t sb_write = 0, data_write = 0, flush_between = 0;
  for (std::size_t i = 0; i < log.size(); ++i) {
    if (log[i].op == sim::LogOp::write && log[i].block == 0) sb_write = i;
    if (log[i].op == sim::LogOp::write && log[i].block != 0) data_write = i;
  }
  for (std::size_t i = data_write; i < sb_write; ++i)
    if (log[i].op == sim::LogOp::flush) flush_between = i;
  EXPECT_LT(data_write, sb_write);
  EXPECT_GT(flush_between, data_write);
  EXPECT_EQ(log.back().op, sim::LogOp::flush);
}

TEST(TransactionManager, AFailedPreCommitFlushLeavesTheSuperblockUntouched) {
  // The 2nd flush fails: the pre-commit flush of the second transaction.
  Fixture f(64, "flush nth=3 -> error");
  (void)f.committed_block(1);  // flushes 1 and 2
  Block before{};
  f.disk.durable().read(0, BlockSpan(before));
  auto w = f.tm.new_block(&kV);
  ASSERT_TRUE(w.ok());
  w->release();
  ASSERT_FALSE(f.tm.pre_commit().ok());
  Block after{};
  f.disk.durable().read(0, BlockSpan(after));
  EXPECT_EQ(before, after);
}

TEST(TransactionManager, AbortForgetsShadowsAndCache) {
  Fixture f;
  auto w = f.tm.new_block(&kV);
  ASSERT_TRUE(w.ok());
  w->release();
  f.tm.abort();
  EXPECT_EQ(f.tm.shadow_count(), 0u);
  EXPECT_EQ(f.bm.cached_blocks(), 0u);
}

}  // namespace
}  // namespace pdsim
