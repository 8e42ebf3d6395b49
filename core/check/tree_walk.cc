// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/check/tree_walk.h"

#include <fmt/format.h>

#include <algorithm>
#include <memory>

#include "core/block/checksum.h"

namespace pdsim::check::detail {
namespace {

Role role_for(const TreeSpec& spec, unsigned level) {
  return Role{Role::Kind::btree, spec.value_size, spec.levels - 1 - level, spec.refs,
              spec.array_value_size};
}

}  // namespace

Result<std::uint64_t> TreeWalker::walk(const TreeSpec& spec, const LeafVisitor& on_value) {
  if (spec.levels == 0) {
    ctx_.problem(ProblemKind::bad_node, spec.root, fmt::format("tree {} declared with 0 levels", spec.name));
    return std::uint64_t{0};
  }
  Reach r;
  r.is_root = true;
  PDSIM_TRY_ASSIGN(const NodeInfo* info, visit(spec, spec.root, r, on_value));
  return (info != nullptr && info->valid) ? info->bottom_entries : 0;
}

bool TreeWalker::validate_header(const TreeSpec& spec, BlockNr b, const layout::NodeHeader& h,
                                 unsigned level) {
  const bool internal = (h.flags & layout::kInternal) != 0;
  const bool leaf = (h.flags & layout::kLeaf) != 0;
  if (internal == leaf) {
    ctx_.problem(ProblemKind::bad_node, b,
                 fmt::format("btree node {} of {}: flags {:#x}, not exactly one of internal/leaf", b,
                             spec.name, h.flags));
    return false;
  }
  // Checked in 64 bits: a garbage header must not overflow the size formula.
  const std::uint64_t bytes = layout::kNodeHeader + (8 + std::uint64_t{h.value_size}) * h.max_entries;
  if (bytes > kBlockSize) {
    ctx_.problem(ProblemKind::bad_node, b,
                 fmt::format("btree node {}: max_entries {} of {}-byte values need {} bytes > 4096", b,
                             h.max_entries, h.value_size, bytes));
    return false;
  }
  if (h.max_entries != layout::btree_max_entries(h.value_size)) {
    ctx_.problem(ProblemKind::bad_node, b,
                 fmt::format("btree node {}: max_entries {} but {} for value size {}", b, h.max_entries,
                             layout::btree_max_entries(h.value_size), h.value_size));
    return false;
  }
  if (h.nr_entries > h.max_entries) {
    ctx_.problem(ProblemKind::bad_node, b,
                 fmt::format("btree node {}: nr_entries {} > max_entries {}", b, h.nr_entries,
                             h.max_entries));
    return false;
  }
  const bool bottom = leaf && level + 1 == spec.levels;
  const std::uint32_t want = bottom ? spec.value_size : 8;
  if (h.value_size != want) {
    ctx_.problem(ProblemKind::value_size_mismatch, b,
                 fmt::format("btree node {} ({} {}, level {}): value_size {}, expected {}", b, spec.name,
                             leaf ? "leaf" : "internal node", level, h.value_size, want));
    return false;
  }
  if (internal && h.nr_entries == 0) {
    ctx_.problem(ProblemKind::bad_node, b, fmt::format("btree internal node {} has no entries", b));
    return false;
  }
  return true;
}

void TreeWalker::check_reach(const TreeSpec& spec, BlockNr b, NodeInfo& info, const Reach& r) {
  if (!info.valid) return;
  if (info.nr_entries > 0) {
    if (r.bounds.lo && info.first_key < *r.bounds.lo) {
      ctx_.problem(ProblemKind::key_order, b,
                   fmt::format("btree node {}: first key {} below its parent {}'s key {}", b,
                               info.first_key, r.parent.value_or(0), *r.bounds.lo));
    }
    if (r.bounds.hi && info.last_key >= *r.bounds.hi) {
      ctx_.problem(ProblemKind::key_order, b,
                   fmt::format("btree node {}: last key {} not below the next key {} of its parent {}",
                               b, info.last_key, *r.bounds.hi, r.parent.value_or(0)));
    }
  }
  // The kernel's insert (split into halves / thirds) and remove (merge or redistribute below
  // max/3) keep every non-root node at >= max_entries/3 (ondisk-format.md §4.4). Not needed for
  // correct lookups, so non-fatal.
  if (!r.is_root && info.nr_entries < info.max_entries / 3 && !info.fill_reported) {
    info.fill_reported = true;
    ctx_.problem(ProblemKind::bad_fill, b,
                 fmt::format("btree node {} of {}: {} entries, below max_entries/3 = {} for a non-root node",
                             b, spec.name, info.nr_entries, info.max_entries / 3),
                 Severity::non_fatal);
  }
}

Result<const TreeWalker::NodeInfo*> TreeWalker::visit(const TreeSpec& spec, BlockNr b, const Reach& r,
                                                      const LeafVisitor& on_value) {
  const char* what = r.parent ? "btree child pointer" : "btree root";
  if (!ctx_.ref_metadata(b, r.parent ? what : spec.name + " root", r.parent)) return nullptr;
  const Role role = role_for(spec, r.level);

  if (auto it = memo_.find(b); it != memo_.end()) {
    NodeInfo& info = it->second;
    if (!info.done) {
      ctx_.problem(ProblemKind::cycle, r.parent ? *r.parent : b,
                   fmt::format("cycle in {}: block {} points back to its ancestor {}", spec.name,
                               r.parent.value_or(b), b));
      return nullptr;
    }
    if (!(info.role == role)) {
      ctx_.problem(ProblemKind::cross_linked, b,
                   fmt::format("block {} is reached as {} in {} but was already read as {}", b,
                               describe(role), spec.name, describe(info.role)));
      return nullptr;
    }
    check_reach(spec, b, info, r);
    return &info;
  }
  if (r.path_depth >= kMaxDepthPerLevel * spec.levels) {
    ctx_.problem(ProblemKind::too_deep, b,
                 fmt::format("{}: block {} is {} nodes deep, beyond any valid tree", spec.name, b,
                             r.path_depth));
    ctx_.report().walk_incomplete = true;
    return nullptr;
  }
  if (!ctx_.claim(b, role, spec.name)) return nullptr;  // used as a bitmap/index/array: reported

  NodeInfo& info = memo_[b];
  info.role = role;
  auto blk = std::make_unique<Block>();
  PDSIM_TRY_ASSIGN(const bool readable, ctx_.read_validated(b, salt::btree_node, 8, "btree node", *blk));
  const layout::NodeHeader h = layout::node_header(*blk);
  if (!readable || !validate_header(spec, b, h, r.level)) {
    info.done = true;
    ctx_.report().walk_incomplete = true;
    return &info;
  }
  ++ctx_.report().btree_nodes;
  info.valid = true;
  info.nr_entries = h.nr_entries;
  info.max_entries = h.max_entries;
  if (h.nr_entries > 0) {
    info.first_key = layout::node_key(*blk, 0);
    info.last_key = layout::node_key(*blk, h.nr_entries - 1);
  }
  for (std::uint32_t i = 1; i < h.nr_entries; ++i) {
    const std::uint64_t prev = layout::node_key(*blk, i - 1), cur = layout::node_key(*blk, i);
    if (cur <= prev) {
      ctx_.problem(ProblemKind::key_order, b,
                   fmt::format("keys are out of order in btree node {}: key[{}] = {} <= key[{}] = {}", b,
                               i, cur, i - 1, prev));
      break;  // one report per node; the rest would repeat it
    }
  }
  check_reach(spec, b, info, r);
  PDSIM_TRY(visit_children(spec, b, *blk, h, info, r, on_value));
  info.done = true;
  return &info;
}

Status TreeWalker::visit_children(const TreeSpec& spec, BlockNr b, const Block& blk,
                                  const layout::NodeHeader& h, NodeInfo& info, const Reach& r,
                                  const LeafVisitor& on_value) {
  const bool leaf = (h.flags & layout::kLeaf) != 0;
  if (leaf && r.level + 1 == spec.levels) {
    info.height = 0;
    info.bottom_entries = h.nr_entries;
    for (std::uint32_t i = 0; i < h.nr_entries; ++i) {
      PDSIM_TRY(on_value(b, layout::node_key(blk, i), layout::node_value(blk, h, i)));
    }
    return ok_status();
  }
  if (leaf) {
    // Upper-level leaf: every value is the root of a tree of the next level.
    info.height = 0;
    for (std::uint32_t i = 0; i < h.nr_entries; ++i) {
      Reach cr;
      cr.level = r.level + 1;
      cr.is_root = true;
      cr.parent = b;
      cr.path_depth = r.path_depth + 1;
      const BlockNr sub = load_le<std::uint64_t>(layout::node_value(blk, h, i));
      PDSIM_TRY_ASSIGN(const NodeInfo* c, visit(spec, sub, cr, on_value));
      if (c != nullptr && c->valid) info.bottom_entries += c->bottom_entries;
    }
    return ok_status();
  }
  std::optional<unsigned> first_height;
  unsigned max_height = 0;
  bool unequal = false;
  for (std::uint32_t i = 0; i < h.nr_entries; ++i) {
    Reach cr;
    cr.level = r.level;
    cr.parent = b;
    cr.path_depth = r.path_depth + 1;
    cr.bounds.lo = layout::node_key(blk, i);
    cr.bounds.hi = (i + 1 < h.nr_entries) ? std::optional<std::uint64_t>(layout::node_key(blk, i + 1))
                                          : r.bounds.hi;
    const BlockNr child = load_le<std::uint64_t>(layout::node_value(blk, h, i));
    PDSIM_TRY_ASSIGN(const NodeInfo* c, visit(spec, child, cr, on_value));
    if (c == nullptr || !c->valid) continue;
    info.bottom_entries += c->bottom_entries;
    if (!first_height) first_height = c->height;
    else if (*first_height != c->height) unequal = true;
    max_height = std::max(max_height, c->height);
  }
  if (unequal) {
    ctx_.problem(ProblemKind::unequal_depth, b,
                 fmt::format("btree node {} of {}: its children's subtrees have different heights", b,
                             spec.name));
  }
  info.height = 1 + max_height;
  return ok_status();
}

Result<std::vector<TopEntry>> TreeWalker::top_entries(BlockDevice& dev, const TreeSpec& spec) {
  std::vector<TopEntry> out;
  PDSIM_TRY(collect_top(dev, spec.root, spec, 0, out));
  return out;
}

Status TreeWalker::collect_top(BlockDevice& dev, BlockNr b, const TreeSpec& spec, unsigned depth,
                               std::vector<TopEntry>& out) {
  auto it = memo_.find(b);
  // Only nodes the walk found valid; the depth bound also cuts pointers that formed a cycle.
  if (it == memo_.end() || !it->second.valid || depth >= kMaxDepthPerLevel) return ok_status();
  if (it->second.role.levels_below + 1 != spec.levels) return ok_status();
  auto blk = std::make_unique<Block>();
  PDSIM_TRY(dev.read(b, BlockSpan(*blk)));
  const layout::NodeHeader h = layout::node_header(*blk);
  const bool leaf = (h.flags & layout::kLeaf) != 0;
  for (std::uint32_t i = 0; i < h.nr_entries; ++i) {
    const std::uint8_t* v = layout::node_value(*blk, h, i);
    if (!leaf) {
      PDSIM_TRY(collect_top(dev, load_le<std::uint64_t>(v), spec, depth + 1, out));
      continue;
    }
    TopEntry e;
    e.key = layout::node_key(*blk, i);
    e.value.assign(v, v + h.value_size);
    if (spec.levels > 1) {
      auto sub = memo_.find(load_le<std::uint64_t>(v));
      if (sub != memo_.end() && sub->second.valid) e.bottom_entries = sub->second.bottom_entries;
    } else {
      e.bottom_entries = 1;
    }
    out.push_back(std::move(e));
  }
  return ok_status();
}

}  // namespace pdsim::check::detail
