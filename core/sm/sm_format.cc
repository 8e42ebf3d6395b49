// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/sm/sm_format.h"

#include "core/block/checksum.h"

namespace pdsim::sm {

bool bitmap_word_full(const std::uint8_t* block, std::uint32_t e) {
  const auto w = load_le<std::uint64_t>(block + kBitmapHeaderSize + (e / 32) * 8);
  // Each entry is two adjacent bits; an entry is non-zero when either bit is set.
  const std::uint64_t either = (w | (w >> 1)) & 0x5555555555555555ull;
  return either == 0x5555555555555555ull;
}

const Validator& bitmap_validator() {
  static const HeaderValidator v("space-map bitmap", salt::sm_bitmap, 8);
  return v;
}

const Validator& index_validator() {
  static const HeaderValidator v("space-map index", salt::sm_index, 8);
  return v;
}

}  // namespace pdsim::sm
