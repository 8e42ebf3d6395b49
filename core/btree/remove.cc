// SPDX-License-Identifier: GPL-2.0-or-later
// Remove (algorithms.md §5.5): a shadow spine from the root down that rebalances the children of
// every internal node before entering one, so that the child always has more than the minimum:
// a single-child root collapses into its child; otherwise the child is merged with or takes
// entries from one sibling (rebalance2) or both (rebalance3). Also remove_leaves and the
// overwrite-leaf helper used by the space maps.
#include <fmt/format.h>

#include "core/common/marks.h"
#include "core/btree/btree_internal.h"

namespace pdsim::btree {
namespace {

using detail::Entries;
using detail::ShadowSpine;

struct Child {
  std::size_t index;
  WriteRef block;
  bool shared;  // the node was shared (with a snapshot) before this shadow
};

Result<Child> init_child(Info& info, const ValueType& vt, NodeEdit& parent, std::size_t index) {
  bool shared = false;
  PDSIM_TRY_ASSIGN(WriteRef w, detail::shadow_node(info, parent.value64(index), vt, &shared));
  parent.set_value64(index, w.location());
  return Child{index, std::move(w), shared};
}

std::uint32_t merge_threshold(const NodeView& n) { return n.max_entries() / 3; }

Status rebalance2_nodes(Info& info, NodeEdit& parent, Child& l, Child& r) {
  NodeEdit left(l.block.data()), right(r.block.data());
  const std::uint32_t nl = left.nr_entries(), nr = right.nr_entries();
  const bool shared = l.shared || r.shared;
  if (nl + nr < 2 * (merge_threshold(left) + 1)) {
    if (shared) PDSIM_MARK("btree.rebalance2_merge.shared");
    else PDSIM_MARK("btree.rebalance2_merge.unshared");
    if (left.value_size() != right.value_size())
      return Error::corruption(fmt::format("btree nodes {} and {} differ in value size", l.block.location(), r.block.location()));
    Entries e;
    e.append(left, 0, nl);
    e.append(right, 0, nr);
    if (e.size() > left.max_entries())
      return Error::corruption(fmt::format("btree node {}: merge would overflow", l.block.location()));
    e.write(left, 0, e.size());
    detail::delete_at(parent, r.index);
    // Right's children now belong to left: only right itself loses its reference.
    const BlockNr gone = r.block.location();
    r.block.release();
    return info.tm->dec(gone);
  }
  if (left.max_entries() != right.max_entries())
    return Error::corruption(fmt::format("btree nodes {} and {} differ in max_entries", l.block.location(), r.block.location()));
  if (shared) PDSIM_MARK("btree.rebalance2_redistribute.shared");
  else PDSIM_MARK("btree.rebalance2_redistribute.unshared");
  if (nl == (nl + nr) / 2) {  // already where it would go: nothing moves (the kernel shifts by 0)
    parent.set_key(r.index, right.key(0));
    return {};
  }
  Entries e;
  e.append(left, 0, nl);
  e.append(right, 0, nr);
  const std::size_t total = e.size();
  e.write(left, 0, total / 2);
  e.write(right, total / 2, total - total / 2);
  parent.set_key(r.index, right.key(0));
  return {};
}

Status rebalance2(Info& info, ShadowSpine& s, const ValueType& vt, std::size_t left_index) {
  PDSIM_MARK("btree.rebalance2");
  NodeEdit parent(s.current().data());
  PDSIM_TRY_ASSIGN(Child l, init_child(info, vt, parent, left_index));
  PDSIM_TRY_ASSIGN(Child r, init_child(info, vt, parent, left_index + 1));
  return rebalance2_nodes(info, parent, l, r);
}

Status rebalance3(Info& info, ShadowSpine& s, const ValueType& vt, std::size_t left_index) {
  PDSIM_MARK("btree.rebalance3");
  NodeEdit parent(s.current().data());
  PDSIM_TRY_ASSIGN(Child l, init_child(info, vt, parent, left_index));
  PDSIM_TRY_ASSIGN(Child c, init_child(info, vt, parent, left_index + 1));
  PDSIM_TRY_ASSIGN(Child r, init_child(info, vt, parent, left_index + 2));
  NodeEdit left(l.block.data()), center(c.block.data()), right(r.block.data());
  if (left.max_entries() != center.max_entries() || center.max_entries() != right.max_entries())
    return Error::corruption(fmt::format("btree nodes {}, {}, {} differ in max_entries", l.block.location(),
                                         c.block.location(), r.block.location()));
  const std::uint32_t nl = left.nr_entries(), nc = center.nr_entries(), nr = right.nr_entries();
  const std::uint32_t total = nl + nc + nr;
  const bool shared = l.shared || c.shared || r.shared;
  const std::uint32_t target_right = total / 3;
  const std::uint32_t target_left = target_right + (target_right * 3 != total ? 1 : 0);
  const std::uint32_t target_center = total - target_left - target_right;
  const bool merge = total < merge_threshold(left) * 4 + 1;
  if (!merge && nl == target_left && nc == target_center) {  // already balanced: nothing moves
    if (shared) PDSIM_MARK("btree.rebalance3_redistribute.shared");
    else PDSIM_MARK("btree.rebalance3_redistribute.unshared");
    parent.set_key(c.index, center.key(0));
    parent.set_key(r.index, right.key(0));
    return {};
  }
  Entries e;
  e.append(left, 0, nl);
  e.append(center, 0, nc);
  e.append(right, 0, nr);
  if (merge) {
    if (shared) PDSIM_MARK("btree.rebalance3_merge.shared");
    else PDSIM_MARK("btree.rebalance3_merge.unshared");
    // Delete the centre: as much of it as fits goes to left, the rest to the front of right.
    const std::uint32_t to_left = std::min(left.max_entries() - nl, nc);
    e.write(left, 0, nl + to_left);
    e.write(right, nl + to_left, total - nl - to_left);
    parent.set_key(r.index, right.key(0));
    detail::delete_at(parent, c.index);
    r.index -= 1;
    const BlockNr gone = c.block.location();
    c.block.release();
    PDSIM_TRY(info.tm->dec(gone));
    return rebalance2_nodes(info, parent, l, r);
  }
  if (shared) PDSIM_MARK("btree.rebalance3_redistribute.shared");
  else PDSIM_MARK("btree.rebalance3_redistribute.unshared");
  e.write(left, 0, target_left);
  e.write(center, target_left, target_center);
  e.write(right, target_left + target_center, target_right);
  parent.set_key(c.index, center.key(0));
  parent.set_key(r.index, right.key(0));
  return {};
}

Status rebalance_children(Info& info, ShadowSpine& s, const ValueType& vt, std::uint64_t key) {
  NodeEdit n(s.current().data());
  if (n.nr_entries() == 1) {
    // Only a level's root can have one entry: collapse the child into it (the tree loses a level).
    const BlockNr child = n.value64(0);
    PDSIM_TRY_ASSIGN(bool shared, info.tm->block_is_shared(child));
    if (shared) PDSIM_MARK("btree.collapse.shared");
    else PDSIM_MARK("btree.collapse.unshared");
    PDSIM_TRY_ASSIGN(ReadRef r, info.tm->read_lock(child, &node_validator()));
    std::copy(r.data().begin(), r.data().end(), n.raw_mut());
    if (shared) PDSIM_TRY(detail::inc_children(*info.tm, NodeView(r.data()), vt));
    r.release();
    return info.tm->dec(child);
  }
  const long i = n.lower_bound(key);
  if (i < 0) return Error::no_data(fmt::format("key {} is below every key of btree node {}", key, s.current().location()));
  const auto at = static_cast<std::size_t>(i);
  const bool has_left = at > 0;
  const bool has_right = at + 1 < n.nr_entries();
  if (!has_left) return rebalance2(info, s, vt, at);
  if (!has_right) return rebalance2(info, s, vt, at - 1);
  return rebalance3(info, s, vt, at - 1);
}

enum class LeafMatch { exact, nearest };

// Descends one level's tree to the leaf for `key`, shadowing and rebalancing on the way.
// `index` comes in as the parent slot pointing at root and goes out as the leaf index: the exact
// key (no_data if absent) or lower_bound(key) for `nearest`.
Status remove_raw(Info& info, ShadowSpine& s, BlockNr root, const ValueType& vt, std::uint64_t key, long& index,
                  LeafMatch match) {
  long i = index;
  for (unsigned depth = 0;; ++depth) {
    if (depth >= detail::kMaxDepth) return Error::corruption(fmt::format("btree is deeper than {} levels", detail::kMaxDepth));
    PDSIM_TRY(s.step(root, vt));
    if (s.has_parent()) NodeEdit(s.parent().data()).set_value64(static_cast<std::size_t>(i), s.current().location());
    bool leaf = NodeView(s.current().data()).is_leaf();
    if (!leaf) {
      PDSIM_TRY(rebalance_children(info, s, vt, key));
      leaf = NodeView(s.current().data()).is_leaf();  // a collapse may have brought a leaf up
    }
    NodeView n(s.current().data());
    i = n.lower_bound(key);
    if (leaf) {
      if (match == LeafMatch::exact && (i < 0 || n.key(static_cast<std::size_t>(i)) != key))
        return Error::no_data(fmt::format("key {} is not in the btree", key));
      index = i;
      return {};
    }
    if (i < 0) return Error::no_data(fmt::format("key {} is below every key of btree node {}", key, s.current().location()));
    root = n.value64(static_cast<std::size_t>(i));
  }
}

// Walks the upper levels of a multi-level tree exactly, leaving the spine on the last level's root.
Status descend_upper_levels(Info& info, ShadowSpine& s, BlockNr& block, std::span<const std::uint64_t> keys, long& index) {
  const ValueType upper = le64_value_type(*info.tm);
  for (unsigned level = 0; level + 1 < info.levels; ++level) {
    PDSIM_TRY(remove_raw(info, s, block, upper, keys[level], index, LeafMatch::exact));
    block = NodeView(s.current().data()).value64(static_cast<std::size_t>(index));
  }
  return {};
}

}  // namespace

Result<BlockNr> remove(Info& info, BlockNr root, std::span<const std::uint64_t> keys) {
  if (keys.size() != info.levels)
    return Error::invalid(fmt::format("{} keys given for a {}-level btree", keys.size(), info.levels));
  ShadowSpine s(info);
  long index = 0;
  BlockNr block = root;
  PDSIM_TRY(descend_upper_levels(info, s, block, keys, index));
  PDSIM_TRY(remove_raw(info, s, block, info.value_type, keys.back(), index, LeafMatch::exact));
  NodeEdit n(s.current().data());
  PDSIM_TRY(detail::check_value_size(n, s.current().location(), info.value_type.size));
  const auto at = static_cast<std::size_t>(index);
  if (info.value_type.dec) PDSIM_TRY(info.value_type.dec(ValueSpan(n.value_ptr(at), n.value_size()), 1));
  detail::delete_at(n, at);
  return *s.root();
}

namespace {

// One step of remove_leaves: removes the entry at or after keys.back() if it is below end_key.
// Returns whether one was removed; the root is updated in every case the spine moved.
Result<bool> remove_one(Info& info, BlockNr& root, std::vector<std::uint64_t>& keys, std::uint64_t end_key) {
  ShadowSpine s(info);
  long index = 0;
  BlockNr block = root;
  auto finish = [&](Result<bool> r) -> Result<bool> {
    if (s.root()) root = *s.root();
    return r;
  };
  Status st = descend_upper_levels(info, s, block, keys, index);
  if (!st) return finish(std::move(st).error());
  st = remove_raw(info, s, block, info.value_type, keys.back(), index, LeafMatch::nearest);
  if (!st) return finish(std::move(st).error());
  NodeEdit n(s.current().data());
  if (index < 0) index = 0;
  const auto at = static_cast<std::size_t>(index);
  if (at >= n.nr_entries()) return finish(false);
  const std::uint64_t k = n.key(at);
  if (k < keys.back() || k >= end_key) return finish(false);
  if (info.value_type.dec) {
    Status d = info.value_type.dec(ValueSpan(n.value_ptr(at), n.value_size()), 1);
    if (!d) return finish(std::move(d).error());
  }
  detail::delete_at(n, at);
  keys.back() = k + 1;
  return finish(true);
}

}  // namespace

Result<RemoveLeavesResult> remove_leaves(Info& info, BlockNr root, std::span<const std::uint64_t> keys, std::uint64_t end_key) {
  PDSIM_MARK("btree.remove_leaves");
  if (keys.size() != info.levels)
    return Error::invalid(fmt::format("{} keys given for a {}-level btree", keys.size(), info.levels));
  std::vector<std::uint64_t> k(keys.begin(), keys.end());
  RemoveLeavesResult res{root, 0};
  for (;;) {
    auto one = remove_one(info, res.root, k, end_key);
    if (!one) {
      if (one.error().kind() == ErrorKind::no_data) return res;
      return std::move(one).error();
    }
    if (!*one) return res;
    ++res.removed;
  }
}

Result<LeafRef> shadow_to_leaf(Info& info, BlockNr root, std::uint64_t key) {
  if (info.levels != 1) return Error::invalid("shadow_to_leaf works on single-level btrees only");
  ShadowSpine s(info);
  long i = -1;
  for (unsigned depth = 0;; ++depth) {
    if (depth >= detail::kMaxDepth) return Error::corruption(fmt::format("btree is deeper than {} levels", detail::kMaxDepth));
    PDSIM_TRY(s.step(root, info.value_type));
    if (s.has_parent()) NodeEdit(s.parent().data()).set_value64(static_cast<std::size_t>(i), s.current().location());
    NodeView n(s.current().data());
    i = n.lower_bound(key);
    if (i < 0) return Error::invalid(fmt::format("key {} is below every key of btree node {}", key, s.current().location()));
    if (n.is_leaf()) {
      if (n.key(static_cast<std::size_t>(i)) != key) return Error::invalid(fmt::format("key {} is not in the btree", key));
      break;
    }
    root = n.value64(static_cast<std::size_t>(i));
  }
  const BlockNr new_root = *s.root();
  return LeafRef{new_root, s.take_current(), static_cast<std::size_t>(i)};
}

}  // namespace pdsim::btree
