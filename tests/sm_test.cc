// SPDX-License-Identifier: GPL-2.0-or-later
#include <gtest/gtest.h>

#include <map>

#include "core/block/checksum.h"
#include "core/sm/disk_space_map.h"
#include "core/sm/metadata_space_map.h"
#include "sim/sim_disk.h"
#include "testing/test_util.h"

namespace pdsim::sm {
namespace {

// ---- formats ----

TEST(SpaceMapFormat, BitmapBitOrderMatchesTheSpecExamples) {
  Block blk{};
  for (std::uint32_t e : {0u, 1u, 2u, 3u, 4u, 5u, 6u, 7u, 8u, 10u, 11u, 12u}) bitmap_set(blk.data(), e, 1);
  EXPECT_EQ(blk[16], 0xAA);
  EXPECT_EQ(blk[17], 0xAA);
  EXPECT_EQ(blk[18], 0xA2);
  EXPECT_EQ(blk[19], 0x02);

  Block data{};
  bitmap_set(data.data(), 10, 2);
  for (std::uint32_t e : {20u, 21u, 22u}) bitmap_set(data.data(), e, 1);
  EXPECT_EQ(data[16 + 2], 0x10);
  EXPECT_EQ(data[16 + 5], 0x2A);

  Block three{};
  for (std::uint32_t e = 0; e < 10; ++e) bitmap_set(three.data(), e, 3);
  for (std::uint32_t e = 10; e < 32; ++e) bitmap_set(three.data(), e, 1);
  EXPECT_EQ(load_le<std::uint64_t>(three.data() + 16), 0xAAAAAAAAAAAFFFFFull);
  for (std::uint32_t e = 0; e < 32; ++e) EXPECT_EQ(bitmap_get(three.data(), e), e < 10 ? 3u : 1u);
  EXPECT_TRUE(bitmap_word_full(three.data(), 0));
  bitmap_set(three.data(), 31, 0);
  EXPECT_FALSE(bitmap_word_full(three.data(), 0));
}

TEST(SpaceMapFormat, IndexEntryAndRootPacking) {
  std::array<std::uint8_t, 16> raw{};
  IndexEntry ie{0x1122334455667788ull, 16320, 7};
  ie.pack(raw.data());
  EXPECT_EQ(raw[0], 0x88);
  EXPECT_EQ(load_le<std::uint32_t>(raw.data() + 8), 16320u);
  EXPECT_EQ(load_le<std::uint32_t>(raw.data() + 12), 7u);
  EXPECT_EQ(IndexEntry::unpack(raw.data()), ie);
  RootFields r{1024, 12, 3, 4};
  SpaceMapRoot packed = r.pack();
  EXPECT_EQ(load_le<std::uint64_t>(packed.data()), 1024u);
  EXPECT_EQ(load_le<std::uint64_t>(packed.data() + 24), 4u);
  RootFields back = RootFields::unpack(packed);
  EXPECT_EQ(back.nr_allocated, 12u);
  EXPECT_EQ(back.bitmap_root, 3u);
}

TEST(SpaceMapFormat, DiskIndexCacheSlots) {
  // slot = (i * 4294967291) mod 2^32 & 63 = (-5 i) mod 64
  EXPECT_EQ(DiskIndex::slot_of(0), 0u);
  EXPECT_EQ(DiskIndex::slot_of(1), 59u);
  EXPECT_EQ(DiskIndex::slot_of(2), 54u);
  EXPECT_EQ(DiskIndex::slot_of(13), (64u * 100 - 65u) % 64u);
}

// ---- the metadata space map on a simulated device ----

struct MetaFixture {
  sim::SimDisk disk;
  BlockManager bm;
  TransactionManager tm;
  std::unique_ptr<MetadataSpaceMap> sm;
  explicit MetaFixture(BlockNr n, BlockNr sm_blocks = 0) : disk(n, 1), bm(disk, 256), tm(bm) {
    auto r = MetadataSpaceMap::create(tm, sm_blocks ? sm_blocks : n);
    EXPECT_TRUE(r.ok()) << r.error().to_string();
    sm = std::move(r).value();
    EXPECT_TRUE(commit().ok());
  }
  // The superblock here only records the space-map root at offset 64.
  Status commit() { return pdsim::testing::commit_bare(tm, bm, sm.get()); }
  Status reopen() {
    PDSIM_TRY_ASSIGN(SpaceMapRoot root, pdsim::testing::read_bare_root(tm, bm));
    PDSIM_TRY_ASSIGN(sm, MetadataSpaceMap::open(tm, root));
    return {};
  }
  std::uint32_t count(BlockNr b) {
    auto c = sm->get_count(b);
    EXPECT_TRUE(c.ok()) << c.error().to_string();
    return c.ok() ? *c : 9999;
  }
};

TEST(MetadataSpaceMap, FormatCountsItsOwnBlocksAndTheSuperblock) {
  MetaFixture f(1000);
  EXPECT_EQ(*f.sm->nr_blocks(), 1000u);
  // Block 0 (superblock), then the bootstrap's index block, overflow root and one bitmap.
  EXPECT_EQ(f.count(0), 1u);
  RootFields root = RootFields::unpack(*f.sm->copy_root());
  EXPECT_EQ(root.nr_blocks, 1000u);
  BlockNr used = 0;
  for (BlockNr b = 0; b < 1000; ++b) used += f.count(b) > 0 ? 1u : 0u;
  EXPECT_EQ(root.nr_allocated, used);
  EXPECT_GE(used, 4u);
  EXPECT_LE(used, 8u);
  EXPECT_EQ(*f.sm->nr_free(), 1000u - used);
}

TEST(MetadataSpaceMap, CapsAtTheIndexCapacity) {
  // A device larger than 255 bitmaps can describe: the map covers 4,161,600 blocks, the rest is
  // unused space.
  MetaFixture f(kMetadataMaxBlocks + 5000);
  EXPECT_EQ(*f.sm->nr_blocks(), kMetadataMaxBlocks);
  RootFields root = RootFields::unpack(*f.sm->copy_root());
  EXPECT_EQ(root.nr_blocks, kMetadataMaxBlocks);
  // 1 superblock + index + overflow root + 255 bitmaps.
  EXPECT_EQ(root.nr_allocated, 258u);
}

TEST(MetadataSpaceMap, CountTransitionsThroughTheOverflowTree) {
  MetaFixture f(2000);
  auto nb = f.sm->new_block();
  ASSERT_TRUE(nb.ok() && nb->has_value());
  BlockNr b = **nb;
  EXPECT_EQ(f.count(b), 1u);
  for (std::uint32_t want = 2; want <= 6; ++want) {
    ASSERT_TRUE(f.sm->inc(b).ok());
    EXPECT_EQ(f.count(b), want);
    EXPECT_TRUE(*f.sm->count_is_more_than_one(b));
  }
  ASSERT_TRUE(f.commit().ok());
  ASSERT_TRUE(f.reopen().ok());
  EXPECT_EQ(f.count(b), 6u);
  for (std::uint32_t want = 5; want != UINT32_MAX; --want) {
    ASSERT_TRUE(f.sm->dec(b).ok()) << want;
    EXPECT_EQ(f.count(b), want);
    if (want == 0) break;
  }
  auto below = f.sm->dec(b);
  ASSERT_FALSE(below.ok());
  EXPECT_EQ(below.error().kind(), ErrorKind::invalid);
  EXPECT_NE(below.error().message().find("below zero"), std::string::npos);
}

TEST(MetadataSpaceMap, NewBlockNeverReusesABlockFreedInThisTransaction) {
  MetaFixture f(200);
  auto a = f.sm->new_block();
  ASSERT_TRUE(a.ok() && a->has_value());
  ASSERT_TRUE(f.commit().ok());
  ASSERT_TRUE(f.sm->dec(**a).ok());
  for (int i = 0; i < 150; ++i) {
    auto b = f.sm->new_block();
    ASSERT_TRUE(b.ok());
    if (!b->has_value()) break;
    EXPECT_NE(**b, **a);
  }
}

TEST(MetadataSpaceMap, RunsOutOfSpaceAsAnExpectedOutcome) {
  MetaFixture f(64);
  int got = 0;
  for (;;) {
    auto b = f.sm->new_block();
    ASSERT_TRUE(b.ok()) << b.error().to_string();
    if (!b->has_value()) break;
    ++got;
    ASSERT_LT(got, 64);
  }
  EXPECT_GT(got, 40);
}

TEST(MetadataSpaceMap, SetCountRoundTrips) {
  MetaFixture f(500);
  ASSERT_TRUE(f.sm->set_count(300, 7).ok());
  EXPECT_EQ(f.count(300), 7u);
  ASSERT_TRUE(f.sm->set_count(300, 2).ok());
  EXPECT_EQ(f.count(300), 2u);
  ASSERT_TRUE(f.sm->set_count(300, 0).ok());
  EXPECT_EQ(f.count(300), 0u);
}

TEST(MetadataSpaceMap, ExtendAddsBitmapsFromTheNewAreaAndSurvivesReopen) {
  MetaFixture f(40000, 1000);
  ASSERT_TRUE(f.sm->extend(30000).ok());
  EXPECT_FALSE(f.sm->bootstrapping());
  EXPECT_EQ(*f.sm->nr_blocks(), 31000u);
  ASSERT_TRUE(f.commit().ok());
  ASSERT_TRUE(f.reopen().ok());
  EXPECT_EQ(*f.sm->nr_blocks(), 31000u);
  // The second bitmap (blocks 16320..) was allocated inside the new area.
  RootFields root = RootFields::unpack(*f.sm->copy_root());
  BlockNr used = 0;
  for (BlockNr b = 0; b < 31000; ++b) used += f.count(b) > 0 ? 1u : 0u;
  EXPECT_EQ(root.nr_allocated, used);
  bool new_area_used = false;
  for (BlockNr b = 1000; b < 1010; ++b) new_area_used = new_area_used || f.count(b) > 0;
  EXPECT_TRUE(new_area_used);
  // Everything else in the new area is free and allocatable.
  int allocated = 0;
  for (int i = 0; i < 2000; ++i) {
    auto b = f.sm->new_block();
    ASSERT_TRUE(b.ok() && b->has_value());
    ++allocated;
  }
  EXPECT_EQ(allocated, 2000);
}

TEST(MetadataSpaceMap, ExtendPastTheIndexIsRefusedAndChangesNothing) {
  MetaFixture f(1000);
  auto s = f.sm->extend(kMetadataMaxBlocks);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("too large"), std::string::npos);
  EXPECT_EQ(*f.sm->nr_blocks(), 1000u);
}

TEST(MetadataSpaceMap, ThresholdFiresOnceWhenCrossed) {
  MetaFixture f(100);
  int fired = 0;
  const BlockNr threshold = *f.sm->nr_free() - 10;
  f.sm->set_threshold(threshold, [&] { ++fired; });
  bool crossed = false;
  for (int i = 0; i < 30; ++i) {
    ASSERT_TRUE(f.sm->new_block().ok());
    // Edge-triggered: it fires with the allocation that first leaves nr_free <= threshold.
    crossed = crossed || *f.sm->nr_free() <= threshold;
    EXPECT_EQ(fired, crossed ? 1 : 0) << "allocation " << i;
  }
  EXPECT_TRUE(crossed);
}

// ---- the disk space map ----

struct DiskFixture {
  sim::SimDisk disk;
  BlockManager bm;
  TransactionManager tm;
  std::unique_ptr<MetadataSpaceMap> meta;
  std::unique_ptr<DiskSpaceMap> data;
  DiskFixture(BlockNr meta_blocks, BlockNr data_blocks) : disk(meta_blocks, 1), bm(disk, 256), tm(bm) {
    auto m = MetadataSpaceMap::create(tm, meta_blocks);
    EXPECT_TRUE(m.ok()) << m.error().to_string();
    meta = std::move(m).value();
    auto d = DiskSpaceMap::create(tm, data_blocks);
    EXPECT_TRUE(d.ok()) << d.error().to_string();
    data = std::move(d).value();
    EXPECT_TRUE(commit().ok());
  }
  // A whole transaction: the data map, then the two-phase commit (which empties the shadow table,
  // so the next transaction must copy the committed bitmaps).
  Status commit() {
    PDSIM_TRY(data->commit());
    return pdsim::testing::commit_bare(tm, bm);
  }
};

TEST(DiskSpaceMap, AllocatesCountsAndSpansBitmaps) {
  DiskFixture f(2000, 40000);
  EXPECT_EQ(*f.data->nr_blocks(), 40000u);
  EXPECT_EQ(*f.data->nr_free(), 40000u);
  ASSERT_TRUE(f.data->inc(16000, 17000).ok());  // across the first bitmap boundary
  EXPECT_EQ(*f.data->get_count(16319), 1u);
  EXPECT_EQ(*f.data->get_count(16320), 1u);
  EXPECT_EQ(*f.data->nr_free(), 39000u);
  ASSERT_TRUE(f.data->inc(16500).ok());
  ASSERT_TRUE(f.data->inc(16500).ok());
  ASSERT_TRUE(f.data->inc(16500).ok());
  EXPECT_EQ(*f.data->get_count(16500), 4u);
  auto b = f.data->new_block();
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_EQ(**b, 0u);
  ASSERT_TRUE(f.commit().ok());
  auto dec = f.data->dec(20000);
  ASSERT_FALSE(dec.ok());
}

TEST(DiskSpaceMap, ExtensionIsVisibleAfterCommitButAllocatableAtOnce) {
  DiskFixture f(2000, 100);
  ASSERT_TRUE(f.data->inc(0, 100).ok());
  ASSERT_TRUE(f.commit().ok());
  EXPECT_FALSE(f.data->new_block()->has_value());
  ASSERT_TRUE(f.data->extend(50).ok());
  EXPECT_EQ(*f.data->nr_blocks(), 100u);  // committed size
  EXPECT_EQ(f.data->current_nr_blocks(), 150u);
  auto b = f.data->new_block();
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_EQ(**b, 100u);
  ASSERT_TRUE(f.commit().ok());
  EXPECT_EQ(*f.data->nr_blocks(), 150u);
}

TEST(DiskSpaceMap, FreesOfThisTransactionCountAsFreeButAreNotReused) {
  DiskFixture f(2000, 10);
  ASSERT_TRUE(f.data->inc(0, 10).ok());
  ASSERT_TRUE(f.commit().ok());
  ASSERT_TRUE(f.data->dec(3).ok());
  EXPECT_EQ(*f.data->nr_free(), 1u);
  EXPECT_FALSE(f.data->new_block()->has_value());
  ASSERT_TRUE(f.commit().ok());
  auto b = f.data->new_block();
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_EQ(**b, 3u);
}

}  // namespace
}  // namespace pdsim::sm
