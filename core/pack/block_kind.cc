// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/pack/block_kind.h"

#include <array>
#include <utility>

#include "core/block/checksum.h"

namespace pdsim::pack {
namespace {

// The era superblock's salt is not in core/block (no era engine yet); the pack format needs it.
constexpr std::uint32_t kEraSuperblockSalt = 146538381;

constexpr std::array<std::pair<BlockKind, std::uint32_t>, 7> kSalts{{
    {BlockKind::thin_superblock, salt::thin_superblock},
    {BlockKind::cache_superblock, salt::cache_superblock},
    {BlockKind::era_superblock, kEraSuperblockSalt},
    {BlockKind::btree_node, salt::btree_node},
    {BlockKind::sm_bitmap, salt::sm_bitmap},
    {BlockKind::sm_index, salt::sm_index},
    {BlockKind::array_block, salt::array_block},
}};

}  // namespace

std::uint32_t salt_of(BlockKind kind) noexcept {
  for (const auto& [k, s] : kSalts)
    if (k == kind) return s;
  return 0;
}

std::string_view to_string(BlockKind kind) noexcept {
  switch (kind) {
    case BlockKind::thin_superblock: return "thin superblock";
    case BlockKind::cache_superblock: return "cache superblock";
    case BlockKind::era_superblock: return "era superblock";
    case BlockKind::btree_node: return "btree node";
    case BlockKind::sm_bitmap: return "space-map bitmap";
    case BlockKind::sm_index: return "space-map index";
    case BlockKind::array_block: return "array block";
  }
  return "unknown";
}

std::optional<BlockKind> classify_block(ConstBlockSpan block) noexcept {
  // block_checksum with salt 0 is the raw CRC; stored XOR raw is the salt the writer used.
  const std::uint32_t used_salt = stored_checksum(block) ^ block_checksum(block, 0);
  for (const auto& [k, s] : kSalts)
    if (s == used_salt) return k;
  return std::nullopt;
}

}  // namespace pdsim::pack
