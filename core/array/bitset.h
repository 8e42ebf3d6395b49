// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — dm-bitset (algorithms.md §7): a dm-array of u64 words, bit i is bit i%64 of word i/64.
// One word is cached in memory (index, value, dirty); test/set/clear go through it, and flush()
// writes a dirty cached word back with array set and then invalidates the cache. Clients flush
// before commit. Resize, create_from and del leave the cached word alone, as the kernel does.
#pragma once

#include <functional>
#include <optional>

#include "core/array/array.h"

namespace pdsim::array {

class Bitset {
 public:
  explicit Bitset(TransactionManager& tm);

  [[nodiscard]] Result<BlockNr> create_empty() { return array::create_empty(info_); }
  [[nodiscard]] Status resize(BlockNr& root, std::uint32_t old_bits, std::uint32_t new_bits, bool fill);
  [[nodiscard]] Result<BlockNr> create_from(std::uint32_t nr_bits, const std::function<Result<bool>(std::uint32_t)>& fn);
  [[nodiscard]] Status del(BlockNr root) { return array::del(info_, root); }

  [[nodiscard]] Result<bool> test(BlockNr& root, std::uint32_t bit);
  [[nodiscard]] Status set(BlockNr& root, std::uint32_t bit) { return change(root, bit, true); }
  [[nodiscard]] Status clear(BlockNr& root, std::uint32_t bit) { return change(root, bit, false); }
  // Writes a dirty cached word (array set, which may move the root) and invalidates the cache.
  [[nodiscard]] Status flush(BlockNr& root);

  [[nodiscard]] static std::uint32_t words_for(std::uint32_t bits) { return (bits + 63) / 64; }

 private:
  struct Cached {
    std::uint32_t index;
    std::uint64_t word;
    bool dirty;
  };
  [[nodiscard]] Result<std::uint64_t*> word_for(BlockNr& root, std::uint32_t bit);
  [[nodiscard]] Status change(BlockNr& root, std::uint32_t bit, bool value);

  Info info_;
  std::optional<Cached> cached_;
};

}  // namespace pdsim::array
