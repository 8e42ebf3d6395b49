// SPDX-License-Identifier: GPL-2.0-or-later
// dm-thin's on-disk structures (ondisk-format.md §8): the superblock, device details, and the
// packed block_time mapping value.
#pragma once

#include <array>
#include <cstdint>

#include "core/block/validator.h"
#include "core/common/endian.h"
#include "core/sm/space_map.h"

namespace pdsim::thin {

inline constexpr std::uint64_t kSuperblockMagic = 27022010;
inline constexpr std::uint32_t kMetadataVersion = 2;
inline constexpr BlockNr kSuperblockLocation = 0;
inline constexpr std::uint32_t kNeedsCheckFlag = 1;
inline constexpr std::uint32_t kMetadataBlockSizeSectors = 8;
inline constexpr std::uint64_t kMaxDeviceId = (1ull << 24) - 1;
inline constexpr std::size_t kSpaceMapRootField = 128;

namespace sb {
inline constexpr std::size_t csum = 0, flags = 4, blocknr = 8, uuid = 16, magic = 32, version = 40, time = 44,
                             trans_id = 48, held_root = 56, data_sm_root = 64, metadata_sm_root = 192,
                             data_mapping_root = 320, device_details_root = 328, data_block_size = 336,
                             metadata_block_size = 340, metadata_nr_blocks = 344, compat_flags = 352,
                             compat_ro_flags = 356, incompat_flags = 360;
}  // namespace sb

struct Superblock {
  std::uint32_t flags = 0;
  std::array<std::uint8_t, 16> uuid{};
  std::uint64_t magic = kSuperblockMagic;
  std::uint32_t version = kMetadataVersion;
  std::uint32_t time = 0;
  std::uint64_t trans_id = 0;
  BlockNr held_root = 0;
  SpaceMapRoot data_sm_root{};
  SpaceMapRoot metadata_sm_root{};
  BlockNr data_mapping_root = 0;
  BlockNr device_details_root = 0;
  std::uint32_t data_block_size = 0;
  std::uint32_t metadata_block_size = kMetadataBlockSizeSectors;
  std::uint64_t metadata_nr_blocks = 0;
  std::uint32_t compat_flags = 0;
  std::uint32_t compat_ro_flags = 0;
  std::uint32_t incompat_flags = 0;

  [[nodiscard]] static Superblock unpack(const std::uint8_t* d);
  // Writes every field but csum and blocknr (the validator stamps those at write-back).
  void pack(std::uint8_t* d) const;
};

// Thin superblock validator: blocknr, magic, then the checksum (salt 160774).
[[nodiscard]] const Validator& superblock_validator();

struct DeviceDetails {
  std::uint64_t mapped_blocks = 0;
  std::uint64_t transaction_id = 0;
  std::uint32_t creation_time = 0;
  std::uint32_t snapshotted_time = 0;

  static constexpr std::size_t kSize = 24;
  void pack(std::uint8_t* p) const {
    store_le<std::uint64_t>(p, mapped_blocks);
    store_le<std::uint64_t>(p + 8, transaction_id);
    store_le<std::uint32_t>(p + 16, creation_time);
    store_le<std::uint32_t>(p + 20, snapshotted_time);
  }
  [[nodiscard]] static DeviceDetails unpack(const std::uint8_t* p) {
    return {load_le<std::uint64_t>(p), load_le<std::uint64_t>(p + 8), load_le<std::uint32_t>(p + 16),
            load_le<std::uint32_t>(p + 20)};
  }
  friend bool operator==(const DeviceDetails&, const DeviceDetails&) = default;
};

// value = (data_block << 24) | time. The kernel does not mask time; neither do we.
[[nodiscard]] constexpr std::uint64_t pack_block_time(BlockNr data_block, std::uint32_t time) noexcept {
  return (data_block << 24) | time;
}
[[nodiscard]] constexpr BlockNr block_of(std::uint64_t block_time) noexcept { return block_time >> 24; }
[[nodiscard]] constexpr std::uint32_t time_of(std::uint64_t block_time) noexcept {
  return static_cast<std::uint32_t>(block_time & 0xFFFFFFu);
}
static_assert(pack_block_time(10, 0) == 0x000000000A000000ull);
static_assert(pack_block_time(20, 1) == 0x0000000014000001ull);

}  // namespace pdsim::thin
