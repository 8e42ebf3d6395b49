// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/block/validator.h"

#include <fmt/format.h>

#include "core/block/checksum.h"
#include "core/common/endian.h"

namespace pdsim {

void HeaderValidator::prepare_for_write(BlockSpan data, BlockNr b) const {
  store_le<std::uint64_t>(data.data() + blocknr_offset_, b);
  stamp_checksum(data, salt_);
}

Status HeaderValidator::check(ConstBlockSpan data, BlockNr b) const {
  auto stored_nr = load_le<std::uint64_t>(data.data() + blocknr_offset_);
  if (stored_nr != b)
    return Error::corruption(fmt::format("block {} is not a valid {}: its block-number field says {} (a misplaced block, "
                                         "or a block of another kind)", b, name_, stored_nr));
  std::uint32_t want = block_checksum(data, salt_);
  std::uint32_t have = stored_checksum(data);
  if (want != have)
    return Error::corruption(
        fmt::format("block {} ({}): bad checksum, stored {:#010x}, computed {:#010x}", b, name_, have, want));
  return {};
}

}  // namespace pdsim
