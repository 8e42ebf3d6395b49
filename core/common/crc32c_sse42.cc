// SPDX-License-Identifier: GPL-2.0-or-later
// Compiled with -msse4.2 (see core/CMakeLists.txt); only called after a run-time CPU check.
#include <cstring>

#include "core/common/crc32c.h"

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace pdsim {

std::uint32_t crc32c_hardware(std::uint32_t crc, const void* data, std::size_t len) noexcept {
#if defined(__x86_64__)
  const auto* p = static_cast<const std::uint8_t*>(data);
  std::uint64_t c = crc;
  while (len >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    c = _mm_crc32_u64(c, w);
    p += 8;
    len -= 8;
  }
  auto c32 = static_cast<std::uint32_t>(c);
  while (len-- > 0) c32 = _mm_crc32_u8(c32, *p++);
  return c32;
#else
  return crc32c_portable(crc, data, len);
#endif
}

}  // namespace pdsim
