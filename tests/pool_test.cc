// SPDX-License-Identifier: GPL-2.0-or-later
// dm-thin pool modes (algorithms.md §8.12) over the engine on SimDisk: the dmtest read-only and
// resize scenarios at the metadata level.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "core/thin/pool.h"
#include "core/thin/pool_metadata.h"
#include "sim/sim_disk.h"

namespace pdsim::thin {
namespace {

#define ASSERT_OK(expr)                                              \
  do {                                                               \
    auto&& r_ = (expr);                                              \
    ASSERT_TRUE(r_.ok()) << #expr << ": " << r_.error().to_string(); \
  } while (false)

struct PoolFixture {
  sim::SimDisk disk;
  std::unique_ptr<Pool> pool;
  PoolTable table;

  explicit PoolFixture(BlockNr data_blocks = 64, BlockNr meta_blocks = 2048) : disk(meta_blocks, 1) {
    table.data_blocks = data_blocks;
    table.metadata_blocks = meta_blocks;
    auto md = PoolMetadata::format(disk, 128);
    EXPECT_TRUE(md.ok());
    auto p = Pool::create(std::move(md).value(), table);
    EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().to_string());
    pool = std::move(p).value();
  }
  // Tear the pool down and bring it back from the device, as a new table load would.
  void reload_from_disk() {
    ASSERT_TRUE(pool->shutdown().ok());
    pool.reset();
    auto md = PoolMetadata::open(disk, 128);
    ASSERT_TRUE(md.ok()) << md.error().to_string();
    auto p = Pool::create(std::move(md).value(), table);
    ASSERT_TRUE(p.ok()) << p.error().to_string();
    pool = std::move(p).value();
  }
};

TEST(PoolModes, ProvisionsInWriteMode) {
  PoolFixture f;
  ASSERT_OK(f.pool->create_thin(1));
  auto w = f.pool->write(1, 10);
  ASSERT_OK(w);
  EXPECT_TRUE(w->newly_mapped);
  EXPECT_FALSE(f.pool->metadata_low_water_raised());
  auto again = f.pool->write(1, 10);
  ASSERT_OK(again);
  EXPECT_FALSE(again->newly_mapped);
  EXPECT_EQ(again->data_block, w->data_block);
  EXPECT_EQ(f.pool->mode(), PoolMode::write);
}

// resize_after_exhaust / out-of-data-space with pool resize.
TEST(PoolModes, OutOfDataSpaceThenResizeReturnsToWrite) {
  PoolFixture f(8);
  ASSERT_OK(f.pool->create_thin(1));
  for (std::uint64_t v = 0; v < 8; ++v) ASSERT_OK(f.pool->write(1, v));
  auto full = f.pool->write(1, 8);
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().kind(), ErrorKind::no_space);
  EXPECT_EQ(f.pool->mode(), PoolMode::out_of_data_space);
  EXPECT_TRUE(f.pool->data_low_water_raised());
  // Reads and writes to mapped blocks are still served; commits still allowed.
  ASSERT_OK(f.pool->read(1, 3));
  ASSERT_OK(f.pool->write(1, 3));
  ASSERT_OK(f.pool->commit());
  f.table.data_blocks = 16;
  ASSERT_OK(f.pool->reload(f.table));
  EXPECT_EQ(f.pool->mode(), PoolMode::write);
  ASSERT_OK(f.pool->write(1, 8));
}

// commit_failure_sets_needs_check: a failed commit aborts, sets NEEDS_CHECK, drops to read-only.
TEST(PoolModes, FailedCommitSetsNeedsCheckAndGoesReadOnly) {
  PoolFixture f;
  ASSERT_OK(f.pool->create_thin(1));
  ASSERT_OK(f.pool->write(1, 1));
  f.disk.set_plan(*sim::FaultPlan::parse(fmt::format("flush ops={}- -> error", f.disk.counters().flushes + 1)));
  auto s = f.pool->commit();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(f.pool->mode(), PoolMode::read_only);
  EXPECT_TRUE(f.pool->metadata().needs_check());
  f.disk.set_plan(sim::FaultPlan{});
  // The abort rolled the uncommitted mapping back.
  auto r = f.pool->read(1, 1);
  ASSERT_OK(r);
  EXPECT_FALSE(r->has_value());
  // Read-only: no provisioning, no new thins, no deletes, no commits; unprovisioned reads work.
  EXPECT_EQ(f.pool->write(1, 2).error().kind(), ErrorKind::io);
  EXPECT_EQ(f.pool->create_thin(2).error().kind(), ErrorKind::read_only);
  EXPECT_EQ(f.pool->delete_thin(1).error().kind(), ErrorKind::read_only);
  EXPECT_FALSE(f.pool->commit().ok());
  ASSERT_OK(f.pool->read(1, 100));
  // NEEDS_CHECK reaches the superblock when the pool is torn down, and keeps it read-only.
  f.reload_from_disk();
  EXPECT_TRUE(f.pool->metadata().needs_check());
  EXPECT_EQ(f.pool->mode(), PoolMode::read_only);
}

// Seed bug (f), fixed: a read-only pool returns to write mode on reload when nothing needs checking.
TEST(PoolModes, ReadOnlyTableReloadedWritableReturnsToWrite) {
  PoolFixture f;
  ASSERT_OK(f.pool->create_thin(1));
  f.table.read_only = true;
  ASSERT_OK(f.pool->reload(f.table));
  EXPECT_EQ(f.pool->mode(), PoolMode::read_only);
  EXPECT_EQ(f.pool->create_thin(2).error().kind(), ErrorKind::read_only);
  auto discarded = f.pool->discard(1, 0, 100);
  ASSERT_OK(discarded);  // completes without unmapping
  f.table.read_only = false;
  ASSERT_OK(f.pool->reload(f.table));
  EXPECT_EQ(f.pool->mode(), PoolMode::write);
  ASSERT_OK(f.pool->create_thin(2));
}

TEST(PoolModes, DiscardUnmapsInWriteMode) {
  PoolFixture f;
  ASSERT_OK(f.pool->create_thin(1));
  for (std::uint64_t v = 0; v < 10; ++v) ASSERT_OK(f.pool->write(1, v));
  ASSERT_OK(f.pool->discard(1, 2, 6));
  for (std::uint64_t v = 0; v < 10; ++v) {
    auto r = f.pool->read(1, v);
    ASSERT_OK(r);
    EXPECT_EQ(r->has_value(), v < 2 || v >= 6) << v;
  }
  auto d = f.pool->metadata().mapped_count(1);
  ASSERT_OK(d);
  EXPECT_EQ(*d, 6u);
}

// A write to a block shared with a snapshot breaks sharing: a new block, the snapshot keeps the old.
TEST(PoolModes, WritesToSharedBlocksBreakSharing) {
  PoolFixture f;
  ASSERT_OK(f.pool->create_thin(1));
  auto orig = f.pool->write(1, 5);
  ASSERT_OK(orig);
  ASSERT_OK(f.pool->create_snapshot(2, 1));
  auto w = f.pool->write(1, 5);
  ASSERT_OK(w);
  EXPECT_TRUE(w->newly_mapped);
  EXPECT_NE(w->data_block, orig->data_block);
  auto snap = f.pool->read(2, 5);
  ASSERT_OK(snap);
  EXPECT_EQ(**snap, orig->data_block);
}

// exhausting_metadata_space_aborts_to_ro_mode: the reserve turns into OUT_OF_METADATA_SPACE; growing
// the metadata device brings the pool back to write mode.
TEST(PoolModes, ExhaustingMetadataThenGrowingIt) {
  PoolFixture f(200000, 200);
  ASSERT_OK(f.pool->create_thin(1));
  std::uint64_t v = 0;
  while (f.pool->mode() == PoolMode::write && v < 200000) {
    auto w = f.pool->write(1, v * 7);  // scattered: many leaves
    if (!w) {
      EXPECT_EQ(w.error().kind(), ErrorKind::io) << w.error().to_string();
      break;
    }
    ++v;
  }
  EXPECT_EQ(f.pool->mode(), PoolMode::out_of_metadata_space);
  EXPECT_TRUE(f.pool->metadata_low_water_raised());  // min(1024, 200 / 4) = 50 free blocks
  EXPECT_FALSE(f.pool->metadata().needs_check());  // no abort, no NEEDS_CHECK
  EXPECT_EQ(f.pool->write(1, 1).error().kind(), ErrorKind::io);
  const std::uint64_t mapped_before = *f.pool->metadata().mapped_count(1);
  EXPECT_GT(mapped_before, 0u);
  // Grow the metadata space map into the rest of the device (the fixture's disk has 200 blocks,
  // so reload onto a bigger device image).
  ASSERT_TRUE(f.pool->shutdown().ok());
  sim::Image bigger(4000);
  for (BlockNr b = 0; b < f.disk.durable().nr_blocks(); ++b) bigger.set(b, f.disk.durable().get(b));
  sim::SimDisk big(bigger, 2);
  f.pool.reset();
  auto md = PoolMetadata::open(big, 128);
  ASSERT_OK(md);
  f.table.metadata_blocks = 4000;
  auto p = Pool::create(std::move(md).value(), f.table);
  ASSERT_OK(p);
  EXPECT_EQ((*p)->mode(), PoolMode::write);
  EXPECT_EQ(*(*p)->metadata().metadata_nr_blocks(), 4000u);
  auto more = (*p)->write(1, 1);
  ASSERT_OK(more);
  EXPECT_EQ(*(*p)->metadata().mapped_count(1), mapped_before + 1);
}

}  // namespace
}  // namespace pdsim::thin
