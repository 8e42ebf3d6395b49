// SPDX-License-Identifier: GPL-2.0-or-later
// The btree node layout (ondisk-format.md §4): a 32-byte header, max_entries u64 keys, then
// max_entries values of value_size bytes, all little-endian. NodeView reads one; NodeEdit also
// writes. Both are thin views over a locked block's bytes: they own nothing.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>

#include "core/common/assert.h"
#include "core/block/validator.h"
#include "core/common/endian.h"
#include "core/io/block_device.h"

namespace pdsim::btree {

inline constexpr std::size_t kNodeHeaderSize = 32;
inline constexpr std::uint32_t kInternalFlag = 1;
inline constexpr std::uint32_t kLeafFlag = 2;
inline constexpr std::size_t kMaxValueSize = 64;

// max_entries = 3 * floor(floor((4096 - 32) / (8 + value_size)) / 3)
[[nodiscard]] constexpr std::uint32_t max_entries_for(std::size_t value_size) noexcept {
  return static_cast<std::uint32_t>(3 * (((kBlockSize - kNodeHeaderSize) / (8 + value_size)) / 3));
}
static_assert(max_entries_for(4) == 336);
static_assert(max_entries_for(8) == 252);
static_assert(max_entries_for(16) == 168);
static_assert(max_entries_for(24) == 126);

namespace off {
inline constexpr std::size_t csum = 0;
inline constexpr std::size_t flags = 4;
inline constexpr std::size_t blocknr = 8;
inline constexpr std::size_t nr_entries = 16;
inline constexpr std::size_t max_entries = 20;
inline constexpr std::size_t value_size = 24;
}  // namespace off

class NodeView {
 public:
  explicit NodeView(std::span<const std::uint8_t, kBlockSize> data) : d_(data.data()) {}
  explicit NodeView(const std::uint8_t* data) : d_(data) {}

  [[nodiscard]] std::uint32_t flags() const { return load_le<std::uint32_t>(d_ + off::flags); }
  [[nodiscard]] bool is_leaf() const { return (flags() & kLeafFlag) != 0; }
  [[nodiscard]] bool is_internal() const { return (flags() & kInternalFlag) != 0; }
  [[nodiscard]] std::uint64_t blocknr() const { return load_le<std::uint64_t>(d_ + off::blocknr); }
  [[nodiscard]] std::uint32_t nr_entries() const { return load_le<std::uint32_t>(d_ + off::nr_entries); }
  [[nodiscard]] std::uint32_t max_entries() const { return load_le<std::uint32_t>(d_ + off::max_entries); }
  [[nodiscard]] std::uint32_t value_size() const { return load_le<std::uint32_t>(d_ + off::value_size); }

  [[nodiscard]] std::uint64_t key(std::size_t i) const {
    return load_le<std::uint64_t>(d_ + kNodeHeaderSize + 8 * i);
  }
  [[nodiscard]] const std::uint8_t* value_ptr(std::size_t i) const {
    return d_ + kNodeHeaderSize + 8 * static_cast<std::size_t>(max_entries()) + value_size() * i;
  }
  [[nodiscard]] std::span<const std::uint8_t> value(std::size_t i) const { return {value_ptr(i), value_size()}; }
  // For internal nodes (and any 8-byte value): the value as a u64.
  [[nodiscard]] std::uint64_t value64(std::size_t i) const { return load_le<std::uint64_t>(value_ptr(i)); }

  // Greatest i with key(i) <= k, or -1 if none.
  [[nodiscard]] long lower_bound(std::uint64_t k) const {
    long lo = -1, hi = static_cast<long>(nr_entries());  // invariant: key(lo) <= k < key(hi)
    while (hi - lo > 1) {
      long mid = lo + (hi - lo) / 2;
      if (key(static_cast<std::size_t>(mid)) <= k) lo = mid;
      else hi = mid;
    }
    return lo;
  }

  [[nodiscard]] const std::uint8_t* raw() const { return d_; }

 private:
  const std::uint8_t* d_;
};

class NodeEdit : public NodeView {
 public:
  explicit NodeEdit(std::span<std::uint8_t, kBlockSize> data) : NodeView(data.data()), w_(data.data()) {}
  explicit NodeEdit(std::uint8_t* data) : NodeView(data), w_(data) {}

  // Writes a fresh, empty header.
  void init(std::uint32_t flags, std::uint32_t value_size) {
    std::memset(w_, 0, kNodeHeaderSize);
    store_le<std::uint32_t>(w_ + off::flags, flags);
    store_le<std::uint32_t>(w_ + off::nr_entries, 0);
    store_le<std::uint32_t>(w_ + off::max_entries, max_entries_for(value_size));
    store_le<std::uint32_t>(w_ + off::value_size, value_size);
  }
  void set_flags(std::uint32_t f) { store_le<std::uint32_t>(w_ + off::flags, f); }
  void set_nr_entries(std::uint32_t n) { store_le<std::uint32_t>(w_ + off::nr_entries, n); }
  void set_max_entries(std::uint32_t n) { store_le<std::uint32_t>(w_ + off::max_entries, n); }
  void set_value_size(std::uint32_t n) { store_le<std::uint32_t>(w_ + off::value_size, n); }
  void set_key(std::size_t i, std::uint64_t k) { store_le<std::uint64_t>(w_ + kNodeHeaderSize + 8 * i, k); }
  [[nodiscard]] std::uint8_t* value_ptr_mut(std::size_t i) {
    return w_ + kNodeHeaderSize + 8 * static_cast<std::size_t>(max_entries()) + value_size() * i;
  }
  void set_value(std::size_t i, std::span<const std::uint8_t> v) {
    PDSIM_ASSERT(v.size() == value_size(), "value of the wrong size for this node");
    std::memcpy(value_ptr_mut(i), v.data(), v.size());
  }
  void set_value64(std::size_t i, std::uint64_t v) { store_le<std::uint64_t>(value_ptr_mut(i), v); }
  [[nodiscard]] std::uint8_t* raw_mut() { return w_; }

 private:
  std::uint8_t* w_;
};

// The btree node validator: blocknr, checksum (salt 121107), then the node's shape:
// 32 + (8 + value_size) * max_entries <= 4096, nr_entries <= max_entries, INTERNAL or LEAF flag.
class NodeValidator final : public HeaderValidator {
 public:
  NodeValidator();
  [[nodiscard]] Status check(ConstBlockSpan data, BlockNr b) const override;
};

[[nodiscard]] const Validator& node_validator();

}  // namespace pdsim::btree
