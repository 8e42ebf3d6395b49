// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/common/crc32c.h"

#include <array>
#include <cstring>

namespace pdsim {
namespace {

constexpr std::uint32_t kPoly = 0x82F63B78u;

struct Tables {
  std::array<std::array<std::uint32_t, 256>, 8> t{};
  constexpr Tables() {
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ kPoly : c >> 1;
      t[0][i] = c;
    }
    for (std::size_t i = 0; i < 256; ++i)
      for (std::size_t s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFFu];
  }
};

constexpr Tables kTables{};

using Fn = std::uint32_t (*)(std::uint32_t, const void*, std::size_t) noexcept;

Fn choose() noexcept { return crc32c_hardware_available() ? &crc32c_hardware : &crc32c_portable; }

const Fn kChosen = choose();

}  // namespace

std::uint32_t crc32c_portable(std::uint32_t crc, const void* data, std::size_t len) noexcept {
  const auto* p = static_cast<const std::uint8_t*>(data);
  const auto& t = kTables.t;
  while (len >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    w ^= crc;
    crc = t[7][w & 0xFF] ^ t[6][(w >> 8) & 0xFF] ^ t[5][(w >> 16) & 0xFF] ^ t[4][(w >> 24) & 0xFF] ^
          t[3][(w >> 32) & 0xFF] ^ t[2][(w >> 40) & 0xFF] ^ t[1][(w >> 48) & 0xFF] ^ t[0][w >> 56];
    p += 8;
    len -= 8;
  }
  while (len-- > 0) crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xFFu];
  return crc;
}

bool crc32c_hardware_available() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_cpu_supports("sse4.2");
#else
  return false;
#endif
}

std::uint32_t crc32c_raw(std::uint32_t crc, const void* data, std::size_t len) noexcept {
  return kChosen(crc, data, len);
}

std::string_view crc32c_implementation() noexcept {
  return crc32c_hardware_available() ? "sse4.2" : "portable";
}

}  // namespace pdsim
