// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/btree/builder.h"

#include <cstring>

#include <fmt/format.h>

#include "core/common/assert.h"
#include "core/common/endian.h"

namespace pdsim::btree {

Builder::Builder(Info& info) : info_(info) { PDSIM_ASSERT(info.levels == 1, "the builder makes single-level trees only"); }

void Builder::start(std::size_t level, Pending& node) const {
  node.data.fill(0);
  NodeEdit n(node.data);
  n.init(level == 0 ? kLeafFlag : kInternalFlag, level == 0 ? info_.value_type.size : 8u);
  node.used = true;
}

Status Builder::push(std::uint64_t key, ValueSpan value) {
  if (finished_) return Error::invalid("btree builder: push after finish");
  if (value.size() != info_.value_type.size)
    return Error::invalid(fmt::format("btree builder: value of {} bytes, the tree holds {}", value.size(), info_.value_type.size));
  if (last_key_ && key <= *last_key_)
    return Error::invalid(fmt::format("btree builder: key {} after key {} (keys must ascend)", key, *last_key_));
  PDSIM_TRY(add(0, key, value));
  last_key_ = key;
  ++count_;
  return {};
}

Status Builder::add(std::size_t level, std::uint64_t key, ValueSpan value) {
  if (level == levels_.size()) levels_.emplace_back();
  Level& l = levels_[level];
  if (!l.cur.used) start(level, l.cur);
  NodeView cur(l.cur.data);
  if (cur.nr_entries() == cur.max_entries()) {
    if (l.prev.used) PDSIM_TRY(write(level, l.prev));
    // `write` may have grown levels_, so re-take the reference.
    Level& again = levels_[level];
    std::swap(again.prev, again.cur);
    start(level, again.cur);
  }
  NodeEdit n(levels_[level].cur.data);
  const std::uint32_t i = n.nr_entries();
  n.set_key(i, key);
  n.set_value(i, value);
  n.set_nr_entries(i + 1);
  return {};
}

// Writes a finished node to a new block and records it in the level above.
Status Builder::write(std::size_t level, Pending& node) {
  PDSIM_TRY_ASSIGN(WriteRef w, info_.tm->new_block(&node_validator()));
  std::memcpy(w.data().data(), node.data.data(), kBlockSize);
  const BlockNr loc = w.location();
  w.release();
  const std::uint64_t first_key = NodeView(node.data).key(0);
  node.used = false;
  std::array<std::uint8_t, 8> v{};
  store_le<std::uint64_t>(v.data(), loc);
  return add(level + 1, first_key, v);
}

// Moves entries from the tail of `a` to the front of `b` so that both hold about half.
void Builder::even_out(Pending& a, Pending& b) {
  NodeEdit na(a.data), nb(b.data);
  const std::uint32_t total = na.nr_entries() + nb.nr_entries();
  const std::uint32_t keep = total - total / 2;  // a keeps the larger half
  const std::uint32_t move = na.nr_entries() - keep;
  const std::size_t vs = na.value_size();
  const std::uint32_t nb_old = nb.nr_entries();
  // Shift b's entries right by `move`, then copy a's tail into the gap.
  std::memmove(nb.raw_mut() + kNodeHeaderSize + 8 * move, nb.raw_mut() + kNodeHeaderSize, 8 * nb_old);
  std::memmove(nb.value_ptr_mut(move), nb.value_ptr_mut(0), vs * nb_old);
  std::memcpy(nb.raw_mut() + kNodeHeaderSize, na.raw_mut() + kNodeHeaderSize + 8 * keep, 8 * move);
  std::memcpy(nb.value_ptr_mut(0), na.value_ptr_mut(keep), vs * move);
  nb.set_nr_entries(nb_old + move);
  na.set_nr_entries(keep);
}

Result<BlockNr> Builder::finish() {
  if (finished_) return Error::invalid("btree builder: finish called twice");
  finished_ = true;
  if (levels_.empty()) return create_empty(info_);
  for (std::size_t level = 0;; ++level) {
    Level& l = levels_[level];
    const bool top = level + 1 == levels_.size();
    if (top && !l.prev.used) {
      // A lone node on the highest level is the root.
      PDSIM_TRY_ASSIGN(WriteRef w, info_.tm->new_block(&node_validator()));
      std::memcpy(w.data().data(), l.cur.data.data(), kBlockSize);
      return w.location();
    }
    if (l.prev.used) {
      NodeView cur(l.cur.data);
      if (cur.nr_entries() < cur.max_entries() / 3) even_out(l.prev, l.cur);
      PDSIM_TRY(write(level, levels_[level].prev));
    }
    PDSIM_TRY(write(level, levels_[level].cur));
  }
}

}  // namespace pdsim::btree
