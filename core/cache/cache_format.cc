// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/cache/cache_format.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "core/block/checksum.h"
#include "core/tm/metadata_store.h"

namespace pdsim::cache {

std::optional<std::size_t> bad_policy_name_byte(std::string_view name) noexcept {
  for (std::size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\'' || c == '&' || c == '<' || c == '>') return i;
  }
  return std::nullopt;
}
const Validator& superblock_validator() {
  static const SuperblockValidator v({"cache superblock", salt::cache_superblock, sb::blocknr, sb::magic, kSuperblockMagic});
  return v;
}

Superblock Superblock::unpack(const std::uint8_t* d) {
  Superblock s;
  s.flags = load_le<std::uint32_t>(d + sb::flags);
  std::copy(d + sb::uuid, d + sb::uuid + 16, s.uuid.begin());
  s.magic = load_le<std::uint64_t>(d + sb::magic);
  s.version = load_le<std::uint32_t>(d + sb::version);
  const char* name = reinterpret_cast<const char*>(d + sb::policy_name);
  s.policy_name.assign(name, strnlen(name, kPolicyNameSize));
  s.policy_hint_size = load_le<std::uint32_t>(d + sb::policy_hint_size);
  std::copy(d + sb::metadata_sm_root, d + sb::metadata_sm_root + kSpaceMapRootSize, s.metadata_sm_root.begin());
  s.mapping_root = load_le<std::uint64_t>(d + sb::mapping_root);
  s.hint_root = load_le<std::uint64_t>(d + sb::hint_root);
  s.discard_root = load_le<std::uint64_t>(d + sb::discard_root);
  s.discard_block_size = load_le<std::uint64_t>(d + sb::discard_block_size);
  s.discard_nr_blocks = load_le<std::uint64_t>(d + sb::discard_nr_blocks);
  s.data_block_size = load_le<std::uint32_t>(d + sb::data_block_size);
  s.metadata_block_size = load_le<std::uint32_t>(d + sb::metadata_block_size);
  s.cache_blocks = load_le<std::uint32_t>(d + sb::cache_blocks);
  s.compat_flags = load_le<std::uint32_t>(d + sb::compat_flags);
  s.compat_ro_flags = load_le<std::uint32_t>(d + sb::compat_ro_flags);
  s.incompat_flags = load_le<std::uint32_t>(d + sb::incompat_flags);
  s.stats = Stats{load_le<std::uint32_t>(d + sb::read_hits), load_le<std::uint32_t>(d + sb::read_misses),
                  load_le<std::uint32_t>(d + sb::write_hits), load_le<std::uint32_t>(d + sb::write_misses)};
  for (std::size_t i = 0; i < 3; ++i) s.policy_version[i] = load_le<std::uint32_t>(d + sb::policy_version + 4 * i);
  // Version 1 has no dirty root: the bytes past 284 are not part of its superblock.
  s.dirty_root = s.version >= 2 ? load_le<std::uint64_t>(d + sb::dirty_root) : 0;
  return s;
}

void Superblock::pack(std::uint8_t* d) const {
  store_le<std::uint32_t>(d + sb::flags, flags);
  std::copy(uuid.begin(), uuid.end(), d + sb::uuid);
  store_le<std::uint64_t>(d + sb::magic, magic);
  store_le<std::uint32_t>(d + sb::version, version);
  std::fill(d + sb::policy_name, d + sb::policy_name + kPolicyNameSize, std::uint8_t{0});
  std::memcpy(d + sb::policy_name, policy_name.data(), std::min(policy_name.size(), kPolicyNameSize - 1));
  store_le<std::uint32_t>(d + sb::policy_hint_size, policy_hint_size);
  std::fill(d + sb::metadata_sm_root, d + sb::metadata_sm_root + kSpaceMapRootField, std::uint8_t{0});
  std::copy(metadata_sm_root.begin(), metadata_sm_root.end(), d + sb::metadata_sm_root);
  store_le<std::uint64_t>(d + sb::mapping_root, mapping_root);
  store_le<std::uint64_t>(d + sb::hint_root, hint_root);
  store_le<std::uint64_t>(d + sb::discard_root, discard_root);
  store_le<std::uint64_t>(d + sb::discard_block_size, discard_block_size);
  store_le<std::uint64_t>(d + sb::discard_nr_blocks, discard_nr_blocks);
  store_le<std::uint32_t>(d + sb::data_block_size, data_block_size);
  store_le<std::uint32_t>(d + sb::metadata_block_size, metadata_block_size);
  store_le<std::uint32_t>(d + sb::cache_blocks, cache_blocks);
  store_le<std::uint32_t>(d + sb::compat_flags, compat_flags);
  store_le<std::uint32_t>(d + sb::compat_ro_flags, compat_ro_flags);
  store_le<std::uint32_t>(d + sb::incompat_flags, incompat_flags);
  store_le<std::uint32_t>(d + sb::read_hits, stats.read_hits);
  store_le<std::uint32_t>(d + sb::read_misses, stats.read_misses);
  store_le<std::uint32_t>(d + sb::write_hits, stats.write_hits);
  store_le<std::uint32_t>(d + sb::write_misses, stats.write_misses);
  for (std::size_t i = 0; i < 3; ++i) store_le<std::uint32_t>(d + sb::policy_version + 4 * i, policy_version[i]);
  if (version >= 2) store_le<std::uint64_t>(d + sb::dirty_root, dirty_root);
}

}  // namespace pdsim::cache
