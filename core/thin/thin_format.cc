// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/thin/thin_format.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/block/checksum.h"
#include "core/tm/metadata_store.h"

namespace pdsim::thin {
const Validator& superblock_validator() {
  static const SuperblockValidator v({"thin superblock", salt::thin_superblock, sb::blocknr, sb::magic, kSuperblockMagic});
  return v;
}

Superblock Superblock::unpack(const std::uint8_t* d) {
  Superblock s;
  s.flags = load_le<std::uint32_t>(d + sb::flags);
  std::copy(d + sb::uuid, d + sb::uuid + 16, s.uuid.begin());
  s.magic = load_le<std::uint64_t>(d + sb::magic);
  s.version = load_le<std::uint32_t>(d + sb::version);
  s.time = load_le<std::uint32_t>(d + sb::time);
  s.trans_id = load_le<std::uint64_t>(d + sb::trans_id);
  s.held_root = load_le<std::uint64_t>(d + sb::held_root);
  std::copy(d + sb::data_sm_root, d + sb::data_sm_root + kSpaceMapRootSize, s.data_sm_root.begin());
  std::copy(d + sb::metadata_sm_root, d + sb::metadata_sm_root + kSpaceMapRootSize, s.metadata_sm_root.begin());
  s.data_mapping_root = load_le<std::uint64_t>(d + sb::data_mapping_root);
  s.device_details_root = load_le<std::uint64_t>(d + sb::device_details_root);
  s.data_block_size = load_le<std::uint32_t>(d + sb::data_block_size);
  s.metadata_block_size = load_le<std::uint32_t>(d + sb::metadata_block_size);
  s.metadata_nr_blocks = load_le<std::uint64_t>(d + sb::metadata_nr_blocks);
  s.compat_flags = load_le<std::uint32_t>(d + sb::compat_flags);
  s.compat_ro_flags = load_le<std::uint32_t>(d + sb::compat_ro_flags);
  s.incompat_flags = load_le<std::uint32_t>(d + sb::incompat_flags);
  return s;
}

void Superblock::pack(std::uint8_t* d) const {
  store_le<std::uint32_t>(d + sb::flags, flags);
  std::copy(uuid.begin(), uuid.end(), d + sb::uuid);
  store_le<std::uint64_t>(d + sb::magic, magic);
  store_le<std::uint32_t>(d + sb::version, version);
  store_le<std::uint32_t>(d + sb::time, time);
  store_le<std::uint64_t>(d + sb::trans_id, trans_id);
  store_le<std::uint64_t>(d + sb::held_root, held_root);
  std::fill(d + sb::data_sm_root, d + sb::data_sm_root + 2 * kSpaceMapRootField, std::uint8_t{0});
  std::copy(data_sm_root.begin(), data_sm_root.end(), d + sb::data_sm_root);
  std::copy(metadata_sm_root.begin(), metadata_sm_root.end(), d + sb::metadata_sm_root);
  store_le<std::uint64_t>(d + sb::data_mapping_root, data_mapping_root);
  store_le<std::uint64_t>(d + sb::device_details_root, device_details_root);
  store_le<std::uint32_t>(d + sb::data_block_size, data_block_size);
  store_le<std::uint32_t>(d + sb::metadata_block_size, metadata_block_size);
  store_le<std::uint64_t>(d + sb::metadata_nr_blocks, metadata_nr_blocks);
  store_le<std::uint32_t>(d + sb::compat_flags, compat_flags);
  store_le<std::uint32_t>(d + sb::compat_ro_flags, compat_ro_flags);
  store_le<std::uint32_t>(d + sb::incompat_flags, incompat_flags);
}

}  // namespace pdsim::thin
