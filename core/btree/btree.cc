// SPDX-License-Identifier: GPL-2.0-or-later
// The btree's read paths (lookup, lookup_next, find_lowest/highest, walk, cursor), tree creation,
// whole-tree deletion, and the common value types.
#include <algorithm>

#include <fmt/format.h>

#include "core/btree/btree_internal.h"

namespace pdsim::btree {

using detail::kMaxDepth;

ValueType le64_value_type(TransactionManager& tm) {
  ValueType t;
  t.size = 8;
  TransactionManager* p = &tm;
  t.inc = [p](ValueSpan v, std::size_t n) -> Status {
    for (std::size_t i = 0; i < n; ++i) PDSIM_TRY(p->inc(load_le<std::uint64_t>(v.data() + 8 * i)));
    return {};
  };
  t.dec = [p](ValueSpan v, std::size_t n) -> Status {
    for (std::size_t i = 0; i < n; ++i) PDSIM_TRY(p->dec(load_le<std::uint64_t>(v.data() + 8 * i)));
    return {};
  };
  t.equal = [](ValueSpan a, ValueSpan b) { return std::equal(a.begin(), a.end(), b.begin(), b.end()); };
  return t;
}

ValueType plain_value_type(std::uint32_t size) {
  ValueType t;
  t.size = size;
  return t;
}

Result<BlockNr> create_empty_with_value_size(Info& info, std::uint32_t value_size) {
  if (value_size == 0 || max_entries_for(value_size) < 3)
    return Error::invalid(fmt::format("btree value size {} does not fit a node", value_size));
  PDSIM_TRY_ASSIGN(WriteRef w, info.tm->new_block(&node_validator()));
  NodeEdit n(w.data());
  n.init(kLeafFlag, value_size);
  return w.location();
}

Result<BlockNr> create_empty(Info& info) {
  // The root of a multi-level tree holds subtree roots (8 bytes). The kernel sizes it with the
  // last level's values, which is the same thing for dm-thin's 2-level tree of u64 values.
  if (info.value_type.size == 0 || max_entries_for(info.value_type.size) < 3)
    return Error::invalid(fmt::format("btree value size {} does not fit a node", info.value_type.size));
  return create_empty_with_value_size(info, info.levels > 1 ? 8u : info.value_type.size);
}

namespace {

std::uint32_t level_value_size(const Info& info, unsigned level) {
  return level + 1 < info.levels ? 8u : info.value_type.size;
}

Result<ReadRef> read_node(Info& info, BlockNr b, unsigned level) {
  PDSIM_TRY_ASSIGN(ReadRef r, info.tm->read_lock(b, &node_validator()));
  PDSIM_TRY(detail::check_value_size(NodeView(r.data()), b, level_value_size(info, level)));
  return r;
}

Status check_keys(const Info& info, std::span<const std::uint64_t> keys) {
  if (keys.size() != info.levels)
    return Error::invalid(fmt::format("{} keys given for a {}-level btree", keys.size(), info.levels));
  return {};
}

// Exact lookup within one level's tree; returns the leaf value.
Result<std::optional<Value>> lookup_level(Info& info, BlockNr root, std::uint64_t key, unsigned level) {
  BlockNr b = root;
  for (unsigned depth = 0; depth < kMaxDepth; ++depth) {
    PDSIM_TRY_ASSIGN(ReadRef r, read_node(info, b, level));
    NodeView n(r.data());
    const long i = n.lower_bound(key);
    if (n.is_leaf()) {
      if (i < 0 || n.key(static_cast<std::size_t>(i)) != key) return std::optional<Value>();
      ValueSpan v = n.value(static_cast<std::size_t>(i));
      return std::optional<Value>(Value(v.begin(), v.end()));
    }
    if (i < 0) return std::optional<Value>();
    b = n.value64(static_cast<std::size_t>(i));
  }
  return Error::corruption(fmt::format("btree rooted at {} is deeper than {} levels", root, kMaxDepth));
}

Result<std::optional<Entry>> lookup_next_single(Info& info, BlockNr b, std::uint64_t key, unsigned level, unsigned depth) {
  if (depth >= kMaxDepth) return Error::corruption(fmt::format("btree is deeper than {} levels at block {}", kMaxDepth, b));
  PDSIM_TRY_ASSIGN(ReadRef r, read_node(info, b, level));
  NodeView n(r.data());
  const long nr = n.nr_entries();
  long i = n.lower_bound(key);
  if (n.is_leaf()) {
    if (i < 0 || n.key(static_cast<std::size_t>(i)) < key) ++i;
    if (i >= nr) return std::optional<Entry>();
    ValueSpan v = n.value(static_cast<std::size_t>(i));
    return std::optional<Entry>(Entry{n.key(static_cast<std::size_t>(i)), Value(v.begin(), v.end())});
  }
  if (i < 0) i = 0;  // every key here is above the one searched: start with the first child
  if (i >= nr) return std::optional<Entry>();
  const BlockNr child = n.value64(static_cast<std::size_t>(i));
  const bool has_next = i + 1 < nr;
  const BlockNr next_child = has_next ? n.value64(static_cast<std::size_t>(i + 1)) : 0;
  r.release();
  PDSIM_TRY_ASSIGN(auto found, lookup_next_single(info, child, key, level, depth + 1));
  if (!found && has_next) return lookup_next_single(info, next_child, key, level, depth + 1);
  return found;
}

Result<std::vector<std::uint64_t>> find_edge(Info& info, BlockNr root, bool lowest) {
  std::vector<std::uint64_t> keys;
  BlockNr b = root;
  for (unsigned level = 0; level < info.levels; ++level) {
    for (unsigned depth = 0;; ++depth) {
      if (depth >= kMaxDepth) return Error::corruption(fmt::format("btree rooted at {} is too deep", root));
      PDSIM_TRY_ASSIGN(ReadRef r, read_node(info, b, level));
      NodeView n(r.data());
      if (n.nr_entries() == 0) return keys;  // an empty node ends the search successfully
      const std::size_t i = lowest ? 0 : n.nr_entries() - 1;
      if (n.is_internal()) {
        b = n.value64(i);
        continue;
      }
      keys.push_back(n.key(i));
      if (level + 1 < info.levels) b = n.value64(i);
      break;
    }
  }
  return keys;
}

Status walk_node(Info& info, BlockNr b, const WalkFn& fn, unsigned depth, bool& stop) {
  if (depth >= kMaxDepth) return Error::corruption(fmt::format("btree is deeper than {} levels at block {}", kMaxDepth, b));
  PDSIM_TRY_ASSIGN(ReadRef r, read_node(info, b, info.levels - 1));
  NodeView n(r.data());
  for (std::uint32_t i = 0; i < n.nr_entries() && !stop; ++i) {
    if (n.is_internal()) {
      PDSIM_TRY(walk_node(info, n.value64(i), fn, depth + 1, stop));
    } else {
      PDSIM_TRY_ASSIGN(bool more, fn(n.key(i), n.value(i)));
      if (!more) stop = true;
    }
  }
  return {};
}

}  // namespace

Result<std::optional<Value>> lookup(Info& info, BlockNr root, std::span<const std::uint64_t> keys) {
  PDSIM_TRY(check_keys(info, keys));
  BlockNr b = root;
  for (unsigned level = 0; level < info.levels; ++level) {
    PDSIM_TRY_ASSIGN(auto v, lookup_level(info, b, keys[level], level));
    if (!v || level + 1 == info.levels) return v;
    b = load_le<std::uint64_t>(v->data());
  }
  return std::optional<Value>();
}

Result<std::optional<Entry>> lookup_next(Info& info, BlockNr root, std::span<const std::uint64_t> keys) {
  PDSIM_TRY(check_keys(info, keys));
  BlockNr b = root;
  for (unsigned level = 0; level + 1 < info.levels; ++level) {
    PDSIM_TRY_ASSIGN(auto v, lookup_level(info, b, keys[level], level));
    if (!v) return std::optional<Entry>();
    b = load_le<std::uint64_t>(v->data());
  }
  return lookup_next_single(info, b, keys.back(), info.levels - 1, 0);
}

Result<std::vector<std::uint64_t>> find_lowest(Info& info, BlockNr root) { return find_edge(info, root, true); }
Result<std::vector<std::uint64_t>> find_highest(Info& info, BlockNr root) { return find_edge(info, root, false); }

Status walk(Info& info, BlockNr root, const WalkFn& fn) {
  bool stop = false;
  return walk_node(info, root, fn, 0, stop);
}

// ---- delete a whole tree (explicit stack) ----

Status del(Info& info, BlockNr root) {
  struct Frame {
    ReadRef block;
    unsigned level;
    std::uint32_t nr_children;
    std::uint32_t current_child;
  };
  std::vector<Frame> stack;
  auto push = [&](BlockNr b, unsigned level) -> Status {
    if (stack.size() >= kMaxDepth - 1) return Error::corruption(fmt::format("btree deletion stack overflow at block {}", b));
    PDSIM_TRY_ASSIGN(std::uint32_t count, info.tm->ref(b));
    if (count > 1) return info.tm->dec(b);  // shared: it stays alive for its other owners
    PDSIM_TRY_ASSIGN(ReadRef r, read_node(info, b, level));
    const std::uint32_t nr = NodeView(r.data()).nr_entries();
    stack.push_back(Frame{std::move(r), level, nr, 0});
    return {};
  };
  PDSIM_TRY(push(root, 0));
  while (!stack.empty()) {
    Frame& f = stack.back();
    if (f.current_child >= f.nr_children) {
      const BlockNr b = f.block.location();
      stack.pop_back();
      PDSIM_TRY(info.tm->dec(b));
      continue;
    }
    NodeView n(f.block.data());
    if (n.is_internal()) {
      const BlockNr child = n.value64(f.current_child++);
      PDSIM_TRY(push(child, f.level));
    } else if (f.level + 1 < info.levels) {
      const BlockNr subtree = n.value64(f.current_child++);
      PDSIM_TRY(push(subtree, f.level + 1));
    } else {
      if (info.value_type.dec)
        PDSIM_TRY(info.value_type.dec(ValueSpan(n.value_ptr(0), static_cast<std::size_t>(f.nr_children) * n.value_size()),
                                      f.nr_children));
      f.current_child = f.nr_children;
    }
  }
  return {};
}

// ---- cursor ----

Result<Cursor> Cursor::begin(Info& info, BlockNr root) {
  Cursor c;
  c.info_ = &info;
  c.stack_.push_back(Frame{root, 0, 0});
  PDSIM_TRY(c.descend_to_leaf());
  return c;
}

Status Cursor::descend_to_leaf() {
  // From the top frame (positioned on a child index) down to a leaf's first entry; skips empty
  // leaves by moving on.
  for (;;) {
    if (stack_.empty()) {
      valid_ = false;
      return {};
    }
    Frame& f = stack_.back();
    PDSIM_TRY_ASSIGN(ReadRef r, read_node(*info_, f.block, info_->levels - 1));
    NodeView n(r.data());
    f.count = n.nr_entries();
    if (f.index >= f.count) {
      stack_.pop_back();
      if (!stack_.empty()) ++stack_.back().index;
      continue;
    }
    if (n.is_leaf()) {
      valid_ = true;
      key_ = n.key(f.index);
      ValueSpan v = n.value(f.index);
      value_.assign(v.begin(), v.end());
      return {};
    }
    if (stack_.size() >= 15) return Error::invalid("btree cursor: tree deeper than 15 levels");
    stack_.push_back(Frame{n.value64(f.index), 0, 0});
  }
}

Status Cursor::next() {
  if (!valid_) return Error::no_data("btree cursor is past the last entry");
  ++stack_.back().index;
  return descend_to_leaf();
}

Status Cursor::skip(std::uint64_t n) {
  for (std::uint64_t i = 0; i < n && valid_; ++i) PDSIM_TRY(next());
  return {};
}

}  // namespace pdsim::btree
