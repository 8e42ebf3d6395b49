// SPDX-License-Identifier: GPL-2.0-or-later
// The fixture shared by the btree unit tests: an environment over a SimDisk, a counting value
// type, helpers to insert / look up / remove single keys, and check_all(), which checks the
// structure of the live trees, every block's reference count against a census of them, and
// every node read back from the disk through a fresh block manager.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <stdexcept>
#include <string>

#include "testing/btree_test_util.h"

namespace pdsim::btree {

namespace test_fixture {
using testing::Census;
using testing::DataRefs;
using testing::Env;
using testing::NodeInfo;
using testing::TreeContents;
using testing::value_of;

template <typename T>
T unwrap(Result<T> r, const char* what) {
  if (!r) throw std::runtime_error(std::string(what) + ": " + r.error().to_string());
  return std::move(r).value();
}
#define U(expr) unwrap((expr), #expr)
#define ASSERT_OK(expr)                                                    \
  do {                                                                     \
    auto&& st_ = (expr);                                                   \
    ASSERT_TRUE(st_.ok()) << #expr << ": " << st_.error().to_string();     \
  } while (false)

class BtreeTest : public ::testing::Test {
 protected:
  Env env;
  DataRefs refs;

  Info plain(std::uint32_t vs, unsigned levels = 1) { return Info{&env.tm, levels, plain_value_type(vs)}; }
  Info counted(std::uint32_t vs, unsigned levels = 1, const std::string& equal = "bytes") {
    return Info{&env.tm, levels, refs.type(vs, equal)};
  }
  BlockNr put(Info& info, BlockNr root, std::uint64_t key, std::uint64_t id) {
    const std::uint64_t keys[1] = {key};
    return U(insert(info, root, keys, value_of(id, info.value_type.size))).root;
  }
  BlockNr put2(Info& info, BlockNr root, std::uint64_t k0, std::uint64_t k1, std::uint64_t id) {
    const std::uint64_t keys[2] = {k0, k1};
    return U(insert(info, root, keys, value_of(id, info.value_type.size))).root;
  }
  // A counted insert: the caller's reference to a fresh data id moves into the tree.
  BlockNr put_counted(Info& info, BlockNr root, std::uint64_t key, std::uint64_t id) {
    ++refs.counts[id];
    return put(info, root, key, id);
  }
  std::optional<Value> get(Info& info, BlockNr root, std::uint64_t key) {
    const std::uint64_t keys[1] = {key};
    return U(lookup(info, root, keys));
  }
  BlockNr del_key(Info& info, BlockNr root, std::uint64_t key) {
    const std::uint64_t keys[1] = {key};
    return U(remove(info, root, keys));
  }
  std::vector<std::vector<NodeInfo>> shape_of(BlockNr root) { return U(testing::shape(env.tm, root)); }

  // Structure, counts against the census, and every node read back from the disk.
  void check_all(const std::vector<std::pair<Info*, BlockNr>>& trees, bool check_data = false) {
    ASSERT_OK(env.commit());
    Census c;
    std::set<BlockNr> visited;
    for (auto [info, root] : trees) {
      TreeContents contents;
      ASSERT_OK(testing::check_tree(env.tm, *info, root, contents));
      ASSERT_OK(testing::census_add(env.tm, *info, root, c, visited));
    }
    EXPECT_EQ(testing::compare_counts(env.sm, c), "");
    if (check_data) {
      EXPECT_EQ(testing::compare_data(refs, c), "");
    }
    ASSERT_OK(testing::check_on_disk(env.disk, c));
  }
};

inline std::vector<std::uint64_t> keys_of(TransactionManager& tm, Info& info, BlockNr root) {
  std::vector<std::uint64_t> out;
  auto st = walk(info, root, [&](std::uint64_t k, ValueSpan) -> Result<bool> {
    out.push_back(k);
    return true;
  });
  if (!st) throw std::runtime_error(st.error().to_string());
  (void)tm;
  return out;
}
}  // namespace test_fixture
}  // namespace pdsim::btree
