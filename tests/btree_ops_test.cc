// SPDX-License-Identifier: GPL-2.0-or-later
// Unit tests of the btree's other operations (algorithms.md §5.2, §5.4, §5.5, §5.7, §5.8):
// multi-level trees, remove_leaves, remove of absent keys, walk, the cursor, lookup_next and
// find_lowest / find_highest, the overwrite-leaf helper, del, and a deep random tree.
// Every scenario ends by checking structure, reference counts and the on-disk nodes.
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

TEST_F(BtreeTest, MultiLevelInsertLookupRemove) {
  Info info = counted(8, 2);
  BlockNr root = U(create_empty(info));
  std::uint64_t id = 1;
  std::map<std::pair<std::uint64_t, std::uint64_t>, std::uint64_t> model;
  for (std::uint64_t dev : {1u, 5u, 9u}) {
    for (std::uint64_t k = 0; k < 600; k += 3) {
      ++refs.counts[id];
      const std::uint64_t keys[2] = {dev, k};
      auto r = U(insert(info, root, keys, value_of(id, 8)));
      EXPECT_TRUE(r.inserted);
      root = r.root;
      model[{dev, k}] = id++;
    }
  }
  for (auto [k, v] : model) {
    const std::uint64_t keys[2] = {k.first, k.second};
    auto got = U(lookup(info, root, keys));
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(testing::id_of(*got), v);
  }
  const std::uint64_t absent[2] = {2, 0};
  EXPECT_FALSE(U(lookup(info, root, absent)).has_value());
  const std::uint64_t next_q[2] = {5, 100};
  auto nx = U(lookup_next(info, root, next_q));
  ASSERT_TRUE(nx.has_value());
  EXPECT_EQ(nx->key, 102u);
  const std::uint64_t past[2] = {5, 600};
  EXPECT_FALSE(U(lookup_next(info, root, past)).has_value());
  EXPECT_EQ(U(find_lowest(info, root)), (std::vector<std::uint64_t>{1, 0}));
  EXPECT_EQ(U(find_highest(info, root)), (std::vector<std::uint64_t>{9, 597}));
  // Empty device 1's subtree: the upper entry stays, with an empty subtree.
  for (std::uint64_t k = 0; k < 600; k += 3) {
    const std::uint64_t keys[2] = {1, k};
    root = U(remove(info, root, keys));
  }
  EXPECT_EQ(U(find_lowest(info, root)), (std::vector<std::uint64_t>{1}));
  const std::uint64_t gone[2] = {1, 3};
  EXPECT_FALSE(U(lookup(info, root, gone)).has_value());
  ASSERT_OK(env.commit());
  const auto saved = refs.counts;
  EXPECT_EQ(remove(info, root, gone).error().kind(), ErrorKind::no_data);
  // The failed remove left the transaction inconsistent: roll it back.
  env.tm.abort();
  env.sm.rollback();
  refs.counts = saved;
  check_all({{&info, root}}, true);
}

TEST_F(BtreeTest, MultiLevelWithManySubtreesSplitsEveryLevel) {
  Info info = counted(16, 2, "id");
  BlockNr root = U(create_empty(info));
  std::uint64_t id = 1;
  for (std::uint64_t dev = 0; dev < 300; ++dev)
    for (std::uint64_t k = 0; k < (dev % 50 == 0 ? 400 : 3); ++k) {
      ++refs.counts[id];
      root = put2(info, root, dev * 3, k, id++);
    }
  EXPECT_GE(shape_of(root).size(), 2u) << "the upper level split";
  check_all({{&info, root}}, true);
  const std::uint64_t q[2] = {150, 399};
  EXPECT_TRUE(U(lookup(info, root, q)).has_value());
  const std::uint64_t q2[2] = {153, 3};
  EXPECT_FALSE(U(lookup(info, root, q2)).has_value());
  ASSERT_OK(del(info, root));
  EXPECT_EQ(env.live_blocks(), 0u);
  EXPECT_TRUE(refs.counts.empty());
}

TEST_F(BtreeTest, RemoveLeavesStopsAtFirstGap) {
  Info info = counted(8);
  BlockNr root = U(create_empty(info));
  for (std::uint64_t k = 0; k < 10; ++k) root = put_counted(info, root, k, k);
  for (std::uint64_t k = 20; k < 30; ++k) root = put_counted(info, root, k, k);
  root = put_counted(info, root, 40, 40);
  auto rl = [&](std::uint64_t from, std::uint64_t end) {
    const std::uint64_t keys[1] = {from};
    auto r = U(remove_leaves(info, root, keys, end));
    root = r.root;
    return r.removed;
  };
  EXPECT_EQ(rl(5, 100), 5u);  // 5..9, then 10 is a gap (its lower bound, 4, is below it)
  EXPECT_EQ(rl(10, 25), 0u);
  EXPECT_EQ(rl(0, 3), 3u);  // end is exclusive
  EXPECT_EQ(keys_of(env.tm, info, root).front(), 3u);
  // k = 5 is below the leaf's first key once 3 and 4 are gone: the leaf "starts above k", so its
  // first key (20) is removed too, skipping the gap.
  EXPECT_EQ(rl(0, 25), 7u);
  EXPECT_EQ(keys_of(env.tm, info, root), (std::vector<std::uint64_t>{25, 26, 27, 28, 29, 40}));
  EXPECT_EQ(rl(35, 100), 0u);
  EXPECT_EQ(refs.counts.size(), 6u);
  // Multi-level: an absent upper key ends with nothing removed.
  Info info2 = counted(8, 2);
  BlockNr root2 = U(create_empty(info2));
  ++refs.counts[1000];
  root2 = put2(info2, root2, 3, 3, 1000);
  const std::uint64_t absent[2] = {4, 0};
  EXPECT_EQ(U(remove_leaves(info2, root2, absent, 10)).removed, 0u);
  const std::uint64_t present[2] = {3, 0};
  auto r2 = U(remove_leaves(info2, root2, present, 10));
  EXPECT_EQ(r2.removed, 1u);
  check_all({{&info, root}, {&info2, r2.root}}, true);
}

TEST_F(BtreeTest, RemoveLeavesOverManyLeaves) {
  Info info = counted(8);
  BlockNr root = U(create_empty(info));
  for (std::uint64_t k = 0; k < 5000; ++k) root = put_counted(info, root, k, k);
  const std::uint64_t from[1] = {1000};
  auto r = U(remove_leaves(info, root, from, 4000));
  EXPECT_EQ(r.removed, 3000u);
  auto keys = keys_of(env.tm, info, r.root);
  EXPECT_EQ(keys.size(), 2000u);
  EXPECT_EQ(keys[999], 999u);
  EXPECT_EQ(keys[1000], 4000u);
  check_all({{&info, r.root}}, true);
}

TEST_F(BtreeTest, RemoveOfAbsentKeyIsNoData) {
  Info info = plain(8);
  BlockNr root = U(create_empty(info));
  for (std::uint64_t k = 10; k < 1000; k += 2) root = put(info, root, k, k);
  ASSERT_OK(env.commit());
  const std::uint64_t odd[1] = {11};
  EXPECT_EQ(remove(info, root, odd).error().kind(), ErrorKind::no_data);
  env.tm.abort();
  env.sm.rollback();
  const std::uint64_t below[1] = {1};
  EXPECT_EQ(remove(info, root, below).error().kind(), ErrorKind::no_data);
  env.tm.abort();
  env.sm.rollback();
  check_all({{&info, root}});
}

TEST_F(BtreeTest, WalkAndCursor) {
  Info info = plain(8);
  BlockNr root = U(create_empty(info));
  auto c0 = U(Cursor::begin(info, root));
  EXPECT_FALSE(c0.valid()) << "a cursor on an empty tree starts invalid";
  EXPECT_EQ(c0.next().error().kind(), ErrorKind::no_data);
  int visits = 0;
  ASSERT_OK(walk(info, root, [&](std::uint64_t, ValueSpan) -> Result<bool> {
    ++visits;
    return true;
  }));
  EXPECT_EQ(visits, 0);
  for (std::uint64_t k = 0; k < 3000; ++k) root = put(info, root, k * 3, k);
  auto c = U(Cursor::begin(info, root));
  std::uint64_t expect = 0;
  while (c.valid()) {
    ASSERT_EQ(c.key(), expect * 3);
    ASSERT_EQ(c.value(), value_of(expect, 8));
    ++expect;
    ASSERT_OK(c.next());
  }
  EXPECT_EQ(expect, 3000u);
  EXPECT_EQ(c.next().error().kind(), ErrorKind::no_data);
  auto s = U(Cursor::begin(info, root));
  ASSERT_OK(s.skip(1000));
  EXPECT_EQ(s.key(), 3000u);
  ASSERT_OK(s.skip(1));
  EXPECT_EQ(s.key(), 3003u);
  ASSERT_OK(s.skip(1998));
  EXPECT_EQ(s.key(), 2999u * 3);
  ASSERT_OK(s.skip(1));
  EXPECT_FALSE(s.valid());
  auto s2 = U(Cursor::begin(info, root));
  ASSERT_OK(s2.skip(5000));
  EXPECT_FALSE(s2.valid());
  visits = 0;
  ASSERT_OK(walk(info, root, [&](std::uint64_t k, ValueSpan) -> Result<bool> {
    ++visits;
    return k < 300;
  }));
  EXPECT_EQ(visits, 101) << "walk stops when the callback says so";
  Status failing = walk(info, root, [&](std::uint64_t, ValueSpan) -> Result<bool> { return Error::io("boom"); });
  EXPECT_EQ(failing.error().kind(), ErrorKind::io);
}

TEST_F(BtreeTest, LookupNextAndExtremes) {
  Info info = plain(8);
  BlockNr root = U(create_empty(info));
  EXPECT_TRUE(U(find_lowest(info, root)).empty());
  for (std::uint64_t k = 100; k < 5100; k += 5) root = put(info, root, k, k);
  auto next_of = [&](std::uint64_t k) -> std::optional<std::uint64_t> {
    const std::uint64_t keys[1] = {k};
    auto e = U(lookup_next(info, root, keys));
    if (!e) return std::nullopt;
    EXPECT_EQ(e->value, value_of(e->key, 8));
    return e->key;
  };
  EXPECT_EQ(next_of(0), 100u);
  EXPECT_EQ(next_of(100), 100u);
  EXPECT_EQ(next_of(101), 105u);
  EXPECT_EQ(next_of(5095), 5095u);
  EXPECT_EQ(next_of(5096), std::nullopt);
  // Across every leaf boundary.
  const auto s = shape_of(root);
  ASSERT_GT(s.back().size(), 3u);
  for (const auto& leaf : s.back()) {
    const std::uint64_t last = leaf.keys.back();
    EXPECT_EQ(next_of(last + 1), last + 5 > 5095 ? std::optional<std::uint64_t>() : last + 5);
  }
  EXPECT_EQ(U(find_lowest(info, root)), (std::vector<std::uint64_t>{100}));
  EXPECT_EQ(U(find_highest(info, root)), (std::vector<std::uint64_t>{5095}));
}

TEST_F(BtreeTest, ShadowToLeafReturnsWritableLeaf) {
  Info info = plain(8);
  BlockNr root = U(create_empty(info));
  for (std::uint64_t k = 0; k < 1000; ++k) root = put(info, root, k, k);
  ASSERT_OK(env.commit());
  {
    LeafRef leaf = U(shadow_to_leaf(info, root, 777));
    NodeEdit n(leaf.leaf.data());
    EXPECT_EQ(n.key(leaf.index), 777u);
    n.set_value64(leaf.index, 4242);
    EXPECT_NE(leaf.root, root);
    root = leaf.root;
  }
  EXPECT_EQ(*get(info, root, 777), value_of(4242, 8));
  EXPECT_EQ(shadow_to_leaf(info, root, 5000).error().kind(), ErrorKind::invalid);
  check_all({{&info, root}});
}

TEST_F(BtreeTest, DelOfSharedRootOnlyDecrements) {
  Info info = counted(8);
  BlockNr root = U(create_empty(info));
  for (std::uint64_t k = 0; k < 2000; ++k) root = put_counted(info, root, k, k);
  ASSERT_OK(env.tm.inc(root));
  const std::size_t live = env.live_blocks();
  ASSERT_OK(del(info, root));
  EXPECT_EQ(env.live_blocks(), live);
  EXPECT_EQ(U(env.tm.ref(root)), 1u);
  EXPECT_EQ(refs.counts.size(), 2000u);
  ASSERT_OK(del(info, root));
  EXPECT_EQ(env.live_blocks(), 0u);
  EXPECT_TRUE(refs.counts.empty());
}

// Three node levels: random inserts, then random removes that rebalance internal nodes (merges,
// centre deletes, an internal root collapsing onto an internal child) while a snapshot shares
// everything; contents, structure and every count are checked along the way.
TEST_F(BtreeTest, DeepTreeRandomRemovesWithSnapshot) {
  Info info = counted(8);
  BlockNr a = U(create_empty(info));
  sim::Rng rng(42);
  std::map<std::uint64_t, std::uint64_t> model;
  std::uint64_t id = 1;
  while (model.size() < 60000) {
    const std::uint64_t k = rng.below(1000000);
    if (model.count(k)) continue;
    a = put_counted(info, a, k, id);
    model[k] = id++;
  }
  ASSERT_EQ(shape_of(a).size(), 3u);
  check_all({{&info, a}}, true);
  const BlockNr b = a;
  ASSERT_OK(env.tm.inc(b));
  const auto model_b = model;
  std::vector<std::uint64_t> keys;
  for (auto& [k, v] : model) keys.push_back(k);
  for (std::size_t i = keys.size(); i > 1; --i) std::swap(keys[i - 1], keys[rng.below(i)]);
  std::size_t depth_seen = 3;
  for (std::size_t i = 0; i < keys.size() - 50; ++i) {
    a = del_key(info, a, keys[i]);
    model.erase(keys[i]);
    if (i % 97 == 0) {
      const std::uint64_t k = rng.below(1000000);
      if (!model.count(k)) {
        a = put_counted(info, a, k, id);
        model[k] = id++;
      }
    }
    if (i % 15000 == 0) check_all({{&info, a}, {&info, b}}, true);
    if (i % 1000 == 0) depth_seen = std::min(depth_seen, shape_of(a).size());
    if (i % 20000 == 0 && i > 0) {
      ASSERT_OK(env.commit());
    }
  }
  EXPECT_EQ(depth_seen, 2u) << "the internal root collapsed onto its internal child";
  while (model.size() > 10) {
    a = del_key(info, a, model.begin()->first);
    model.erase(model.begin());
  }
  EXPECT_EQ(shape_of(a).size(), 1u) << "the tree shrank back to a single leaf";
  std::vector<std::pair<std::uint64_t, std::uint64_t>> got;
  ASSERT_OK(walk(info, a, [&](std::uint64_t k, ValueSpan v) -> Result<bool> {
    got.emplace_back(k, testing::id_of(v));
    return true;
  }));
  EXPECT_EQ(got, (std::vector<std::pair<std::uint64_t, std::uint64_t>>(model.begin(), model.end())));
  EXPECT_EQ(keys_of(env.tm, info, b).size(), model_b.size());
  check_all({{&info, a}, {&info, b}}, true);
  ASSERT_OK(del(info, b));
  check_all({{&info, a}}, true);
  ASSERT_OK(del(info, a));
  EXPECT_EQ(env.live_blocks(), 0u);
  EXPECT_TRUE(refs.counts.empty());
}

}  // namespace
}  // namespace pdsim::btree
