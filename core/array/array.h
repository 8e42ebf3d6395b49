// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — dm-array (algorithms.md §6): a persistent array of fixed-size values, stored as a
// single-level btree from array-block index to array-block location. Array blocks are
// copy-on-write and may be shared; the btree's value type (array-block pointer) keeps their
// counts, and the element type keeps the counts of what elements reference.
//
// Sharing: an array block is copied on write when its own count is above one or it belongs to a
// committed transaction (it is not a shadow of this one). A second owner of the whole array (a
// reference taken on its root) must therefore be taken at a transaction boundary, before any set
// of that transaction — exactly the kernel's rule (no in-tree user shares arrays otherwise).
//
// The array's length is not stored; the owner keeps it and passes it to resize. Calls that may
// change the root take it by reference and update it as soon as it changes (as the kernel does:
// a set that shadows a block and then finds the index out of range has still moved the root).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "core/btree/btree.h"

namespace pdsim::array {

inline constexpr std::size_t kArrayHeaderSize = 24;

namespace off {
inline constexpr std::size_t csum = 0;
inline constexpr std::size_t max_entries = 4;
inline constexpr std::size_t nr_entries = 8;
inline constexpr std::size_t value_size = 12;
inline constexpr std::size_t blocknr = 16;
}  // namespace off

// floor((4096 - 24) / value_size): 1018 for 4-byte values, 509 for 8-byte values.
[[nodiscard]] constexpr std::uint32_t entries_per_block(std::uint32_t value_size) noexcept {
  return static_cast<std::uint32_t>((kBlockSize - kArrayHeaderSize) / value_size);
}
static_assert(entries_per_block(4) == 1018);
static_assert(entries_per_block(8) == 509);

// Array blocks: blocknr at offset 16, checksum salt 595846735, then value_size != 0,
// max_entries == floor((4096 - 24) / value_size), nr_entries <= max_entries.
[[nodiscard]] const Validator& array_block_validator();

struct Info {
  TransactionManager* tm = nullptr;
  btree::ValueType element;  // the element type (size, inc, dec, equal)
  btree::Info btree;         // key: block index; value: array-block location (the pointer type)
};
[[nodiscard]] Info make_info(TransactionManager& tm, btree::ValueType element);

using btree::Value;
using btree::ValueSpan;

[[nodiscard]] Result<BlockNr> create_empty(Info& info);
// Grows or shrinks from old_size to new_size elements; new elements are `fill` (one reference
// taken per added element). Shrinking always drops the blocks past the new length.
[[nodiscard]] Status resize(Info& info, BlockNr& root, std::uint32_t old_size, std::uint32_t new_size, ValueSpan fill);
// nullopt when the index is beyond the stored blocks or the block's entries.
[[nodiscard]] Result<std::optional<Value>> get(Info& info, BlockNr root, std::uint32_t index);
// ErrorKind::no_data when the index is not stored.
[[nodiscard]] Status set(Info& info, BlockNr& root, std::uint32_t index, ValueSpan value);
// A new array of `size` elements, element i = fn(i).
[[nodiscard]] Result<BlockNr> create_from(Info& info, std::uint32_t size,
                                          const std::function<Result<Value>(std::uint32_t)>& fn);
// Visits elements in index order; return false to stop.
[[nodiscard]] Status walk(Info& info, BlockNr root,
                          const std::function<Result<bool>(std::uint32_t index, ValueSpan value)>& fn);
[[nodiscard]] Status del(Info& info, BlockNr root);

}  // namespace pdsim::array
