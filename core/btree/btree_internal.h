// SPDX-License-Identifier: GPL-2.0-or-later
// Internals shared by the btree's read, insert and remove paths: entry moves within and between
// nodes, child-count bookkeeping for shadowed copies, and the shadow spine.
#pragma once

#include <optional>
#include <vector>

#include "core/btree/btree.h"

namespace pdsim::btree::detail {

inline constexpr unsigned kMaxDepth = 64;

// Inserts (key, value) at index, shifting later entries up. REQUIRES: nr < max.
void insert_at(NodeEdit& n, std::size_t index, std::uint64_t key, ValueSpan value);
// Deletes the entry at index, shifting later entries down.
void delete_at(NodeEdit& n, std::size_t index);

// The entries of several nodes, in order, to be spread over nodes again.
struct Entries {
  std::uint32_t value_size = 0;
  std::vector<std::uint64_t> keys;
  std::vector<std::uint8_t> values;
  void append(const NodeView& n, std::size_t from, std::size_t count);
  // Writes entries [from, from + count) into n (replacing its contents).
  void write(NodeEdit& n, std::size_t from, std::size_t count) const;
  [[nodiscard]] std::size_t size() const { return keys.size(); }
};

// After shadowing a shared node, the copy is a new owner of everything it points to.
[[nodiscard]] Status inc_children(TransactionManager& tm, const NodeView& n, const ValueType& vt);

// Shadows a node and increments its children when the original was shared (reported in
// *was_shared when given: the coverage marks tell shared neighbours from unshared ones).
[[nodiscard]] Result<WriteRef> shadow_node(Info& info, BlockNr b, const ValueType& vt, bool* was_shared = nullptr);

// Checks that a node we are about to use holds values of the size we expect.
[[nodiscard]] Status check_value_size(const NodeView& n, BlockNr b, std::uint32_t expected);

// At most two nodes are held: the current one and its parent. The first node ever shadowed is
// the new root.
class ShadowSpine {
 public:
  explicit ShadowSpine(Info& info) : info_(&info) {}
  [[nodiscard]] Status step(BlockNr b, const ValueType& vt);
  [[nodiscard]] bool has_parent() const { return count_ == 2; }
  [[nodiscard]] WriteRef& current() { return *nodes_[count_ - 1]; }
  [[nodiscard]] WriteRef& parent() { return *nodes_[0]; }
  void replace_current(WriteRef w) { nodes_[count_ - 1] = std::move(w); }
  [[nodiscard]] std::optional<BlockNr> root() const { return root_; }
  // Releases the parent, keeping only the current node (used by the overwrite-leaf helper).
  [[nodiscard]] WriteRef take_current();

 private:
  Info* info_;
  std::optional<WriteRef> nodes_[2];
  unsigned count_ = 0;
  std::optional<BlockNr> root_;
};

[[nodiscard]] inline std::vector<std::uint8_t> le64(std::uint64_t v) {
  std::vector<std::uint8_t> out(8);
  store_le<std::uint64_t>(out.data(), v);
  return out;
}

}  // namespace pdsim::btree::detail
