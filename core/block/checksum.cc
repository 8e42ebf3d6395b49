// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/block/checksum.h"

#include "core/common/crc32c.h"
#include "core/common/endian.h"

namespace pdsim {

std::uint32_t block_checksum(ConstBlockSpan block, std::uint32_t salt) noexcept {
  return crc32c_raw(0xFFFFFFFFu, block.data() + kChecksummedBytesStart, kBlockSize - kChecksummedBytesStart) ^
         salt;
}

std::uint32_t stored_checksum(ConstBlockSpan block) noexcept {
  return load_le<std::uint32_t>(block.data() + kChecksumOffset);
}

void stamp_checksum(BlockSpan block, std::uint32_t salt) noexcept {
  store_le<std::uint32_t>(block.data() + kChecksumOffset, block_checksum(block, salt));
}

}  // namespace pdsim
