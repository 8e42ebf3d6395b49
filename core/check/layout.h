// SPDX-License-Identifier: GPL-2.0-or-later
// The checker's own reading of the on-disk layouts (ondisk-format.md §4–§6). Deliberately not
// shared with the engine's core/btree or core/sm: see check.h.
#pragma once

#include <cstdint>

#include "core/check/check.h"
#include "core/common/endian.h"
#include "core/io/block_device.h"

namespace pdsim::check::layout {

// --- btree node (§4) ---
inline constexpr std::size_t kNodeHeader = 32;
inline constexpr std::uint32_t kInternal = 1;
inline constexpr std::uint32_t kLeaf = 2;

// 3 * floor(floor((4096 - 32) / (8 + value_size)) / 3)
[[nodiscard]] constexpr std::uint64_t btree_max_entries(std::uint64_t value_size) noexcept {
  return 3 * (((kBlockSize - kNodeHeader) / (8 + value_size)) / 3);
}
static_assert(btree_max_entries(4) == 336 && btree_max_entries(8) == 252);
static_assert(btree_max_entries(16) == 168 && btree_max_entries(24) == 126);

// Header fields, read without trusting them (callers validate before indexing arrays).
struct NodeHeader {
  std::uint32_t csum, flags;
  std::uint64_t blocknr;
  std::uint32_t nr_entries, max_entries, value_size;
};
[[nodiscard]] inline NodeHeader node_header(const Block& b) noexcept {
  const std::uint8_t* p = b.data();
  return {load_le<std::uint32_t>(p), load_le<std::uint32_t>(p + 4), load_le<std::uint64_t>(p + 8),
          load_le<std::uint32_t>(p + 16), load_le<std::uint32_t>(p + 20),
          load_le<std::uint32_t>(p + 24)};
}
// REQUIRES: a header that passed validation (i < max_entries, arrays inside the block).
[[nodiscard]] inline std::uint64_t node_key(const Block& b, std::size_t i) noexcept {
  return load_le<std::uint64_t>(b.data() + kNodeHeader + 8 * i);
}
[[nodiscard]] inline const std::uint8_t* node_value(const Block& b, const NodeHeader& h,
                                                    std::size_t i) noexcept {
  return b.data() + kNodeHeader + 8 * static_cast<std::size_t>(h.max_entries) +
         static_cast<std::size_t>(h.value_size) * i;
}

// --- space-map index entry (§5.2), metadata index block (§5.5), bitmap (§5.3) ---
struct IndexEntry {
  BlockNr blocknr = 0;
  std::uint32_t nr_free = 0;
  std::uint32_t none_free_before = 0;
};
[[nodiscard]] inline IndexEntry index_entry(const std::uint8_t* p) noexcept {
  return {load_le<std::uint64_t>(p), load_le<std::uint32_t>(p + 8), load_le<std::uint32_t>(p + 12)};
}
inline constexpr std::size_t kIndexBlockEntries = 16;  // offset of entry 0 in the index block
inline constexpr std::size_t kIndexEntrySize = 16;
inline constexpr std::size_t kBitmapHeader = 16;

// The 2-bit count of entry e: bit 2*(e%32) of LE word e/32 is the HIGH bit (§5.3).
[[nodiscard]] inline unsigned bitmap_value(const Block& b, std::uint64_t e) noexcept {
  const std::uint64_t word = load_le<std::uint64_t>(b.data() + kBitmapHeader + 8 * (e / 32));
  const unsigned shift = static_cast<unsigned>(2 * (e % 32));
  const unsigned high = static_cast<unsigned>((word >> shift) & 1u);
  const unsigned low = static_cast<unsigned>((word >> (shift + 1)) & 1u);
  return (high << 1) | low;
}

// --- dm-array block (§6.1) ---
inline constexpr std::size_t kArrayHeader = 24;
struct ArrayHeader {
  std::uint32_t csum, max_entries, nr_entries, value_size;
  std::uint64_t blocknr;
};
[[nodiscard]] inline ArrayHeader array_header(const Block& b) noexcept {
  const std::uint8_t* p = b.data();
  return {load_le<std::uint32_t>(p), load_le<std::uint32_t>(p + 4), load_le<std::uint32_t>(p + 8),
          load_le<std::uint32_t>(p + 12), load_le<std::uint64_t>(p + 16)};
}
[[nodiscard]] constexpr std::uint64_t array_max_entries(std::uint64_t value_size) noexcept {
  return (kBlockSize - kArrayHeader) / value_size;
}
static_assert(array_max_entries(4) == 1018 && array_max_entries(8) == 509);

}  // namespace pdsim::check::layout
