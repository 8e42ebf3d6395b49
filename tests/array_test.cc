// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/array/array.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "core/array/bitset.h"
#include "core/sm/core_space_map.h"
#include "sim/sim_disk.h"
#include "testing/test_util.h"

namespace pdsim::array {
namespace {

Value u64(std::uint64_t v) {
  Value out(8);
  store_le<std::uint64_t>(out.data(), v);
  return out;
}

struct Fixture {
  sim::SimDisk disk;
  BlockManager bm;
  CoreSpaceMap sm;
  TransactionManager tm;
  Info info;
  explicit Fixture(btree::ValueType elem = btree::plain_value_type(8), BlockNr n = 4096)
      : disk(n, 1), bm(disk, 512), sm(n), tm(bm, &sm), info(make_info(tm, std::move(elem))) {
    EXPECT_TRUE(sm.set_count(0, 1).ok());
  }
  Status commit() { return pdsim::testing::commit_bare(tm, bm); }
  std::uint64_t get(BlockNr root, std::uint32_t i) {
    auto v = array::get(info, root, i);
    EXPECT_TRUE(v.ok()) << v.error().to_string();
    if (!v.ok() || !v->has_value()) return UINT64_MAX;
    return load_le<std::uint64_t>((*v)->data());
  }
  BlockNr used_blocks() {
    BlockNr n = 0;
    for (auto c : sm.counts()) n += c > 0 ? 1u : 0u;
    return n;
  }
};

TEST(Array, EntriesPerBlock) {
  EXPECT_EQ(entries_per_block(4), 1018u);
  EXPECT_EQ(entries_per_block(8), 509u);
}

TEST(Array, GrowFillsWithTheDefaultAndGetFindsIt) {
  Fixture f;
  auto root = create_empty(f.info);
  ASSERT_TRUE(root.ok());
  BlockNr r = *root;
  ASSERT_TRUE(resize(f.info, r, 0, 1200, u64(7)).ok());
  EXPECT_EQ(f.get(r, 0), 7u);
  EXPECT_EQ(f.get(r, 1199), 7u);
  auto past = get(f.info, r, 1200);
  ASSERT_TRUE(past.ok());
  EXPECT_FALSE(past->has_value());
}

// seed bug (j): growing from a partial tail must start inserting new full blocks after the tail.
TEST(Array, GrowFromAPartialTailKeepsEveryEntry) {
  Fixture f;
  BlockNr r = *create_empty(f.info);
  ASSERT_TRUE(resize(f.info, r, 0, 600, u64(1)).ok());  // one full block (509) + tail of 91
  for (std::uint32_t i = 0; i < 600; ++i) ASSERT_TRUE(set(f.info, r, i, u64(i)).ok());
  ASSERT_TRUE(f.commit().ok());
  ASSERT_TRUE(resize(f.info, r, 600, 509 * 4 + 10, u64(99)).ok());
  for (std::uint32_t i = 0; i < 600; ++i) ASSERT_EQ(f.get(r, i), i) << i;
  for (std::uint32_t i = 600; i < 509 * 4 + 10; ++i) ASSERT_EQ(f.get(r, i), 99u) << i;
}

TEST(Array, ShrinkDropsBlocksAndTrimsTheTail) {
  Fixture f;
  BlockNr r = *create_empty(f.info);
  ASSERT_TRUE(resize(f.info, r, 0, 509 * 3, u64(5)).ok());
  BlockNr used_full = f.used_blocks();
  ASSERT_TRUE(resize(f.info, r, 509 * 3, 600, u64(0)).ok());
  EXPECT_LT(f.used_blocks(), used_full);
  EXPECT_EQ(f.get(r, 599), 5u);
  auto past = get(f.info, r, 600);
  ASSERT_TRUE(past.ok());
  EXPECT_FALSE(past->has_value());
  // Shrinking to an exact multiple of a block drops the old partial tail too (the kernel's
  // stale-tail quirk is not reproduced).
  ASSERT_TRUE(resize(f.info, r, 600, 509, u64(0)).ok());
  auto tail = get(f.info, r, 509);
  ASSERT_TRUE(tail.ok());
  EXPECT_FALSE(tail->has_value());
}

TEST(Array, SetOutOfRangeIsNoData) {
  Fixture f;
  BlockNr r = *create_empty(f.info);
  ASSERT_TRUE(resize(f.info, r, 0, 10, u64(0)).ok());
  auto s = set(f.info, r, 10, u64(1));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind(), ErrorKind::no_data);
}

// seed bug (i): setting an element of an array block shared with a snapshot must copy the block
// once and leave the other owner's block with exactly one reference.
TEST(Array, SharedArrayBlocksAreCopiedOnWriteWithExactCounts) {
  Fixture f;
  BlockNr a = *create_empty(f.info);
  ASSERT_TRUE(resize(f.info, a, 0, 1000, u64(3)).ok());
  ASSERT_TRUE(f.commit().ok());
  // A second owner of the whole array (as a snapshot of a btree root would be).
  BlockNr b = a;
  ASSERT_TRUE(f.tm.inc(a).ok());
  ASSERT_TRUE(set(f.info, a, 10, u64(42)).ok());
  EXPECT_NE(a, b);
  EXPECT_EQ(f.get(a, 10), 42u);
  EXPECT_EQ(f.get(b, 10), 3u);
  ASSERT_TRUE(f.commit().ok());
  // Every block is still referenced exactly as many times as it is reachable: delete both
  // arrays and nothing but the superblock may remain.
  ASSERT_TRUE(del(f.info, a).ok());
  ASSERT_TRUE(del(f.info, b).ok());
  EXPECT_EQ(f.used_blocks(), 1u);
}

TEST(Array, ElementReferencesAreCounted) {
  // Elements that are themselves block references (counted in the same core space map).
  sim::SimDisk disk(4096, 1);
  BlockManager bm(disk, 512);
  CoreSpaceMap sm(4096);
  TransactionManager tm(bm, &sm);
  btree::ValueType elem;
  elem.size = 8;
  elem.inc = [&](btree::ValueSpan v, std::size_t n) -> Status {
    for (std::size_t i = 0; i < n; ++i) PDSIM_TRY(sm.inc(load_le<std::uint64_t>(v.data() + 8 * i)));
    return {};
  };
  elem.dec = [&](btree::ValueSpan v, std::size_t n) -> Status {
    for (std::size_t i = 0; i < n; ++i) PDSIM_TRY(sm.dec(load_le<std::uint64_t>(v.data() + 8 * i)));
    return {};
  };
  Info info = make_info(tm, elem);
  BlockNr r = *create_empty(info);
  ASSERT_TRUE(resize(info, r, 0, 20, u64(4000)).ok());
  EXPECT_EQ(*sm.get_count(4000), 20u);
  ASSERT_TRUE(set(info, r, 0, u64(4001)).ok());
  EXPECT_EQ(*sm.get_count(4000), 19u);
  EXPECT_EQ(*sm.get_count(4001), 1u);
  ASSERT_TRUE(resize(info, r, 20, 5, u64(0)).ok());
  EXPECT_EQ(*sm.get_count(4000), 4u);
  ASSERT_TRUE(del(info, r).ok());
  EXPECT_EQ(*sm.get_count(4000), 0u);
  EXPECT_EQ(*sm.get_count(4001), 0u);
}

TEST(Array, CreateFromAndWalk) {
  Fixture f;
  auto r = create_from(f.info, 1500, [](std::uint32_t i) -> Result<Value> { return u64(i * 3); });
  ASSERT_TRUE(r.ok());
  std::uint32_t seen = 0;
  ASSERT_TRUE(walk(f.info, *r, [&](std::uint32_t i, ValueSpan v) -> Result<bool> {
                EXPECT_EQ(i, seen);
                EXPECT_EQ(load_le<std::uint64_t>(v.data()), i * 3u);
                ++seen;
                return true;
              }).ok());
  EXPECT_EQ(seen, 1500u);
}

TEST(Bitset, SetTestClearThroughTheCachedWord) {
  Fixture f;
  Bitset bs(f.tm);
  BlockNr r = *bs.create_empty();
  ASSERT_TRUE(bs.resize(r, 0, 1000, false).ok());
  ASSERT_TRUE(bs.set(r, 1).ok());
  ASSERT_TRUE(bs.set(r, 3).ok());
  ASSERT_TRUE(bs.set(r, 900).ok());  // flushes word 0
  EXPECT_TRUE(*bs.test(r, 1));
  EXPECT_FALSE(*bs.test(r, 2));
  ASSERT_TRUE(bs.clear(r, 1).ok());
  ASSERT_TRUE(bs.flush(r).ok());
  // Read the words back through a plain array view.
  Info words = make_info(f.tm, btree::plain_value_type(8));
  auto w0 = get(words, r, 0);
  ASSERT_TRUE(w0.ok() && w0->has_value());
  EXPECT_EQ(load_le<std::uint64_t>((*w0)->data()), 0x8ull);
  auto w14 = get(words, r, 14);
  ASSERT_TRUE(w14.ok() && w14->has_value());
  EXPECT_EQ(load_le<std::uint64_t>((*w14)->data()), 1ull << (900 % 64));
}

TEST(Bitset, ResizeFillsNewWords) {
  Fixture f;
  Bitset bs(f.tm);
  BlockNr r = *bs.create_empty();
  ASSERT_TRUE(bs.resize(r, 0, 100, true).ok());
  EXPECT_TRUE(*bs.test(r, 99));
  auto past = bs.test(r, 200);
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.error().kind(), ErrorKind::no_data);
}

}  // namespace
}  // namespace pdsim::array
