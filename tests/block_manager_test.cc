// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/block/block_manager.h"

#include <gtest/gtest.h>

#include "core/block/checksum.h"
#include "core/common/endian.h"
#include "sim/sim_disk.h"
#include "testing/test_util.h"

namespace pdsim {
namespace {

using sim::FaultPlan;
using sim::SimDisk;

const HeaderValidator kNode("node", salt::btree_node, 8);
const HeaderValidator kBitmap("bitmap", salt::sm_bitmap, 8);

FaultPlan plan(const char* line) {
  auto p = FaultPlan::parse(line);
  EXPECT_TRUE(p.ok()) << p.error().to_string();
  return std::move(p).value();
}

// Writes a validated block with a recognisable payload through a block manager, and flushes.
void put(BlockManager& bm, BlockNr b, std::uint64_t payload, const Validator* v = &kNode) {
  auto ref = bm.write_lock_zero(b, v);
  ASSERT_TRUE(ref.ok()) << ref.error().to_string();
  store_le<std::uint64_t>(ref->data().data() + 32, payload);
}

std::uint64_t payload_of(const ReadRef& r) { return load_le<std::uint64_t>(r.data().data() + 32); }

TEST(BlockManager, WriteFlushReadBackThroughAFreshCache) {
  SimDisk disk(32, 1);
  {
    BlockManager bm(disk, 4);
    for (BlockNr b = 0; b < 10; ++b) put(bm, b, 1000 + b);
    ASSERT_TRUE(bm.flush().ok());
  }
  BlockManager bm(disk, 4);
  for (BlockNr b = 0; b < 10; ++b) {
    auto r = bm.read_lock(b, &kNode);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ(payload_of(*r), 1000 + b);
  }
}

TEST(BlockManager, PrepareForWriteStampsBlocknrAndChecksumAtWriteBack) {
  SimDisk disk(8, 1);
  BlockManager bm(disk, 4);
  put(bm, 5, 42);
  // Not written yet: nothing on the device until flush.
  EXPECT_EQ(disk.counters().writes, 0u);
  ASSERT_TRUE(bm.flush().ok());
  Block raw{};
  disk.durable().read(5, BlockSpan(raw));
  EXPECT_EQ(load_le<std::uint64_t>(raw.data() + 8), 5u);
  EXPECT_EQ(stored_checksum(ConstBlockSpan(raw)), block_checksum(ConstBlockSpan(raw), salt::btree_node));
}

TEST(BlockManager, DirtyIsMarkedWhenTheWriteRefIsReleased) {
  SimDisk disk(8, 1);
  BlockManager bm(disk, 4);
  auto ref = bm.write_lock_zero(1, &kNode);
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(bm.dirty_blocks(), 0u);
  ASSERT_TRUE(bm.flush().ok());  // the locked block is not written
  EXPECT_EQ(disk.counters().writes, 0u);
  ref->release();
  EXPECT_EQ(bm.dirty_blocks(), 1u);
  ASSERT_TRUE(bm.flush().ok());
  EXPECT_EQ(disk.counters().writes, 1u);
  EXPECT_EQ(bm.dirty_blocks(), 0u);
}

TEST(BlockManager, BadChecksumIsCorruption) {
  SimDisk disk(8, 1);
  {
    BlockManager bm(disk, 4);
    put(bm, 3, 7);
    ASSERT_TRUE(bm.flush().ok());
  }
  // Flip one payload bit on the durable image.
  Block raw{};
  disk.durable().read(3, BlockSpan(raw));
  raw[100] ^= 0x10;
  ASSERT_TRUE(disk.write(3, ConstBlockSpan(raw), WriteMode::fua).ok());
  BlockManager bm(disk, 4);
  auto r = bm.read_lock(3, &kNode);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::corruption);
  EXPECT_NE(r.error().message().find("bad checksum"), std::string::npos);
  EXPECT_EQ(bm.stats().validation_failures, 1u);
}

TEST(BlockManager, MisplacedBlockIsCorruptionBeforeTheChecksum) {
  SimDisk disk(8, 1);
  {
    BlockManager bm(disk, 4);
    put(bm, 2, 7);
    ASSERT_TRUE(bm.flush().ok());
  }
  Block raw{};
  disk.durable().read(2, BlockSpan(raw));
  ASSERT_TRUE(disk.write(6, ConstBlockSpan(raw), WriteMode::fua).ok());  // a valid block, wrong place
  BlockManager bm(disk, 4);
  auto r = bm.read_lock(6, &kNode);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::corruption);
  EXPECT_NE(r.error().message().find("block-number field says 2"), std::string::npos);
}

// A block read as one kind and then wanted as another is damaged metadata (two structures claim
// it): corruption, in words a user can read (issue 15).
TEST(BlockManager, ValidatorMismatchIsCorruption) {
  SimDisk disk(8, 1);
  BlockManager bm(disk, 4);
  put(bm, 1, 1);
  auto r = bm.read_lock(1, &kBitmap);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::corruption);
  EXPECT_NE(r.error().message().find("one block cannot be both"), std::string::npos) << r.error().message();
  // No validator on a block that has one is refused too.
  EXPECT_FALSE(bm.read_lock(1, nullptr).ok());
  // The right one works.
  EXPECT_TRUE(bm.read_lock(1, &kNode).ok());
}

TEST(BlockManager, FailedCheckStaysCachedAndIsCheckedAgainWithoutReread) {
  SimDisk disk(8, 1);  // block 4 is all zeros: fails the node checksum
  BlockManager bm(disk, 4);
  EXPECT_FALSE(bm.read_lock(4, &kNode).ok());
  EXPECT_TRUE(bm.is_cached(4));
  auto reads = disk.counters().reads;
  EXPECT_FALSE(bm.read_lock(4, &kNode).ok());
  EXPECT_EQ(disk.counters().reads, reads);
  // Unvalidated, it can still be read raw (the kernel's "is the superblock all zero" test).
  auto raw = bm.read_lock(4, nullptr);
  ASSERT_TRUE(raw.ok());
  EXPECT_TRUE(sim::is_zero(raw->data()));
}

TEST(BlockManager, WriteLockZeroReplacesTheValidator) {
  SimDisk disk(8, 1);
  BlockManager bm(disk, 4);
  put(bm, 1, 1, &kNode);
  put(bm, 1, 2, &kBitmap);
  auto r = bm.read_lock(1, &kBitmap);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(payload_of(*r), 2u);
}

TEST(BlockManager, LockConflicts) {
  SimDisk disk(8, 1);
  BlockManager bm(disk, 4);
  put(bm, 1, 1);
  {
    auto r1 = bm.read_lock(1, &kNode);
    auto r2 = bm.read_lock(1, &kNode);
    ASSERT_TRUE(r1.ok() && r2.ok());
    auto w = bm.write_lock(1, &kNode);
    ASSERT_FALSE(w.ok());
    EXPECT_EQ(w.error().kind(), ErrorKind::busy);
  }
  auto w = bm.write_lock(1, &kNode);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(bm.read_lock(1, &kNode).error().kind(), ErrorKind::busy);
  EXPECT_EQ(bm.write_lock_zero(1, &kNode).error().kind(), ErrorKind::busy);
}

TEST(BlockManager, CacheIsBoundedAndEvictsLeastRecentlyUsed) {
  SimDisk disk(64, 1);
  BlockManager bm(disk, 4);
  for (BlockNr b = 0; b < 64; ++b) put(bm, b, b);
  EXPECT_LE(bm.cached_blocks(), 4u);
  EXPECT_EQ(bm.stats().evictions, 60u);
  // Evicted dirty blocks were written back on the way out.
  EXPECT_EQ(disk.counters().writes, 60u);
  ASSERT_TRUE(bm.flush().ok());
  for (BlockNr b = 0; b < 64; ++b) {
    auto r = bm.read_lock(b, &kNode);
    ASSERT_TRUE(r.ok()) << b;
    EXPECT_EQ(payload_of(*r), b);
  }
  EXPECT_LE(bm.cached_blocks(), 4u);
}

TEST(BlockManager, AllLockedIsBusyNotGrowth) {
  SimDisk disk(16, 1);
  BlockManager bm(disk, 2);
  auto a = bm.write_lock_zero(0, &kNode);
  auto b = bm.write_lock_zero(1, &kNode);
  ASSERT_TRUE(a.ok() && b.ok());
  auto c = bm.write_lock_zero(2, &kNode);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().kind(), ErrorKind::busy);
  EXPECT_EQ(bm.cached_blocks(), 2u);
}

TEST(BlockManager, HitsAvoidDeviceReads) {
  SimDisk disk(16, 1);
  BlockManager bm(disk, 8);
  put(bm, 3, 3);
  ASSERT_TRUE(bm.flush().ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(bm.read_lock(3, &kNode).ok());
  EXPECT_EQ(disk.counters().reads, 0u);
  EXPECT_EQ(bm.stats().hits, 10u);
}

TEST(BlockManager, FlushReturnsAWriteErrorAndStillFlushesTheDevice) {
  SimDisk disk(16, 1, plan("write nth=2 -> error"));
  BlockManager bm(disk, 8);
  for (BlockNr b = 0; b < 4; ++b) put(bm, b, b);
  auto s = bm.flush();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind(), ErrorKind::io);
  EXPECT_NE(s.error().message().find("block 1"), std::string::npos);
  EXPECT_EQ(disk.counters().writes, 4u);   // the other blocks were still written
  EXPECT_EQ(disk.counters().flushes, 1u);  // and the device flush was still issued
  EXPECT_FALSE(bm.is_cached(1));           // the failed block was dropped, not retried
  EXPECT_TRUE(bm.flush().ok());
}

TEST(BlockManager, FlushReturnsTheDeviceFlushError) {
  SimDisk disk(16, 1, plan("flush nth=1 -> error"));
  BlockManager bm(disk, 8);
  put(bm, 0, 0);
  auto s = bm.flush();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind(), ErrorKind::io);
  EXPECT_NE(s.error().message().find("device flush"), std::string::npos);
}

TEST(BlockManager, AnEvictionWriteErrorIsReturnedByTheNextFlush) {
  SimDisk disk(16, 1, plan("write nth=1 -> error"));
  BlockManager bm(disk, 1);
  put(bm, 0, 0);
  put(bm, 1, 1);  // evicts block 0: its write-back fails with nobody to tell
  EXPECT_EQ(bm.stats().failed_writes, 1u);
  auto s = bm.flush();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("block 0"), std::string::npos);
  EXPECT_TRUE(bm.flush().ok());  // reported once
}

TEST(BlockManager, ReadErrorIsReturnedAndNothingIsCached) {
  SimDisk disk(16, 1, plan("read blocks=5-5 -> error"));
  BlockManager bm(disk, 4);
  auto r = bm.read_lock(5, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::io);
  EXPECT_FALSE(bm.is_cached(5));
}

TEST(BlockManager, ReadOnlyModeRefusesWriteLocksAndFlush) {
  SimDisk disk(16, 1);
  BlockManager bm(disk, 4);
  bm.set_read_only(true);
  EXPECT_EQ(bm.write_lock(0, nullptr).error().kind(), ErrorKind::read_only);
  EXPECT_EQ(bm.write_lock_zero(0, nullptr).error().kind(), ErrorKind::read_only);
  EXPECT_EQ(bm.flush().error().kind(), ErrorKind::read_only);
  EXPECT_TRUE(bm.read_lock(0, nullptr).ok());
  bm.set_read_only(false);
  EXPECT_TRUE(bm.write_lock(0, nullptr).ok());
}

TEST(BlockManager, OutOfRangeIsInvalid) {
  SimDisk disk(4, 1);
  BlockManager bm(disk, 4);
  EXPECT_EQ(bm.read_lock(4, nullptr).error().kind(), ErrorKind::invalid);
}

TEST(BlockManager, DiscardAllDropsDirtyBlocksWithoutWriting) {
  SimDisk disk(16, 1);
  BlockManager bm(disk, 4);
  put(bm, 1, 1);
  bm.discard_all();
  EXPECT_EQ(bm.cached_blocks(), 0u);
  ASSERT_TRUE(bm.flush().ok());
  EXPECT_EQ(disk.counters().writes, 0u);
}

TEST(BlockManager, TryReadLockOnlyHitsTheCache) {
  SimDisk disk(16, 1);
  BlockManager bm(disk, 4);
  EXPECT_EQ(bm.try_read_lock(2, nullptr).error().kind(), ErrorKind::busy);
  put(bm, 2, 9);
  auto r = bm.try_read_lock(2, &kNode);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(payload_of(*r), 9u);
}

TEST(BlockManager, RefsAreMovable) {
  SimDisk disk(16, 1);
  BlockManager bm(disk, 4);
  auto r = bm.write_lock_zero(1, &kNode);
  ASSERT_TRUE(r.ok());
  WriteRef moved = std::move(*r);
  EXPECT_EQ(moved.location(), 1u);
  moved.release();
  EXPECT_EQ(bm.locked_blocks(), 0u);
  EXPECT_EQ(bm.dirty_blocks(), 1u);
}

}  // namespace
}  // namespace pdsim
