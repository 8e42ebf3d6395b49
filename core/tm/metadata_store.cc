// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/tm/metadata_store.h"

#include <algorithm>
#include <array>
#include <utility>

#include <fmt/format.h>

#include "core/common/assert.h"
#include "core/common/endian.h"

namespace pdsim {

SuperblockValidator::SuperblockValidator(SuperblockLayout layout)
    : HeaderValidator(layout.name, layout.salt, layout.blocknr_offset), layout_(std::move(layout)) {}

Status SuperblockValidator::check(ConstBlockSpan data, BlockNr b) const {
  const auto nr = load_le<std::uint64_t>(data.data() + layout_.blocknr_offset);
  if (nr != b) return Error::corruption(fmt::format("{} at block {}: blocknr field says {}", layout_.name, b, nr));
  const auto magic = load_le<std::uint64_t>(data.data() + layout_.magic_offset);
  if (magic != layout_.magic)
    return Error::corruption(
        fmt::format("{} at block {}: bad magic {} (expected {})", layout_.name, b, magic, layout_.magic));
  return HeaderValidator::check(data, b);
}

bool block_is_all_zero(ConstBlockSpan data) {
  return std::all_of(data.begin(), data.end(), [](std::uint8_t c) { return c == 0; });
}

Result<Block> read_superblock(BlockManager& bm, const Validator& superblock_validator) {
  PDSIM_TRY_ASSIGN(ReadRef r, bm.read_lock(kStoreSuperblockLocation, &superblock_validator));
  Block copy{};
  std::copy(r.data().begin(), r.data().end(), copy.begin());
  return copy;
}

Result<Block> read_formatted_superblock(BlockManager& bm, const Validator& superblock_validator,
                                        std::string_view device) {
  {
    PDSIM_TRY_ASSIGN(ReadRef raw, bm.read_lock(kStoreSuperblockLocation, nullptr));
    if (block_is_all_zero(raw.data()))
      return Error::invalid(fmt::format("{} is not formatted: block 0 is all zeros", device));
  }
  bm.discard_all();  // read block 0 again, through its validator
  return read_superblock(bm, superblock_validator);
}

Status commit_transaction(TransactionManager& tm, const Validator& superblock_validator,
                          std::initializer_list<SpaceMap*> maps, SuperblockLock lock,
                          const FillSuperblock& fill) {
  PDSIM_ASSERT(maps.size() <= 4, "a superblock records at most four space-map roots");
  PDSIM_TRY(tm.pre_commit());
  // Serialise every root before the superblock is locked: nothing may fail once it is.
  std::array<SpaceMapRoot, 4> roots{};
  std::size_t n = 0;
  for (SpaceMap* sm : maps) {
    PDSIM_TRY_ASSIGN(roots[n], sm->copy_root());
    ++n;
  }
  BlockManager& bm = tm.block_manager();
  PDSIM_TRY_ASSIGN(WriteRef w, lock == SuperblockLock::zero
                                   ? bm.write_lock_zero(kStoreSuperblockLocation, &superblock_validator)
                                   : bm.write_lock(kStoreSuperblockLocation, &superblock_validator));
  fill(w.data().data(), std::span<const SpaceMapRoot>(roots.data(), n));
  return tm.commit(std::move(w));
}

Status abort_transaction(TransactionManager& tm, BlockDevice& dev, AbortFlush flush) {
  tm.abort();
  if (flush == AbortFlush::flush_device) PDSIM_TRY(dev.flush());
  return {};
}

}  // namespace pdsim
