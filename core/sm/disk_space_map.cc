// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/sm/disk_space_map.h"

#include <fmt/format.h>

namespace pdsim::sm {

Result<std::unique_ptr<DiskSpaceMap>> DiskSpaceMap::create(TransactionManager& tm, BlockNr nr_blocks) {
  PDSIM_TRY_ASSIGN(auto index, DiskIndex::create(tm));
  btree::Info overflow{&tm, 1, btree::plain_value_type(4)};
  PDSIM_TRY_ASSIGN(BlockNr overflow_root, btree::create_empty(overflow));
  auto sm = std::make_unique<DiskSpaceMap>(LowLevel(tm, std::move(index), 0, 0, overflow_root));
  PDSIM_TRY(sm->extend(nr_blocks));
  PDSIM_TRY(sm->commit());
  return sm;
}

Result<std::unique_ptr<DiskSpaceMap>> DiskSpaceMap::open(TransactionManager& tm, const SpaceMapRoot& root) {
  RootFields f = RootFields::unpack(root);
  if (f.nr_allocated > f.nr_blocks)
    return Error::corruption(fmt::format("data space map root: {} blocks allocated of {}", f.nr_allocated, f.nr_blocks));
  return std::make_unique<DiskSpaceMap>(
      LowLevel(tm, std::make_unique<DiskIndex>(tm, f.bitmap_root), f.nr_blocks, f.nr_allocated, f.ref_count_root));
}

Result<BlockNr> DiskSpaceMap::nr_free() {
  // Frees of this transaction already count as free, although they cannot be handed out before
  // the next commit (algorithms.md §3.1).
  const BlockNr total = old_ll_.nr_blocks();
  return total > ll_.nr_allocated() ? total - ll_.nr_allocated() : 0;
}

Result<bool> DiskSpaceMap::count_is_more_than_one(BlockNr b) {
  PDSIM_TRY_ASSIGN(std::uint32_t c, ll_.lookup(b));
  return c > 1;
}

Result<std::optional<BlockNr>> DiskSpaceMap::new_block() {
  PDSIM_TRY_ASSIGN(std::optional<BlockNr> b, find_common_free_block(old_ll_, ll_, begin_));
  if (!b) return b;
  begin_ = *b + 1;
  PDSIM_TRY(ll_.inc(*b, *b + 1));
  return b;
}

Status DiskSpaceMap::commit() {
  if (ll_.index().changed()) PDSIM_TRY(ll_.index().commit());
  old_ll_ = ll_.clone();
  return {};
}

}  // namespace pdsim::sm
