// SPDX-License-Identifier: GPL-2.0-or-later
// Unit tests of the btree's shape rules (algorithms.md §5.3, §5.5): every split, rebalance,
// merge and collapse with the exact node counts the spec implies, and reference counting of
// overwrites, collapses and copy-on-write snapshots. Every scenario ends by checking the
// structure, the reference counts of every block against a census of the live trees, and every
// node read back from the disk.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "sim/rng.h"
#include "tests/btree_fixture.h"

namespace pdsim::btree {
namespace {

using namespace test_fixture;  // NOLINT: the fixture's names, test-local
using testing::Census;
using testing::DataRefs;
using testing::Env;
using testing::NodeInfo;
using testing::TreeContents;
using testing::value_of;

TEST_F(BtreeTest, MaxEntriesPerValueSize) {
  const std::pair<std::uint32_t, std::uint32_t> cases[] = {{4, 336}, {8, 252}, {16, 168}, {24, 126}, {32, 99}};
  for (auto [vs, max] : cases) {
    Info info = plain(vs);
    BlockNr root = U(create_empty(info));
    NodeInfo n = U(testing::read_node(env.tm, root));
    EXPECT_EQ(n.max, max) << "value size " << vs;
    EXPECT_EQ(n.nr, 0u);
    EXPECT_EQ(n.flags, kLeafFlag);
    EXPECT_EQ(n.value_size, vs);
  }
  Info bad = plain(0);
  EXPECT_FALSE(create_empty(bad).ok());
}

// A full root leaf splits beneath: L = floor(n/2), R = the rest, the root (same block) becomes an
// internal node with two entries and max_entries for 8-byte values.
TEST_F(BtreeTest, SplitBeneathOfFullRootLeaf) {
  for (std::uint32_t vs : {16u, 32u}) {
    Info info = plain(vs);
    BlockNr root = U(create_empty(info));
    const std::uint32_t max = max_entries_for(vs);
    for (std::uint64_t k = 0; k < max; ++k) root = put(info, root, k * 2, k);
    const BlockNr before = root;
    EXPECT_EQ(shape_of(root).size(), 1u);
    root = put(info, root, 2 * max, max);  // the root is full: split beneath
    EXPECT_EQ(root, before) << "split beneath keeps the root's location";
    auto s = shape_of(root);
    ASSERT_EQ(s.size(), 2u);
    const NodeInfo& r = s[0][0];
    EXPECT_EQ(r.flags, kInternalFlag);
    EXPECT_EQ(r.nr, 2u);
    EXPECT_EQ(r.max, 252u);
    EXPECT_EQ(r.value_size, 8u);
    ASSERT_EQ(s[1].size(), 2u);
    EXPECT_EQ(s[1][0].nr, max / 2);
    EXPECT_EQ(s[1][1].nr, max - max / 2 + 1);  // R gets the rest, plus the new (highest) key
    EXPECT_EQ(s[1][0].max, max);
    EXPECT_EQ(s[1][0].value_size, vs);
    EXPECT_LT(s[1][0].block, s[1][1].block) << "L is allocated before R";
    EXPECT_EQ(r.keys[0], 0u);
    EXPECT_EQ(r.keys[1], 2 * (max / 2));
    check_all({{&info, root}});
    ASSERT_OK(del(info, root));
    EXPECT_EQ(env.live_blocks(), 0u);
  }
}

// Ascending inserts: the last leaf fills; while its left sibling has >= 8 free slots they share
// evenly (126+252 -> 189/189 -> 220/221 -> 236/236 -> 244/244 -> 248/248); at 4 free slots the
// last leaf splits one into two. So every leaf but the last two holds exactly 248.
TEST_F(BtreeTest, AscendingInsertsLeaveLeftLeavesAt248) {
  Info info = plain(8);
  BlockNr root = U(create_empty(info));
  const std::uint64_t n = 70000;  // enough for the internal root to split beneath too
  for (std::uint64_t k = 0; k < n; ++k) root = put(info, root, k, k);
  auto s = shape_of(root);
  ASSERT_EQ(s.size(), 3u);
  auto sizes = testing::leaf_sizes(s);
  ASSERT_GT(sizes.size(), 200u);
  for (std::size_t i = 0; i + 2 < sizes.size(); ++i) ASSERT_EQ(sizes[i], 248u) << "leaf " << i;
  // The internal level grows the same way.
  for (std::size_t i = 0; i + 2 < s[1].size(); ++i) EXPECT_EQ(s[1][i].nr, 248u) << "internal " << i;
  EXPECT_EQ(keys_of(env.tm, info, root).size(), n);
  check_all({{&info, root}});
}

// Descending inserts mirror it: the first leaf fills and shares with its right sibling
// (left = floor(total/2), the right gets the odd entry): 189/189 -> 220/221 -> 236/237 ->
// 244/245; the right sibling then has 7 free slots (< 8), so the first leaf splits one into two.
TEST_F(BtreeTest, DescendingInsertsLeaveRightLeavesAt245) {
  Info info = plain(8);
  BlockNr root = U(create_empty(info));
  const std::uint64_t n = 5000;
  for (std::uint64_t k = n; k-- > 0;) root = put(info, root, k, k);
  auto sizes = testing::leaf_sizes(shape_of(root));
  ASSERT_GT(sizes.size(), 10u);
  for (std::size_t i = 2; i < sizes.size(); ++i) EXPECT_EQ(sizes[i], 245u) << "leaf " << i;
  check_all({{&info, root}});
}

TEST_F(BtreeTest, FullLeafSharesWithLeftSiblingHavingEightFreeSlots) {
  Info info = plain(8);
  BlockNr root = U(create_empty(info));
  for (std::uint64_t k = 0; k < 378; ++k) root = put(info, root, k, k);
  EXPECT_EQ(testing::leaf_sizes(shape_of(root)), (std::vector<std::uint32_t>{126, 252}));
  root = put(info, root, 378, 378);
  auto s = shape_of(root);
  EXPECT_EQ(testing::leaf_sizes(s), (std::vector<std::uint32_t>{189, 190}));
  EXPECT_EQ(s[0][0].keys[1], 189u) << "the parent key of the right node is its new first key";
  EXPECT_EQ(s[1][1].keys[0], 189u);
  check_all({{&info, root}});
}

TEST_F(BtreeTest, TwoIntoThreeSplitWhenBothSiblingsAreNearlyFull) {
  Info info = plain(8);
  BlockNr root = U(create_empty(info));
  for (std::uint64_t k = 0; k < 2000; ++k) root = put(info, root, k * 10, k);
  auto s = shape_of(root);
  auto sizes = testing::leaf_sizes(s);
  ASSERT_GE(sizes.size(), 6u);
  ASSERT_EQ(sizes[1], 248u);
  ASSERT_EQ(sizes[2], 248u);
  ASSERT_EQ(sizes[3], 248u);
  const std::uint64_t first = s[1][2].keys[0];
  for (std::uint64_t j = 1; j <= 4; ++j) root = put(info, root, first + j, j);  // leaf 2 is now full
  EXPECT_EQ(testing::leaf_sizes(shape_of(root))[2], 252u);
  root = put(info, root, first + 5, 5);
  auto t = shape_of(root);
  auto after = testing::leaf_sizes(t);
  ASSERT_EQ(after.size(), sizes.size() + 1);
  // left + current = 500: left = 166, middle = 167, right = 167; the key lands in the middle.
  EXPECT_EQ(after[1], 166u);
  EXPECT_EQ(after[2], 168u);
  EXPECT_EQ(after[3], 167u);
  EXPECT_EQ(after[4], 248u);
  EXPECT_EQ(t[1][1].block, s[1][1].block) << "the left sibling was already a shadow";
  EXPECT_EQ(t[1][3].block, s[1][2].block) << "the current node becomes the right one";
  EXPECT_EQ(t[0][0].keys[3], t[1][3].keys[0]);
  EXPECT_EQ(t[0][0].keys[2], t[1][2].keys[0]);
  check_all({{&info, root}});
}

TEST_F(BtreeTest, SharedSiblingsForceOneIntoTwo) {
  Info info = plain(8);
  BlockNr root = U(create_empty(info));
  for (std::uint64_t k = 0; k < 2000; ++k) root = put(info, root, k * 10, k);
  ASSERT_OK(env.commit());
  const BlockNr snap = root;
  ASSERT_OK(env.tm.inc(snap));
  auto s = shape_of(root);
  const std::uint64_t first = s[1][2].keys[0];
  for (std::uint64_t j = 1; j <= 4; ++j) root = put(info, root, first + j, j);
  EXPECT_NE(root, snap);
  root = put(info, root, first + 5, 5);
  auto after = testing::leaf_sizes(shape_of(root));
  ASSERT_EQ(after.size(), s[1].size() + 1);
  EXPECT_EQ(after[1], 248u);
  EXPECT_EQ(after[2], 127u);  // 252 -> 126 | 126, the key (6th entry) stays in the current node
  EXPECT_EQ(after[3], 126u);
  EXPECT_EQ(after[4], 248u);
  // The snapshot is untouched.
  EXPECT_EQ(testing::leaf_sizes(shape_of(snap)), testing::leaf_sizes(s));
  EXPECT_EQ(keys_of(env.tm, info, snap).size(), 2000u);
  EXPECT_EQ(keys_of(env.tm, info, root).size(), 2005u);
  check_all({{&info, root}, {&info, snap}});
}

TEST_F(BtreeTest, InsertBelowEveryKeyLowersParentKeys) {
  Info info = plain(8);
  BlockNr root = U(create_empty(info));
  for (std::uint64_t k = 100; k < 1100; ++k) root = put(info, root, k, k);
  root = put(info, root, 5, 5);
  auto s = shape_of(root);
  EXPECT_EQ(s[0][0].keys[0], 5u);
  EXPECT_EQ(s[1][0].keys[0], 5u);
  EXPECT_TRUE(get(info, root, 5).has_value());
  check_all({{&info, root}});
}

// rebalance2: a pair below 2(m+1) = 170 merges into the left node (the right block is freed);
// otherwise it is split evenly. A root left with one child is then collapsed.
TEST_F(BtreeTest, RemoveRedistributesThenMergesPairThenCollapsesRoot) {
  Info info = counted(8);
  BlockNr root = U(create_empty(info));
  for (std::uint64_t k = 0; k < 253; ++k) root = put_counted(info, root, k, k);
  ASSERT_OK(env.commit());
  EXPECT_EQ(testing::leaf_sizes(shape_of(root)), (std::vector<std::uint32_t>{126, 127}));
  std::uint64_t next = 0;
  root = del_key(info, root, next++);
  EXPECT_EQ(testing::leaf_sizes(shape_of(root)), (std::vector<std::uint32_t>{125, 127}));
  // Removing from the left: before each removal the pair is split evenly (left = floor(t/2)).
  while (next < 253 - 169) root = del_key(info, root, next++);
  auto s = shape_of(root);
  EXPECT_EQ(testing::leaf_sizes(s), (std::vector<std::uint32_t>{84, 85}));  // 170 -> 85/85, then one removed
  const BlockNr right_leaf = s[1][1].block;
  const BlockNr left_leaf = s[1][0].block;
  root = del_key(info, root, next++);  // 169 < 170: merge, then remove
  s = shape_of(root);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0][0].nr, 1u) << "the root keeps a single child until the next remove";
  EXPECT_EQ(testing::leaf_sizes(s), (std::vector<std::uint32_t>{168}));
  EXPECT_EQ(U(env.tm.ref(right_leaf)), 0u) << "the merged-away right block is freed";
  const BlockNr before = root;
  root = del_key(info, root, next++);  // the root has one child: it collapses
  EXPECT_EQ(root, before);
  s = shape_of(root);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0][0].flags, kLeafFlag);
  EXPECT_EQ(s[0][0].nr, 167u);
  EXPECT_EQ(U(env.tm.ref(left_leaf)), 0u);
  EXPECT_EQ(env.live_blocks(), 1u);
  EXPECT_EQ(refs.counts.size(), 167u) << "each removed value was dec'ed";
  check_all({{&info, root}}, true);
}

// rebalance3: removing from the centre of three leaves spreads them (right = floor(t/3),
// left = right + (t % 3 != 0)) until the three hold fewer than 4m+1 = 337: then the centre is
// emptied into its neighbours, freed, and the remaining pair rebalanced.
TEST_F(BtreeTest, RemoveSpreadsThreeThenDeletesCentreBelow4mPlus1) {
  Info info = plain(8);
  BlockNr root = U(create_empty(info));
  for (std::uint64_t k = 0; k <= 500; ++k) root = put(info, root, k, k);
  ASSERT_OK(env.commit());
  auto s = shape_of(root);
  ASSERT_EQ(testing::leaf_sizes(s), (std::vector<std::uint32_t>{248, 126, 127}));
  std::uint32_t l = 248, c = 126, r = 127;
  for (;;) {
    s = shape_of(root);
    ASSERT_EQ(s[1].size(), 3u);
    const std::uint64_t victim = s[1][1].keys[0];
    const std::uint32_t t = l + c + r;
    const BlockNr centre = s[1][1].block;
    const std::uint32_t pos = l;  // the victim's index among the three leaves' entries
    root = del_key(info, root, victim);
    if (t >= 337) {
      r = t / 3;
      l = r + (t % 3 != 0 ? 1 : 0);
      c = t - l - r;
      if (pos < l) --l;
      else if (pos < l + c) --c;
      else --r;
      ASSERT_EQ(testing::leaf_sizes(shape_of(root)), (std::vector<std::uint32_t>{l, c, r})) << "t " << t;
      continue;
    }
    // Delete the centre: everything fits into the left (l + c <= 252), then 2-way rebalance.
    ASSERT_LE(l + c, 252u);
    const std::uint32_t left = t / 2, right = t - t / 2;
    auto sizes = testing::leaf_sizes(shape_of(root));
    ASSERT_EQ(sizes.size(), 2u);
    // The victim (the old centre's first entry) is in the left node iff l < left.
    if (pos < left) EXPECT_EQ(sizes, (std::vector<std::uint32_t>{left - 1, right}));
    else EXPECT_EQ(sizes, (std::vector<std::uint32_t>{left, right - 1}));
    EXPECT_EQ(t, 336u);
    EXPECT_EQ(U(env.tm.ref(centre)), 0u) << "the deleted centre is freed";
    break;
  }
  check_all({{&info, root}});
}

TEST_F(BtreeTest, CollapseOfSharedSingleChildIncrementsItsValues) {
  Info info = counted(8);
  BlockNr root = U(create_empty(info));
  for (std::uint64_t k = 0; k < 253; ++k) root = put_counted(info, root, k, k);
  std::uint64_t next = 0;
  while (shape_of(root)[0][0].nr != 1) root = del_key(info, root, next++);
  ASSERT_OK(env.commit());
  const BlockNr snap = root;
  ASSERT_OK(env.tm.inc(snap));
  const BlockNr child = shape_of(root)[1][0].block;
  root = del_key(info, root, next++);
  EXPECT_NE(root, snap);
  auto s = shape_of(root);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(U(env.tm.ref(child)), 1u) << "the shared child stays with the snapshot";
  EXPECT_EQ(refs.counts.at(next), 2u) << "values now referenced by both leaves";
  EXPECT_EQ(refs.counts.at(next - 1), 1u) << "the removed key's value is only in the snapshot";
  check_all({{&info, root}, {&info, snap}}, true);
  ASSERT_OK(del(info, root));
  ASSERT_OK(del(info, snap));
  EXPECT_EQ(env.live_blocks(), 0u);
  EXPECT_TRUE(refs.counts.empty());
}

TEST_F(BtreeTest, OverwriteDecsOldValueUnlessEqualAndNewKeysAreNotIncremented) {
  Info info = counted(8);
  BlockNr root = U(create_empty(info));
  const std::uint64_t keys[1] = {7};
  auto r = U(insert(info, root, keys, value_of(100, 8)));
  EXPECT_TRUE(r.inserted);
  EXPECT_EQ(refs.inc_calls, 0u);
  EXPECT_EQ(refs.dec_calls, 0u);
  refs.counts[100] = 1;
  refs.counts[200] = 1;
  r = U(insert(info, r.root, keys, value_of(200, 8)));
  EXPECT_FALSE(r.inserted);
  EXPECT_EQ(refs.dec_calls, 1u);
  EXPECT_EQ(refs.counts.count(100), 0u);
  r = U(insert(info, r.root, keys, value_of(200, 8)));  // equal: no dec
  EXPECT_EQ(refs.dec_calls, 1u);
  EXPECT_EQ(refs.counts.at(200), 1u);
  EXPECT_EQ(*get(info, r.root, 7), value_of(200, 8));
  Info no_equal = counted(8, 1, "none");
  r = U(insert(no_equal, r.root, keys, value_of(200, 8)));  // no equal callback: always dec
  EXPECT_EQ(refs.dec_calls, 2u);
  EXPECT_EQ(refs.counts.count(200), 0u);
  EXPECT_EQ(refs.inc_calls, 0u);
}

TEST_F(BtreeTest, SnapshotCopyOnWriteKeepsBothTreesAndExactCounts) {
  Info info = counted(16, 1, "id");
  BlockNr a = U(create_empty(info));
  std::map<std::uint64_t, std::uint64_t> model;
  std::uint64_t id = 1;
  for (std::uint64_t k = 0; k < 3000; k += 2) {
    a = put_counted(info, a, k, id);
    model[k] = id++;
  }
  ASSERT_OK(env.commit());
  const BlockNr b = a;
  ASSERT_OK(env.tm.inc(b));
  const auto model_b = model;
  check_all({{&info, a}, {&info, b}}, true);
  // Mutate a: new keys, overwrites, removes.
  for (std::uint64_t k = 1; k < 3000; k += 7) {
    a = put_counted(info, a, k, id);
    model[k] = id++;
  }
  for (std::uint64_t k = 0; k < 3000; k += 10) {
    a = put_counted(info, a, k, id);
    model[k] = id++;
  }
  for (std::uint64_t k = 2; k < 3000; k += 6) {
    if (!model.count(k)) continue;
    a = del_key(info, a, k);
    model.erase(k);
  }
  using Model = std::map<std::uint64_t, std::uint64_t>;
  const std::pair<const Model*, BlockNr> both[2] = {{&model, a}, {&model_b, b}};
  for (auto [m, root] : both) {
    using Pairs = std::vector<std::pair<std::uint64_t, std::uint64_t>>;
    Pairs got;
    ASSERT_OK(walk(info, root, [&](std::uint64_t k, ValueSpan v) -> Result<bool> {
      got.emplace_back(k, testing::id_of(v));
      return true;
    }));
    EXPECT_EQ(got, Pairs(m->begin(), m->end()));
  }
  check_all({{&info, a}, {&info, b}}, true);
  // del frees exactly a's unshared nodes and decs the values of its unshared leaves.
  ASSERT_OK(del(info, a));
  check_all({{&info, b}}, true);
  ASSERT_OK(del(info, b));
  EXPECT_EQ(env.live_blocks(), 0u);
  EXPECT_TRUE(refs.counts.empty());
}

}  // namespace
}  // namespace pdsim::btree
