// SPDX-License-Identifier: GPL-2.0-or-later
// Which metadata blocks a pack holds: every block whose checksum is valid for one of the seven
// block-type salts (pack-format.md §4.1). This is a classification by checksum, not a tree walk:
// stale copies and metadata-snapshot blocks are included; a damaged block is not.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/io/block_device.h"

namespace pdsim::pack {

enum class BlockKind {
  thin_superblock,
  cache_superblock,
  era_superblock,
  btree_node,
  sm_bitmap,
  sm_index,
  array_block,
};

// The salt that block type's checksum is XORed with.
[[nodiscard]] std::uint32_t salt_of(BlockKind kind) noexcept;
[[nodiscard]] std::string_view to_string(BlockKind kind) noexcept;

// The kind whose salt makes the stored checksum valid, or nullopt (an unknown block: all-zero,
// damaged, or not metadata). One CRC per block, whatever the number of kinds.
[[nodiscard]] std::optional<BlockKind> classify_block(ConstBlockSpan block) noexcept;

}  // namespace pdsim::pack
