// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — the abstract space map (algorithms.md §3.1).
//
// A space map keeps a reference count per block of the device it manages. This interface sits
// *below* the transaction manager: the transaction manager allocates and counts through it, while
// the concrete disk and metadata space maps (which keep their own indexes in btrees written
// through the transaction manager) sit above the btree and are handed to the transaction manager
// when a pool is opened. That breaks the one loop in the design at the include level.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>

#include "core/common/result.h"
#include "core/io/block_device.h"

namespace pdsim {

inline constexpr std::size_t kSpaceMapRootSize = 32;
using SpaceMapRoot = std::array<std::uint8_t, kSpaceMapRootSize>;

class SpaceMap {
 public:
  virtual ~SpaceMap() = default;
  SpaceMap() = default;
  SpaceMap(const SpaceMap&) = delete;
  SpaceMap& operator=(const SpaceMap&) = delete;

  // Size in blocks (disk space map: the committed size; metadata space map: the current size).
  [[nodiscard]] virtual Result<BlockNr> nr_blocks() = 0;
  // Blocks available for allocation now (see algorithms.md §3.1 for each map's accounting).
  [[nodiscard]] virtual Result<BlockNr> nr_free() = 0;
  [[nodiscard]] virtual Result<std::uint32_t> get_count(BlockNr b) = 0;
  [[nodiscard]] virtual Result<bool> count_is_more_than_one(BlockNr b) = 0;
  [[nodiscard]] virtual Status set_count(BlockNr b, std::uint32_t count) = 0;
  // Adjust the counts of the half-open range [begin, end). Decrementing a free block is an error
  // (ErrorKind::invalid, "unable to decrement block"), never a wrap-around.
  [[nodiscard]] virtual Status inc(BlockNr begin, BlockNr end) = 0;
  [[nodiscard]] virtual Status dec(BlockNr begin, BlockNr end) = 0;
  [[nodiscard]] Status inc(BlockNr b) { return inc(b, b + 1); }
  [[nodiscard]] Status dec(BlockNr b) { return dec(b, b + 1); }
  // Allocates a block whose count is 0 in both the committed and the current view and sets its
  // count to 1. Running out of space is an expected outcome: Ok(nullopt), not an error.
  [[nodiscard]] virtual Result<std::optional<BlockNr>> new_block() = 0;
  [[nodiscard]] virtual Status commit() = 0;
  [[nodiscard]] virtual Status extend(BlockNr extra_blocks) = 0;
  // The 32-byte on-disk root (ondisk-format.md §5.1).
  [[nodiscard]] virtual Result<SpaceMapRoot> copy_root() = 0;
};

}  // namespace pdsim
