// SPDX-License-Identifier: GPL-2.0-or-later
// Insert (algorithms.md §5.3): a shadow spine from the root down, making room pre-emptively:
// a full root splits beneath; a full non-root node first tries to move entries to an unshared
// sibling with at least 8 free slots (left first), else splits one into two (at the edges, or
// when a sibling is shared, or the parent is small) or two into three.
#include <fmt/format.h>

#include "core/common/marks.h"
#include "core/btree/btree_internal.h"

namespace pdsim::btree {
namespace {

using detail::Entries;
using detail::ShadowSpine;

constexpr std::uint32_t kSpaceThreshold = 8;

bool contains_key(const NodeView& n, std::uint64_t key) {
  const long i = n.lower_bound(key);
  return i >= 0 && n.key(static_cast<std::size_t>(i)) == key;
}

bool has_space_for_insert(const NodeView& n, std::uint64_t key) {
  if (n.nr_entries() < n.max_entries()) return true;
  return n.is_leaf() && contains_key(n, key);  // an overwrite needs no room
}

// Spreads the entries of left + right evenly: left gets floor(total/2).
void redistribute2(NodeEdit& left, NodeEdit& right) {
  Entries e;
  e.append(left, 0, left.nr_entries());
  e.append(right, 0, right.nr_entries());
  const std::size_t total = e.size();
  const std::size_t nl = total / 2;
  e.write(left, 0, nl);
  e.write(right, nl, total - nl);
}

Result<WriteRef> new_node_like(Info& info, const NodeView& model) {
  PDSIM_TRY_ASSIGN(WriteRef w, info.tm->new_block(&node_validator()));
  NodeEdit n(w.data());
  n.init(model.flags(), model.value_size());
  n.set_max_entries(model.max_entries());
  return w;
}

// Shadows the child at `index` of `parent` and points the parent at the shadow.
Result<WriteRef> shadow_child(Info& info, const ValueType& vt, NodeEdit& parent, std::size_t index) {
  PDSIM_TRY_ASSIGN(WriteRef w, detail::shadow_node(info, parent.value64(index), vt));
  parent.set_value64(index, w.location());
  return w;
}

Status split_beneath(Info& info, ShadowSpine& s) {
  PDSIM_MARK("btree.split_beneath");
  NodeEdit pn(s.current().data());
  const std::uint32_t nr = pn.nr_entries();
  const std::uint32_t nr_left = nr / 2;
  PDSIM_TRY_ASSIGN(WriteRef left, new_node_like(info, pn));
  PDSIM_TRY_ASSIGN(WriteRef right, new_node_like(info, pn));
  NodeEdit ln(left.data()), rn(right.data());
  Entries e;
  e.append(pn, 0, nr);
  e.write(ln, 0, nr_left);
  e.write(rn, nr_left, nr - nr_left);
  // The root (already a shadow) becomes an internal node over the two; its location is kept.
  pn.init(kInternalFlag, 8);
  pn.set_nr_entries(2);
  pn.set_key(0, ln.key(0));
  pn.set_value64(0, left.location());
  pn.set_key(1, rn.key(0));
  pn.set_value64(1, right.location());
  return {};
}

Result<std::uint32_t> free_space(Info& info, BlockNr b) {
  PDSIM_TRY_ASSIGN(ReadRef r, info.tm->read_lock(b, &node_validator()));
  NodeView n(r.data());
  return n.max_entries() - n.nr_entries();
}

Status rebalance_left(Info& info, ShadowSpine& s, const ValueType& vt, std::size_t parent_index, std::uint64_t key) {
  PDSIM_MARK("btree.insert_redistribute");
  NodeEdit parent(s.parent().data());
  PDSIM_TRY_ASSIGN(WriteRef sib, shadow_child(info, vt, parent, parent_index - 1));
  NodeEdit left(sib.data()), right(s.current().data());
  redistribute2(left, right);
  parent.set_key(parent_index, right.key(0));
  if (key < right.key(0)) s.replace_current(std::move(sib));
  return {};
}

Status rebalance_right(Info& info, ShadowSpine& s, const ValueType& vt, std::size_t parent_index, std::uint64_t key) {
  PDSIM_MARK("btree.insert_redistribute");
  NodeEdit parent(s.parent().data());
  PDSIM_TRY_ASSIGN(WriteRef sib, shadow_child(info, vt, parent, parent_index + 1));
  NodeEdit left(s.current().data()), right(sib.data());
  redistribute2(left, right);
  parent.set_key(parent_index + 1, right.key(0));
  if (key >= right.key(0)) s.replace_current(std::move(sib));
  return {};
}

Status split_one_into_two(Info& info, ShadowSpine& s, std::size_t parent_index, std::uint64_t key) {
  PDSIM_MARK("btree.split");
  NodeEdit ln(s.current().data());
  PDSIM_TRY_ASSIGN(WriteRef right, new_node_like(info, ln));
  NodeEdit rn(right.data());
  redistribute2(ln, rn);
  NodeEdit parent(s.parent().data());
  detail::insert_at(parent, parent_index + 1, rn.key(0), detail::le64(right.location()));
  if (key >= rn.key(0)) s.replace_current(std::move(right));
  return {};
}

Status split_two_into_three(Info& info, ShadowSpine& s, const ValueType& vt, std::size_t parent_index, std::uint64_t key) {
  PDSIM_MARK("btree.split_two_into_three");
  NodeEdit parent(s.parent().data());
  // The current node has both siblings here; it pairs with its left one.
  PDSIM_TRY_ASSIGN(WriteRef left, shadow_child(info, vt, parent, parent_index - 1));
  NodeEdit ln(left.data());
  PDSIM_TRY_ASSIGN(WriteRef middle, new_node_like(info, ln));
  NodeEdit mn(middle.data()), rn(s.current().data());
  Entries e;
  e.append(ln, 0, ln.nr_entries());
  e.append(rn, 0, rn.nr_entries());
  const std::size_t total = e.size();
  const std::size_t nl = total / 3;
  const std::size_t nm = (total - nl) / 2;
  e.write(ln, 0, nl);
  e.write(mn, nl, nm);
  e.write(rn, nl + nm, total - nl - nm);
  parent.set_key(parent_index, rn.key(0));
  detail::insert_at(parent, parent_index, mn.key(0), detail::le64(middle.location()));
  if (key < mn.key(0)) s.replace_current(std::move(left));
  else if (key < rn.key(0)) s.replace_current(std::move(middle));
  return {};
}

Status rebalance_or_split(Info& info, ShadowSpine& s, const ValueType& vt, std::size_t parent_index, std::uint64_t key) {
  const NodeView parent(s.parent().data());
  const std::size_t nr_parent = parent.nr_entries();
  bool left_shared = false, right_shared = false;
  if (parent_index > 0) {
    const BlockNr left_b = parent.value64(parent_index - 1);
    PDSIM_TRY_ASSIGN(left_shared, info.tm->block_is_shared(left_b));
    if (!left_shared) {
      PDSIM_TRY_ASSIGN(std::uint32_t free, free_space(info, left_b));
      if (free >= kSpaceThreshold) return rebalance_left(info, s, vt, parent_index, key);
    }
  }
  if (parent_index + 1 < nr_parent) {
    const BlockNr right_b = parent.value64(parent_index + 1);
    PDSIM_TRY_ASSIGN(right_shared, info.tm->block_is_shared(right_b));
    if (!right_shared) {
      PDSIM_TRY_ASSIGN(std::uint32_t free, free_space(info, right_b));
      if (free >= kSpaceThreshold) return rebalance_right(info, s, vt, parent_index, key);
    }
  }
  if (left_shared || right_shared) {
    PDSIM_MARK("btree.split.shared_sibling");
    return split_one_into_two(info, s, parent_index, key);
  }
  if (nr_parent <= 2 || parent_index == 0 || parent_index + 1 == nr_parent) return split_one_into_two(info, s, parent_index, key);
  return split_two_into_three(info, s, vt, parent_index, key);
}

// Descends one level's tree from `root` to the leaf where `key` goes, shadowing and making room.
// `index` comes in as the parent slot that points at root (or -1 at the top) and goes out as the
// key's position in the leaf (the existing entry, or where to insert).
Status insert_raw(Info& info, ShadowSpine& s, BlockNr root, const ValueType& vt, std::uint64_t key, long& index) {
  long i = index;
  bool top = true;
  for (unsigned depth = 0;; ++depth) {
    if (depth >= detail::kMaxDepth) return Error::corruption(fmt::format("btree is deeper than {} levels", detail::kMaxDepth));
    PDSIM_TRY(s.step(root, vt));
    if (s.has_parent() && i >= 0) NodeEdit(s.parent().data()).set_value64(static_cast<std::size_t>(i), s.current().location());
    if (!has_space_for_insert(NodeView(s.current().data()), key)) {
      if (top) PDSIM_TRY(split_beneath(info, s));
      else PDSIM_TRY(rebalance_or_split(info, s, vt, static_cast<std::size_t>(i), key));
    }
    NodeEdit node(s.current().data());
    i = node.lower_bound(key);
    if (node.is_leaf()) {
      if (i < 0 || node.key(static_cast<std::size_t>(i)) != key) ++i;
      index = i;
      return {};
    }
    if (i < 0) {  // below every key: lower the bound on the way down
      node.set_key(0, key);
      i = 0;
    }
    root = node.value64(static_cast<std::size_t>(i));
    top = false;
  }
}

}  // namespace

Result<InsertResult> insert(Info& info, BlockNr root, std::span<const std::uint64_t> keys, ValueSpan value) {
  if (keys.size() != info.levels)
    return Error::invalid(fmt::format("{} keys given for a {}-level btree", keys.size(), info.levels));
  if (value.size() != info.value_type.size)
    return Error::invalid(fmt::format("value of {} bytes for a btree of {}-byte values", value.size(), info.value_type.size));
  const ValueType upper = le64_value_type(*info.tm);
  ShadowSpine s(info);
  long index = -1;
  BlockNr block = root;
  for (unsigned level = 0; level + 1 < info.levels; ++level) {
    PDSIM_TRY(insert_raw(info, s, block, upper, keys[level], index));
    NodeEdit n(s.current().data());
    PDSIM_TRY(detail::check_value_size(n, s.current().location(), 8));
    const bool need_insert = index >= static_cast<long>(n.nr_entries()) || n.key(static_cast<std::size_t>(index)) != keys[level];
    if (need_insert) {
      // A missing subtree is created empty, sized for the level below (8 for an upper level,
      // the user's value size for the last).
      const std::uint32_t below = level + 2 < info.levels ? 8u : info.value_type.size;
      PDSIM_TRY_ASSIGN(BlockNr subtree, create_empty_with_value_size(info, below));
      detail::insert_at(n, static_cast<std::size_t>(index), keys[level], detail::le64(subtree));
    }
    block = n.value64(static_cast<std::size_t>(index));
  }
  PDSIM_TRY(insert_raw(info, s, block, info.value_type, keys.back(), index));
  NodeEdit n(s.current().data());
  PDSIM_TRY(detail::check_value_size(n, s.current().location(), info.value_type.size));
  const auto at = static_cast<std::size_t>(index);
  const bool need_insert = at >= n.nr_entries() || n.key(at) != keys.back();
  if (need_insert) {
    detail::insert_at(n, at, keys.back(), value);  // the caller's reference moves into the tree
  } else {
    const ValueType& vt = info.value_type;
    ValueSpan old(n.value_ptr(at), n.value_size());
    if (vt.dec && (!vt.equal || !vt.equal(old, value))) PDSIM_TRY(vt.dec(old, 1));
    n.set_value(at, value);
  }
  return InsertResult{*s.root(), need_insert};
}

}  // namespace pdsim::btree
