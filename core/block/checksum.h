// SPDX-License-Identifier: GPL-2.0-or-later
// The persistent-data block checksum (ondisk-format.md §3): CRC-32C over bytes 4..4095 with
// seed 0xFFFFFFFF and no final inversion, XORed with a per-block-type salt, stored LE at offset 0.
#pragma once

#include <cstdint>

#include "core/io/block_device.h"

namespace pdsim {

namespace salt {
inline constexpr std::uint32_t thin_superblock = 160774;
inline constexpr std::uint32_t cache_superblock = 9031977;
inline constexpr std::uint32_t btree_node = 121107;
inline constexpr std::uint32_t sm_index = 160478;
inline constexpr std::uint32_t sm_bitmap = 240779;
inline constexpr std::uint32_t array_block = 595846735;
}  // namespace salt

inline constexpr std::size_t kChecksumOffset = 0;
inline constexpr std::size_t kChecksummedBytesStart = 4;

// The checksum a block with these contents must carry (ignores the stored checksum field).
[[nodiscard]] std::uint32_t block_checksum(ConstBlockSpan block, std::uint32_t salt) noexcept;
// The checksum stored at offset 0.
[[nodiscard]] std::uint32_t stored_checksum(ConstBlockSpan block) noexcept;
// Computes and stores the checksum at offset 0.
void stamp_checksum(BlockSpan block, std::uint32_t salt) noexcept;

}  // namespace pdsim
