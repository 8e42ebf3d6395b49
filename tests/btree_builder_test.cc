// SPDX-License-Identifier: GPL-2.0-or-later
// Unit tests of btree::Builder, the bottom-up bulk loader used by restore: the trees it builds
// hold exactly what was pushed, keep every node at least a third full, keep reference counts
// exact, and are ordinary trees afterwards (insert and remove work on them).
#include <gtest/gtest.h>

#include <map>

#include "core/btree/builder.h"
#include "sim/rng.h"
#include "tests/btree_fixture.h"

namespace pdsim::btree {
namespace {

using namespace test_fixture;  // NOLINT: the fixture's names, test-local
using testing::value_of;

class BuilderTest : public BtreeTest, public ::testing::WithParamInterface<std::tuple<std::uint32_t, std::uint64_t>> {};

// Builds a counted tree of n entries with keys 3i + 1, checks it, then edits it.
TEST_P(BuilderTest, BuildsExactlyWhatWasPushedAndStaysEditable) {
  const auto [value_size, n] = GetParam();
  Info info = counted(value_size);
  std::map<std::uint64_t, std::uint64_t> model;
  Builder b(info);
  for (std::uint64_t i = 0; i < n; ++i) {
    const std::uint64_t id = 1000 + i;
    ++refs.counts[id];  // push takes the caller's reference over, as insert does
    ASSERT_OK(b.push(3 * i + 1, value_of(id, value_size)));
    model[3 * i + 1] = id;
  }
  EXPECT_EQ(b.size(), n);
  BlockNr root = U(b.finish());
  check_all({{&info, root}}, /*check_data=*/true);
  if (HasFatalFailure()) return;
  std::vector<std::uint64_t> want;
  for (const auto& [k, v] : model) want.push_back(k);
  EXPECT_EQ(keys_of(env.tm, info, root), want);
  for (const auto& [k, id] : model) {
    if (k % 97 != 1) continue;
    auto v = get(info, root, k);
    ASSERT_TRUE(v.has_value()) << k;
    EXPECT_EQ(*v, value_of(id, value_size));
  }
  // Full nodes must split cleanly on insert, and removes must rebalance what the builder made.
  sim::Rng rng(n + value_size);
  for (int i = 0; i < 300; ++i) {
    const std::uint64_t k = rng.below(3 * n + 10);
    if (rng.below(2) == 0) {
      root = put_counted(info, root, k, 5000000 + static_cast<std::uint64_t>(i));
      model[k] = 5000000 + static_cast<std::uint64_t>(i);
    } else if (model.count(k) != 0) {
      root = del_key(info, root, k);
      model.erase(k);
    }
  }
  check_all({{&info, root}}, /*check_data=*/true);
  want.clear();
  for (const auto& [k, v] : model) want.push_back(k);
  EXPECT_EQ(keys_of(env.tm, info, root), want);
}

// 8-byte values: 252 per leaf; 64-byte values: 54 per leaf, so 20000 entries make three levels.
INSTANTIATE_TEST_SUITE_P(Sizes, BuilderTest,
                         ::testing::Values(std::tuple{8u, 0ull}, std::tuple{8u, 1ull}, std::tuple{8u, 251ull},
                                           std::tuple{8u, 252ull}, std::tuple{8u, 253ull}, std::tuple{8u, 504ull},
                                           std::tuple{8u, 505ull}, std::tuple{8u, 5000ull}, std::tuple{64u, 54ull},
                                           std::tuple{64u, 55ull}, std::tuple{64u, 54ull * 252},
                                           std::tuple{64u, 54ull * 252 + 1}, std::tuple{64u, 20000ull}));

TEST_F(BtreeTest, BuilderLeavesNoUnderfullLastNode) {
  // 253 entries: a full leaf and one of 1 would be the naive split; both must end near half.
  Info info = plain(8);
  Builder b(info);
  for (std::uint64_t k = 0; k < 253; ++k) ASSERT_OK(b.push(k, value_of(k, 8)));
  const BlockNr root = U(b.finish());
  auto shape = shape_of(root);
  ASSERT_EQ(shape.size(), 2u);
  ASSERT_EQ(shape[1].size(), 2u);
  EXPECT_EQ(shape[1][0].nr, 127u);
  EXPECT_EQ(shape[1][1].nr, 126u);
  EXPECT_EQ(shape[0][0].keys, (std::vector<std::uint64_t>{0, 127}));
}

TEST_F(BtreeTest, BuilderRefusesKeysThatDoNotAscend) {
  Info info = plain(8);
  Builder b(info);
  ASSERT_OK(b.push(5, value_of(5, 8)));
  auto same = b.push(5, value_of(6, 8));
  ASSERT_FALSE(same.ok());
  EXPECT_EQ(same.error().kind(), ErrorKind::invalid);
  EXPECT_FALSE(b.push(4, value_of(4, 8)).ok());
  EXPECT_FALSE(b.push(6, value_of(6, 4)).ok()) << "a value of the wrong size";
  ASSERT_OK(b.push(6, value_of(6, 8)));
  const BlockNr root = U(b.finish());
  EXPECT_EQ(keys_of(env.tm, info, root), (std::vector<std::uint64_t>{5, 6}));
  EXPECT_FALSE(b.push(7, value_of(7, 8)).ok()) << "push after finish";
  check_all({{&info, root}});
}

}  // namespace
}  // namespace pdsim::btree
