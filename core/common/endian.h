// SPDX-License-Identifier: GPL-2.0-or-later
// Little-endian loads and stores for on-disk fields (every multi-byte integer on disk is LE).
#pragma once

#include <cstdint>
#include <cstring>

namespace pdsim {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "pdsim assumes a little-endian host");

template <typename T>
[[nodiscard]] inline T load_le(const std::uint8_t* p) noexcept {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <typename T>
inline void store_le(std::uint8_t* p, T v) noexcept {
  std::memcpy(p, &v, sizeof v);
}

}  // namespace pdsim
