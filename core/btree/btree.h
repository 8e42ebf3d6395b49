// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — the copy-on-write btree (algorithms.md §5).
//
// Keys are u64; a k-level tree takes a k-tuple of keys: level 0's leaf values are the roots of
// level-1 trees, and so on; only the last level holds user values. Every mutating call shadows
// its path through the transaction manager and returns the new root. Values are opaque byte
// strings of the tree's value size; a ValueType says how to count references held by values, so
// that shared subtrees (snapshots) keep reference counts exact.
//
// Errors: any error from a mutating call leaves the transaction inconsistent (shadows and count
// changes already made stay); the caller keeps its old root and must abort the transaction.
// "Not found" is not an error for lookups (nullopt); for remove it is ErrorKind::no_data.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "core/btree/node.h"
#include "core/common/endian.h"
#include "core/common/result.h"
#include "core/tm/transaction_manager.h"

namespace pdsim::btree {

using Value = std::vector<std::uint8_t>;
using ValueSpan = std::span<const std::uint8_t>;

// How values hold references (algorithms.md §5.6). Callbacks get `count` values packed back to
// back (count * size bytes). Any callback may be empty. Unlike the kernel's void callbacks,
// ours return a Status: no count change may fail silently.
struct ValueType {
  std::uint32_t size = 8;
  std::function<Status(ValueSpan values, std::size_t count)> inc;
  std::function<Status(ValueSpan values, std::size_t count)> dec;
  std::function<bool(ValueSpan a, ValueSpan b)> equal;
};

// Upper levels of a multi-level tree: values are subtree roots (u64 LE) on the metadata device;
// inc/dec adjust those roots' counts (the subtree is not deleted), equal is bytewise.
[[nodiscard]] ValueType le64_value_type(TransactionManager& tm);
// A value type with no reference counting (space-map index and overflow trees, device details).
[[nodiscard]] ValueType plain_value_type(std::uint32_t size);

// A u64 value as trees store them (little-endian).
[[nodiscard]] inline Value u64_value(std::uint64_t v) {
  Value out(8);
  store_le<std::uint64_t>(out.data(), v);
  return out;
}

struct Info {
  TransactionManager* tm = nullptr;
  unsigned levels = 1;
  ValueType value_type;  // the last level's
};

// A new, empty tree: a single leaf root with nr_entries = 0 and the value type's size (8 for the
// root of a multi-level tree, which holds subtree roots). ErrorKind::invalid for a value size
// that does not fit a node.
[[nodiscard]] Result<BlockNr> create_empty(Info& info);
// The same with an explicit leaf value size (subtrees of a multi-level tree).
[[nodiscard]] Result<BlockNr> create_empty_with_value_size(Info& info, std::uint32_t value_size);

// Exact lookup (one key per level). nullopt when any level lacks its key.
[[nodiscard]] Result<std::optional<Value>> lookup(Info& info, BlockNr root, std::span<const std::uint64_t> keys);

struct Entry {
  std::uint64_t key;
  Value value;
};
// Exact match on the upper levels; on the last level the first key >= keys.back(). nullopt if none.
[[nodiscard]] Result<std::optional<Entry>> lookup_next(Info& info, BlockNr root, std::span<const std::uint64_t> keys);

// find_lowest / find_highest (§5.2): follows the first / last entry down every level; returns the
// keys found, one per level, stopping at the first empty node (so an empty tree gives no keys).
[[nodiscard]] Result<std::vector<std::uint64_t>> find_lowest(Info& info, BlockNr root);
[[nodiscard]] Result<std::vector<std::uint64_t>> find_highest(Info& info, BlockNr root);

struct InsertResult {
  BlockNr root;
  bool inserted;  // true: a new key on the last level; false: an existing value was overwritten
};
// Insert or overwrite (§5.3). A new value's reference is transferred into the tree (no inc); an
// overwritten value is dec'ed unless equal() says old and new are the same.
[[nodiscard]] Result<InsertResult> insert(Info& info, BlockNr root, std::span<const std::uint64_t> keys, ValueSpan value);

// Remove one key (§5.5), dec'ing its value. Absent key: ErrorKind::no_data (after shadowing the
// path, exactly as the kernel does; the caller must abort).
[[nodiscard]] Result<BlockNr> remove(Info& info, BlockNr root, std::span<const std::uint64_t> keys);

struct RemoveLeavesResult {
  BlockNr root;
  std::uint64_t removed;
};
// dm_btree_remove_leaves (§5.5): removes keys.back() and, while present, the keys that follow it,
// below end_key; stops at the first gap (callers loop for a sparse range). The root is always
// updated.
[[nodiscard]] Result<RemoveLeavesResult> remove_leaves(Info& info, BlockNr root, std::span<const std::uint64_t> keys,
                                                       std::uint64_t end_key);

// Deletes a whole tree (§5.7): shared nodes are only decremented; unshared bottom leaves dec
// their values; every unshared node is freed.
[[nodiscard]] Status del(Info& info, BlockNr root);

// Visits every last-level entry of a single-level tree in key order; return false to stop.
using WalkFn = std::function<Result<bool>(std::uint64_t key, ValueSpan value)>;
[[nodiscard]] Status walk(Info& info, BlockNr root, const WalkFn& fn);

// Overwrite-leaf helper (§5.4), single-level only: shadows down to the leaf holding `key` (which
// must exist: ErrorKind::invalid otherwise) and returns it write-locked with the key's index.
struct LeafRef {
  BlockNr root;
  WriteRef leaf;
  std::size_t index;
};
[[nodiscard]] Result<LeafRef> shadow_to_leaf(Info& info, BlockNr root, std::uint64_t key);

// Iterates the entries of a single-level tree in key order with an explicit stack of at most 16
// nodes (read locks are taken per step and released: no lock is held between calls).
class Cursor {
 public:
  // Positions on the first entry; nullopt-like state (valid() == false) on an empty tree.
  [[nodiscard]] static Result<Cursor> begin(Info& info, BlockNr root);
  [[nodiscard]] bool valid() const { return valid_; }
  [[nodiscard]] std::uint64_t key() const { return key_; }
  [[nodiscard]] const Value& value() const { return value_; }
  // Moves to the next entry; valid() becomes false past the last one. Calling next() on an
  // invalid cursor is ErrorKind::no_data; skip(n) stops quietly at the end.
  [[nodiscard]] Status next();
  [[nodiscard]] Status skip(std::uint64_t n);

 private:
  struct Frame {
    BlockNr block;
    std::uint32_t index;
    std::uint32_t count;
  };
  [[nodiscard]] Status descend_to_leaf();
  Info* info_ = nullptr;
  std::vector<Frame> stack_;
  bool valid_ = false;
  std::uint64_t key_ = 0;
  Value value_;
};

}  // namespace pdsim::btree
