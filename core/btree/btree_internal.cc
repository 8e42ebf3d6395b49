// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/common/marks.h"
#include "core/btree/btree_internal.h"
#include "core/common/assert.h"

#include <cstring>

#include <fmt/format.h>

namespace pdsim::btree::detail {

void insert_at(NodeEdit& n, std::size_t index, std::uint64_t key, ValueSpan value) {
  const std::size_t nr = n.nr_entries();
  PDSIM_ASSERT(nr < n.max_entries() && index <= nr, "insert into a full node or past its end");
  const std::size_t vs = n.value_size();
  std::uint8_t* keys = n.raw_mut() + kNodeHeaderSize;
  std::memmove(keys + 8 * (index + 1), keys + 8 * index, 8 * (nr - index));
  std::uint8_t* vals = n.value_ptr_mut(0);
  std::memmove(vals + vs * (index + 1), vals + vs * index, vs * (nr - index));
  n.set_key(index, key);
  n.set_value(index, value);
  n.set_nr_entries(static_cast<std::uint32_t>(nr + 1));
}

void delete_at(NodeEdit& n, std::size_t index) {
  const std::size_t nr = n.nr_entries();
  PDSIM_ASSERT(index < nr, "delete past the end of a node");
  const std::size_t vs = n.value_size();
  std::uint8_t* keys = n.raw_mut() + kNodeHeaderSize;
  std::memmove(keys + 8 * index, keys + 8 * (index + 1), 8 * (nr - index - 1));
  std::uint8_t* vals = n.value_ptr_mut(0);
  std::memmove(vals + vs * index, vals + vs * (index + 1), vs * (nr - index - 1));
  n.set_nr_entries(static_cast<std::uint32_t>(nr - 1));
}

void Entries::append(const NodeView& n, std::size_t from, std::size_t count) {
  if (keys.empty()) value_size = n.value_size();
  for (std::size_t i = from; i < from + count; ++i) {
    keys.push_back(n.key(i));
    const std::uint8_t* v = n.value_ptr(i);
    values.insert(values.end(), v, v + value_size);
  }
}

void Entries::write(NodeEdit& n, std::size_t from, std::size_t count) const {
  PDSIM_ASSERT(count <= n.max_entries(), "node filled past its capacity");
  for (std::size_t i = 0; i < count; ++i) {
    n.set_key(i, keys[from + i]);
    std::memcpy(n.value_ptr_mut(i), values.data() + value_size * (from + i), value_size);
  }
  n.set_nr_entries(static_cast<std::uint32_t>(count));
}

Status inc_children(TransactionManager& tm, const NodeView& n, const ValueType& vt) {
  PDSIM_MARK("btree.shadow_inc_children");
  const std::uint32_t nr = n.nr_entries();
  if (n.is_internal()) {
    for (std::uint32_t i = 0; i < nr; ++i) PDSIM_TRY(tm.inc(n.value64(i)));
    return {};
  }
  if (vt.inc && nr > 0) return vt.inc(ValueSpan(n.value_ptr(0), static_cast<std::size_t>(nr) * n.value_size()), nr);
  return {};
}

Result<WriteRef> shadow_node(Info& info, BlockNr b, const ValueType& vt, bool* was_shared) {
  PDSIM_TRY_ASSIGN(TransactionManager::Shadow sh, info.tm->shadow_block(b, &node_validator()));
  if (was_shared) *was_shared = sh.inc_children;
  if (sh.inc_children) PDSIM_TRY(inc_children(*info.tm, NodeView(sh.block.data()), vt));
  return std::move(sh.block);
}

Status check_value_size(const NodeView& n, BlockNr b, std::uint32_t expected) {
  const std::uint32_t want = n.is_internal() ? 8 : expected;
  if (n.value_size() != want)
    return Error::corruption(fmt::format("btree node {}: value_size {} where {} was expected", b, n.value_size(), want));
  return {};
}

Status ShadowSpine::step(BlockNr b, const ValueType& vt) {
  if (count_ == 2) {
    nodes_[0].reset();
    nodes_[0] = std::move(nodes_[1]);
    nodes_[1].reset();
    count_ = 1;
  }
  PDSIM_TRY_ASSIGN(WriteRef w, shadow_node(*info_, b, vt));
  if (!root_) root_ = w.location();
  nodes_[count_++] = std::move(w);
  return {};
}

WriteRef ShadowSpine::take_current() {
  WriteRef w = std::move(*nodes_[count_ - 1]);
  nodes_[0].reset();
  nodes_[1].reset();
  count_ = 0;
  return w;
}

}  // namespace pdsim::btree::detail
