// SPDX-License-Identifier: GPL-2.0-or-later
// dm-cache's on-disk structures (ondisk-format.md §9): the cache superblock and the packed
// mapping value. Versions 1 and 2 differ only in where a block's dirty bit lives: v1 in the
// mapping value (M_DIRTY), v2 in a separate dirty bitset whose root the superblock records.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/block/validator.h"
#include "core/common/endian.h"
#include "core/seam/cache_metadata.h"
#include "core/sm/space_map.h"

namespace pdsim::cache {

inline constexpr std::uint64_t kSuperblockMagic = 1623043;  // octal 06142003
inline constexpr BlockNr kSuperblockLocation = 0;
inline constexpr std::uint32_t kMinVersion = 1;
inline constexpr std::uint32_t kMaxVersion = 2;
inline constexpr std::uint32_t kCleanShutdownFlag = 1;  // superblock flags bit 0
inline constexpr std::uint32_t kNeedsCheckFlag = 2;     // bit 1
inline constexpr std::uint32_t kMetadataBlockSizeSectors = 8;
inline constexpr std::size_t kPolicyNameSize = 16;  // NUL-padded; at most 15 characters
inline constexpr std::size_t kSpaceMapRootField = 128;
inline constexpr std::uint32_t kHintSize = 4;  // the only hint size the kernel supports
inline constexpr std::uint32_t kMinDataBlockSize = 64;
inline constexpr std::uint32_t kMaxDataBlockSize = 2097152;
inline constexpr std::uint64_t kMaxOriginBlock = (1ull << 48) - 1;

namespace sb {
inline constexpr std::size_t csum = 0, flags = 4, blocknr = 8, uuid = 16, magic = 32, version = 40, policy_name = 44,
                             policy_hint_size = 60, metadata_sm_root = 64, mapping_root = 192, hint_root = 200,
                             discard_root = 208, discard_block_size = 216, discard_nr_blocks = 224,
                             data_block_size = 232, metadata_block_size = 236, cache_blocks = 240, compat_flags = 244,
                             compat_ro_flags = 248, incompat_flags = 252, read_hits = 256, read_misses = 260,
                             write_hits = 264, write_misses = 268, policy_version = 272, dirty_root = 284;
inline constexpr std::size_t kUsedBytes = 292;
}  // namespace sb

using Stats = seam::CacheStats;

// A policy name is a kernel module's name: printable ASCII without quotes, '&', '<' or '>'. Anything
// else could not go through cache_dump's XML and back. The position of the first byte that does
// not belong, or nullopt when every byte does.
[[nodiscard]] std::optional<std::size_t> bad_policy_name_byte(std::string_view name) noexcept;

struct Superblock {
  std::uint32_t flags = 0;
  std::array<std::uint8_t, 16> uuid{};
  std::uint64_t magic = kSuperblockMagic;
  std::uint32_t version = 1;
  std::string policy_name;  // at most 15 bytes
  std::uint32_t policy_hint_size = 0;
  SpaceMapRoot metadata_sm_root{};
  BlockNr mapping_root = 0;
  BlockNr hint_root = 0;
  BlockNr discard_root = 0;
  std::uint64_t discard_block_size = 0;
  std::uint64_t discard_nr_blocks = 0;
  std::uint32_t data_block_size = 0;
  std::uint32_t metadata_block_size = kMetadataBlockSizeSectors;
  std::uint32_t cache_blocks = 0;
  std::uint32_t compat_flags = 0;
  std::uint32_t compat_ro_flags = 0;
  std::uint32_t incompat_flags = 0;
  Stats stats;
  std::array<std::uint32_t, 3> policy_version{};
  BlockNr dirty_root = 0;  // version 2 only

  [[nodiscard]] static Superblock unpack(const std::uint8_t* d);
  // Writes every field but csum and blocknr (the validator stamps those at write-back).
  void pack(std::uint8_t* d) const;
};

// Cache superblock validator: blocknr, magic, then the checksum (salt 9031977). The version is
// checked at open (so that a tool can still say which version it found).
[[nodiscard]] const Validator& superblock_validator();

// Mapping value: (origin_block << 16) | flags.
inline constexpr std::uint64_t kMappingValid = 1;
inline constexpr std::uint64_t kMappingDirty = 2;  // version 1 only
inline constexpr std::uint64_t kMappingFlagMask = 0xFFFF;

[[nodiscard]] constexpr std::uint64_t pack_mapping(std::uint64_t oblock, std::uint64_t flags) noexcept {
  return (oblock << 16) | flags;
}
[[nodiscard]] constexpr std::uint64_t mapping_oblock(std::uint64_t v) noexcept { return v >> 16; }
[[nodiscard]] constexpr std::uint64_t mapping_flags(std::uint64_t v) noexcept { return v & kMappingFlagMask; }
static_assert(pack_mapping(1000, kMappingValid) == 0x0000000003E80001ull);
static_assert(pack_mapping(7, kMappingValid | kMappingDirty) == 0x0000000000070003ull);

// Data (cache) block size in sectors: a multiple of 64 in [64, 2097152].
[[nodiscard]] constexpr bool valid_data_block_size(std::uint64_t sectors) noexcept {
  return sectors >= kMinDataBlockSize && sectors <= kMaxDataBlockSize && sectors % kMinDataBlockSize == 0;
}

}  // namespace pdsim::cache
