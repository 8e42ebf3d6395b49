// SPDX-License-Identifier: GPL-2.0-or-later
// Helpers for btree tests and properties: an environment (SimDisk → BlockManager → CoreSpaceMap →
// TransactionManager, block 0 reserved for a superblock), a commit, a counting value type that
// keeps "data block" reference counts, a structure checker that reads every node of a tree and
// checks the invariants of ondisk-format.md §4, and a census that derives every block's expected
// reference count from the live trees.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "core/block/block_manager.h"
#include "core/btree/btree.h"
#include "core/sm/core_space_map.h"
#include "core/tm/transaction_manager.h"
#include "sim/sim_disk.h"

namespace pdsim::btree::testing {

struct Env {
  explicit Env(BlockNr nr_blocks = 4096, std::uint64_t seed = 1)
      : disk(nr_blocks, seed), bm(disk), sm(nr_blocks), tm(bm, &sm) {
    disk.set_logging(false);
    // Block 0 is the superblock written at commit: never hand it to a tree.
    if (!sm.set_count(0, 1)) std::abort();
  }
  sim::SimDisk disk;
  BlockManager bm;
  CoreSpaceMap sm;
  TransactionManager tm;

  [[nodiscard]] Status commit() {
    PDSIM_TRY(tm.pre_commit());
    PDSIM_TRY_ASSIGN(WriteRef sb, bm.write_lock_zero(0, nullptr));
    return tm.commit(std::move(sb));
  }
  // Blocks other than the superblock with a non-zero count.
  [[nodiscard]] std::size_t live_blocks() const {
    std::size_t n = 0;
    for (std::size_t b = 1; b < sm.counts().size(); ++b) n += sm.counts()[b] != 0;
    return n;
  }
};

inline Value value_of(std::uint64_t id, std::uint32_t size) {
  Value v(size, 0);
  std::memcpy(v.data(), &id, std::min<std::size_t>(8, size));
  for (std::size_t i = 8; i < size; ++i) v[i] = static_cast<std::uint8_t>(id * 31 + i);
  return v;
}
inline std::uint64_t id_of(ValueSpan v) {
  std::uint64_t id = 0;
  std::memcpy(&id, v.data(), std::min<std::size_t>(8, v.size()));
  return id;
}

// Values whose first 8 bytes name a "data block" with a reference count kept here; dec below zero
// fails like a space map's.
struct DataRefs {
  std::map<std::uint64_t, std::uint32_t> counts;
  std::uint64_t inc_calls = 0;
  std::uint64_t dec_calls = 0;

  // equal: "id" compares the first 8 bytes only (like thin's block_time), "bytes" all of them,
  // "none" leaves it out.
  ValueType type(std::uint32_t size, const std::string& equal = "bytes") {
    ValueType vt;
    vt.size = size;
    vt.inc = [this, size](ValueSpan values, std::size_t count) -> Status {
      ++inc_calls;
      for (std::size_t i = 0; i < count; ++i) ++counts[id_of(values.subspan(i * size, size))];
      return {};
    };
    vt.dec = [this, size](ValueSpan values, std::size_t count) -> Status {
      ++dec_calls;
      for (std::size_t i = 0; i < count; ++i) {
        const std::uint64_t id = id_of(values.subspan(i * size, size));
        auto it = counts.find(id);
        if (it == counts.end() || it->second == 0)
          return Error::invalid(fmt::format("data block {} decremented below zero", id));
        if (--it->second == 0) counts.erase(it);
      }
      return {};
    };
    if (equal == "id") vt.equal = [](ValueSpan a, ValueSpan b) { return id_of(a) == id_of(b); };
    else if (equal == "bytes")
      vt.equal = [](ValueSpan a, ValueSpan b) { return std::equal(a.begin(), a.end(), b.begin(), b.end()); };
    return vt;
  }
};

struct NodeInfo {
  BlockNr block;
  std::uint32_t flags, nr, max, value_size;
  std::vector<std::uint64_t> keys;
};

// Reads a node (read lock released before returning).
inline Result<NodeInfo> read_node(TransactionManager& tm, BlockNr b) {
  PDSIM_TRY_ASSIGN(ReadRef r, tm.read_lock(b, &node_validator()));
  NodeView n(r.data());
  NodeInfo info{b, n.flags(), n.nr_entries(), n.max_entries(), n.value_size(), {}};
  for (std::size_t i = 0; i < n.nr_entries(); ++i) info.keys.push_back(n.key(i));
  return info;
}

// The nodes of one level's tree, level by level from the root (breadth first).
inline Result<std::vector<std::vector<NodeInfo>>> shape(TransactionManager& tm, BlockNr root) {
  std::vector<std::vector<NodeInfo>> levels;
  std::vector<BlockNr> frontier{root};
  while (!frontier.empty()) {
    std::vector<NodeInfo> row;
    std::vector<BlockNr> next;
    for (BlockNr b : frontier) {
      PDSIM_TRY_ASSIGN(NodeInfo info, read_node(tm, b));
      if (info.flags == kInternalFlag) {
        PDSIM_TRY_ASSIGN(ReadRef r, tm.read_lock(b, &node_validator()));
        NodeView n(r.data());
        for (std::size_t i = 0; i < n.nr_entries(); ++i) next.push_back(n.value64(i));
      }
      row.push_back(std::move(info));
    }
    levels.push_back(std::move(row));
    frontier = std::move(next);
  }
  return levels;
}

inline std::vector<std::uint32_t> leaf_sizes(const std::vector<std::vector<NodeInfo>>& s) {
  std::vector<std::uint32_t> out;
  for (const NodeInfo& n : s.back()) out.push_back(n.nr);
  return out;
}

// Every (keys..., value) of a tree, with its structure checked: flags, geometry, strictly
// increasing keys inside the bounds given by the parent, leaves of a level at one depth,
// non-root nodes at least max_entries / 3 - 1 full.
struct TreeContents {
  std::vector<std::pair<std::vector<std::uint64_t>, Value>> entries;
};

inline Status check_tree(TransactionManager& tm, const Info& info, BlockNr root, TreeContents& out) {
  struct Item {
    BlockNr b;
    unsigned level;
    std::size_t depth;
    std::uint64_t lo;
    std::optional<std::uint64_t> hi;
    std::vector<std::uint64_t> prefix;
    bool is_root;
  };
  std::vector<Item> stack{{root, 0, 0, 0, std::nullopt, {}, true}};
  std::map<std::vector<std::uint64_t>, std::size_t> leaf_depth;  // per subtree (prefix)
  std::vector<std::pair<std::vector<std::uint64_t>, Value>> found;
  while (!stack.empty()) {
    Item it = std::move(stack.back());
    stack.pop_back();
    PDSIM_TRY_ASSIGN(ReadRef r, tm.read_lock(it.b, &node_validator()));
    NodeView n(r.data());
    const bool last = it.level + 1 == info.levels;
    auto bad = [&](const std::string& what) {
      return Error::corruption(fmt::format("node {} (level {}, depth {}): {}", it.b, it.level, it.depth, what));
    };
    if (n.flags() != kInternalFlag && n.flags() != kLeafFlag) return bad("bad flags");
    if (n.max_entries() != max_entries_for(n.value_size())) return bad("max_entries does not match value_size");
    if (n.is_internal() && n.value_size() != 8) return bad("internal value_size != 8");
    if (n.is_leaf() && last && n.value_size() != info.value_type.size) return bad("leaf value_size");
    // Non-root nodes stay at >= max/3, except that a remove which collapses a single-child root
    // descends into the new children without rebalancing them (§5.5), so one can end one below.
    if (!it.is_root && n.nr_entries() + 1 < n.max_entries() / 3)
      return bad(fmt::format("underfull: {} < {} - 1", n.nr_entries(), n.max_entries() / 3));
    if (n.is_internal() && n.nr_entries() == 0) return bad("empty internal node");
    for (std::size_t i = 0; i < n.nr_entries(); ++i) {
      const std::uint64_t k = n.key(i);
      if (i > 0 && k <= n.key(i - 1)) return bad("keys not increasing");
      if (k < it.lo || (it.hi && k >= *it.hi)) return bad(fmt::format("key {} outside its parent's bounds", k));
    }
    if (n.is_leaf()) {
      auto [pos, fresh] = leaf_depth.emplace(it.prefix, it.depth);
      if (!fresh && pos->second != it.depth) return bad("leaves at different depths");
      for (std::size_t i = n.nr_entries(); i-- > 0;) {
        std::vector<std::uint64_t> keys = it.prefix;
        keys.push_back(n.key(i));
        if (last) {
          found.emplace_back(keys, Value(n.value_ptr(i), n.value_ptr(i) + info.value_type.size));
        } else {
          stack.push_back({n.value64(i), it.level + 1, 0, 0, std::nullopt, keys, true});
        }
      }
      continue;
    }
    for (std::size_t i = n.nr_entries(); i-- > 0;) {
      std::optional<std::uint64_t> hi = i + 1 < n.nr_entries() ? std::optional<std::uint64_t>(n.key(i + 1)) : it.hi;
      // Parent keys are lower bounds (possibly lowered below the child's first key).
      stack.push_back({n.value64(i), it.level, it.depth + 1, n.key(i), hi, it.prefix, false});
    }
  }
  std::sort(found.begin(), found.end());
  out.entries = std::move(found);
  return {};
}

// Expected reference counts derived from the live trees: each root held once by its owner, each
// child / subtree root once per distinct node that points at it; data ids once per distinct
// bottom leaf entry.
struct Census {
  std::map<BlockNr, std::uint32_t> meta;
  std::map<std::uint64_t, std::uint32_t> data;
};

inline Status census_add(TransactionManager& tm, const Info& info, BlockNr root, Census& c,
                         std::set<BlockNr>& visited) {
  ++c.meta[root];
  std::vector<std::pair<BlockNr, unsigned>> todo;
  if (visited.insert(root).second) todo.emplace_back(root, 0);
  while (!todo.empty()) {
    auto [b, level] = todo.back();
    todo.pop_back();
    PDSIM_TRY_ASSIGN(ReadRef r, tm.read_lock(b, &node_validator()));
    NodeView n(r.data());
    const bool last = level + 1 == info.levels;
    for (std::size_t i = 0; i < n.nr_entries(); ++i) {
      if (n.is_leaf() && last) {
        ++c.data[id_of(n.value(i).subspan(0, info.value_type.size))];
        continue;
      }
      const BlockNr child = n.value64(i);
      ++c.meta[child];
      if (visited.insert(child).second) todo.emplace_back(child, n.is_leaf() ? level + 1 : level);
    }
  }
  return {};
}

// Compares the space map with the census (the superblock, block 0, keeps its reserved 1).
inline std::string compare_counts(const CoreSpaceMap& sm, const Census& c) {
  std::string diffs;
  for (std::size_t b = 1; b < sm.counts().size(); ++b) {
    auto it = c.meta.find(b);
    const std::uint32_t want = it == c.meta.end() ? 0 : it->second;
    if (sm.counts()[b] != want)
      diffs += fmt::format("block {}: count {} expected {}\n", b, sm.counts()[b], want);
  }
  return diffs;
}

inline std::string compare_data(const DataRefs& refs, const Census& c) {
  std::string diffs;
  for (const auto& [id, n] : c.data)
    if (auto it = refs.counts.find(id); it == refs.counts.end() || it->second != n)
      diffs += fmt::format("data {}: count {} expected {}\n", id, it == refs.counts.end() ? 0 : it->second, n);
  for (const auto& [id, n] : refs.counts)
    if (!c.data.count(id)) diffs += fmt::format("data {}: count {} expected 0\n", id, n);
  return diffs;
}

// Reads every block of the census back through a fresh block manager over the same disk with the
// node validator (checksum, blocknr, shape). REQUIRES: the blocks were flushed (a commit).
inline Status check_on_disk(BlockDevice& disk, const Census& c) {
  BlockManager fresh(disk, 64);
  for (const auto& [b, n] : c.meta) {
    (void)n;
    PDSIM_TRY_ASSIGN(ReadRef r, fresh.read_lock(b, &node_validator()));
  }
  return {};
}

}  // namespace pdsim::btree::testing
