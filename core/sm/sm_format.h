// SPDX-License-Identifier: GPL-2.0-or-later
// On-disk pieces shared by the disk and metadata space maps (ondisk-format.md §5): the 32-byte
// root, 16-byte index entries, 2-bit bitmap entries, and the validators of bitmap and index
// blocks.
#pragma once

#include <cstdint>

#include "core/block/validator.h"
#include "core/common/endian.h"
#include "core/sm/space_map.h"

namespace pdsim::sm {

inline constexpr std::uint32_t kEntriesPerBitmap = (kBlockSize - 16) * 4;  // 16320
inline constexpr std::size_t kBitmapHeaderSize = 16;
inline constexpr std::size_t kIndexEntrySize = 16;
inline constexpr std::uint64_t kMetadataIndexMax = 255;  // entries in the metadata index block
inline constexpr BlockNr kMetadataMaxBlocks = kMetadataIndexMax * kEntriesPerBitmap;  // 4,161,600
static_assert(kEntriesPerBitmap == 16320);
static_assert(kMetadataMaxBlocks == 4161600);

struct IndexEntry {
  BlockNr blocknr = 0;
  std::uint32_t nr_free = 0;
  std::uint32_t none_free_before = 0;

  void pack(std::uint8_t* p) const {
    store_le<std::uint64_t>(p, blocknr);
    store_le<std::uint32_t>(p + 8, nr_free);
    store_le<std::uint32_t>(p + 12, none_free_before);
  }
  [[nodiscard]] static IndexEntry unpack(const std::uint8_t* p) {
    return {load_le<std::uint64_t>(p), load_le<std::uint32_t>(p + 8), load_le<std::uint32_t>(p + 12)};
  }
  friend bool operator==(const IndexEntry&, const IndexEntry&) = default;
};

struct RootFields {
  BlockNr nr_blocks = 0;
  BlockNr nr_allocated = 0;
  BlockNr bitmap_root = 0;     // metadata sm: the index block; disk sm: the index btree root
  BlockNr ref_count_root = 0;  // the overflow btree root

  [[nodiscard]] SpaceMapRoot pack() const {
    SpaceMapRoot r{};
    store_le<std::uint64_t>(r.data(), nr_blocks);
    store_le<std::uint64_t>(r.data() + 8, nr_allocated);
    store_le<std::uint64_t>(r.data() + 16, bitmap_root);
    store_le<std::uint64_t>(r.data() + 24, ref_count_root);
    return r;
  }
  [[nodiscard]] static RootFields unpack(const SpaceMapRoot& r) {
    return {load_le<std::uint64_t>(r.data()), load_le<std::uint64_t>(r.data() + 8),
            load_le<std::uint64_t>(r.data() + 16), load_le<std::uint64_t>(r.data() + 24)};
  }
};

// Entry e of a bitmap block: byte 16 + e/4, bit 2*(e%4) is the HIGH bit, 2*(e%4)+1 the LOW bit.
[[nodiscard]] inline std::uint32_t bitmap_get(const std::uint8_t* block, std::uint32_t e) {
  const std::uint8_t byte = block[kBitmapHeaderSize + e / 4];
  const unsigned shift = 2 * (e % 4);
  const std::uint32_t hi = (byte >> shift) & 1u;
  const std::uint32_t lo = (byte >> (shift + 1)) & 1u;
  return (hi << 1) | lo;
}

inline void bitmap_set(std::uint8_t* block, std::uint32_t e, std::uint32_t v) {
  std::uint8_t& byte = block[kBitmapHeaderSize + e / 4];
  const unsigned shift = 2 * (e % 4);
  const auto mask = static_cast<std::uint8_t>(3u << shift);
  const auto bits = static_cast<std::uint8_t>((((v >> 1) & 1u) | ((v & 1u) << 1)) << shift);
  byte = static_cast<std::uint8_t>((byte & ~mask) | bits);
}

// True when all 32 entries of the 64-bit word holding entry e (a multiple of 32) are non-zero.
[[nodiscard]] bool bitmap_word_full(const std::uint8_t* block, std::uint32_t e);

[[nodiscard]] const Validator& bitmap_validator();
[[nodiscard]] const Validator& index_validator();

}  // namespace pdsim::sm
