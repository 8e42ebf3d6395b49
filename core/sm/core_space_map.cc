// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/sm/core_space_map.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/common/endian.h"

namespace pdsim {

Status CoreSpaceMap::check_range(BlockNr begin, BlockNr end) const {
  if (begin > end || end > counts_.size())
    return Error::invalid(fmt::format("block range [{}, {}) is outside the space map ({} blocks)", begin, end, counts_.size()));
  return {};
}

Result<BlockNr> CoreSpaceMap::nr_free() {
  return static_cast<BlockNr>(std::count(counts_.begin(), counts_.end(), 0u));
}

Result<std::uint32_t> CoreSpaceMap::get_count(BlockNr b) {
  PDSIM_TRY(check_range(b, b + 1));
  return counts_[b];
}

Result<bool> CoreSpaceMap::count_is_more_than_one(BlockNr b) {
  PDSIM_TRY(check_range(b, b + 1));
  return counts_[b] > 1;
}

Status CoreSpaceMap::set_count(BlockNr b, std::uint32_t count) {
  PDSIM_TRY(check_range(b, b + 1));
  counts_[b] = count;
  return {};
}

Status CoreSpaceMap::inc(BlockNr begin, BlockNr end) {
  PDSIM_TRY(check_range(begin, end));
  for (BlockNr b = begin; b < end; ++b) {
    if (counts_[b] == UINT32_MAX) return Error::invalid(fmt::format("reference count of block {} would overflow", b));
    ++counts_[b];
  }
  return {};
}

Status CoreSpaceMap::dec(BlockNr begin, BlockNr end) {
  PDSIM_TRY(check_range(begin, end));
  for (BlockNr b = begin; b < end; ++b) {
    if (counts_[b] == 0)
      return Error::invalid(fmt::format("unable to decrement block {}: reference count would go below zero", b));
    --counts_[b];
  }
  return {};
}

Result<std::optional<BlockNr>> CoreSpaceMap::new_block() {
  const BlockNr n = counts_.size();
  auto usable = [&](BlockNr b) { return counts_[b] == 0 && (b >= committed_.size() || committed_[b] == 0); };
  for (BlockNr pass = 0; pass < 2; ++pass) {
    BlockNr from = pass == 0 ? cursor_ : 0;
    BlockNr to = pass == 0 ? n : std::min(cursor_, n);
    for (BlockNr b = from; b < to; ++b) {
      if (!usable(b)) continue;
      counts_[b] = 1;
      cursor_ = b + 1;
      return std::optional<BlockNr>(b);
    }
  }
  return std::optional<BlockNr>();
}

Status CoreSpaceMap::commit() {
  committed_ = counts_;
  return {};
}

Status CoreSpaceMap::extend(BlockNr extra_blocks) {
  counts_.resize(counts_.size() + extra_blocks, 0);
  return {};
}

Result<SpaceMapRoot> CoreSpaceMap::copy_root() {
  SpaceMapRoot root{};
  auto allocated = counts_.size() - static_cast<std::size_t>(std::count(counts_.begin(), counts_.end(), 0u));
  store_le<std::uint64_t>(root.data(), counts_.size());
  store_le<std::uint64_t>(root.data() + 8, allocated);
  return root;
}

}  // namespace pdsim
