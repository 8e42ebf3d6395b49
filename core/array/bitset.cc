// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/array/bitset.h"

#include <fmt/format.h>

#include "core/common/endian.h"

namespace pdsim::array {

Bitset::Bitset(TransactionManager& tm) : info_(make_info(tm, btree::plain_value_type(8))) {}

Status Bitset::resize(BlockNr& root, std::uint32_t old_bits, std::uint32_t new_bits, bool fill) {
  std::array<std::uint8_t, 8> w{};
  store_le<std::uint64_t>(w.data(), fill ? ~0ull : 0ull);
  return array::resize(info_, root, words_for(old_bits), words_for(new_bits), w);
}

Result<BlockNr> Bitset::create_from(std::uint32_t nr_bits, const std::function<Result<bool>(std::uint32_t)>& fn) {
  return array::create_from(info_, words_for(nr_bits), [&](std::uint32_t word_index) -> Result<Value> {
    std::uint64_t word = 0;
    for (std::uint32_t i = 0; i < 64; ++i) {
      const std::uint64_t bit = static_cast<std::uint64_t>(word_index) * 64 + i;
      if (bit >= nr_bits) break;  // bits past nr_bits stay 0
      PDSIM_TRY_ASSIGN(bool on, fn(static_cast<std::uint32_t>(bit)));
      if (on) word |= 1ull << i;
    }
    Value v(8);
    store_le<std::uint64_t>(v.data(), word);
    return v;
  });
}

Status Bitset::flush(BlockNr& root) {
  if (!cached_ || !cached_->dirty) return {};
  std::array<std::uint8_t, 8> w{};
  store_le<std::uint64_t>(w.data(), cached_->word);
  PDSIM_TRY(array::set(info_, root, cached_->index, w));
  cached_.reset();
  return {};
}

Result<std::uint64_t*> Bitset::word_for(BlockNr& root, std::uint32_t bit) {
  const std::uint32_t index = bit / 64;
  if (cached_ && cached_->index != index) PDSIM_TRY(flush(root));
  if (!cached_ || cached_->index != index) {
    PDSIM_TRY_ASSIGN(auto v, array::get(info_, root, index));
    if (!v) return Error::no_data(fmt::format("bitset: bit {} is beyond the bitset", bit));
    cached_ = Cached{index, load_le<std::uint64_t>(v->data()), false};
  }
  return &cached_->word;
}

Result<bool> Bitset::test(BlockNr& root, std::uint32_t bit) {
  PDSIM_TRY_ASSIGN(std::uint64_t * w, word_for(root, bit));
  return ((*w >> (bit % 64)) & 1u) != 0;
}

Status Bitset::change(BlockNr& root, std::uint32_t bit, bool value) {
  PDSIM_TRY_ASSIGN(std::uint64_t * w, word_for(root, bit));
  const std::uint64_t mask = 1ull << (bit % 64);
  *w = value ? (*w | mask) : (*w & ~mask);
  cached_->dirty = true;
  return {};
}

}  // namespace pdsim::array
