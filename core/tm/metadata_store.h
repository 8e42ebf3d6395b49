// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — the metadata-store protocol: what every persistent-data metadata format (the thin pool,
// the cache, the scenarios' engine store) does the same way, written once, so that the
// crash-safety rule lives in one place.
//
//  * The superblock is block 0. Its validator is a header validator (checksum salt, blocknr
//    field) that also checks a 64-bit magic; each format names its own salt, offsets and magic.
//  * Commit (commit_transaction): the store's own steps first (device details, the data space
//    map's commit); then TransactionManager::pre_commit writes and flushes every dirty block but
//    the superblock; then every space map's root is serialised, before the superblock is locked,
//    because nothing may fail once it is; then the store fills the superblock and
//    TransactionManager::commit writes it and flushes. A failure at any step leaves the durable
//    superblock the previous one.
//  * Abort (abort_transaction): the transaction manager forgets its shadows and drops the block
//    cache; then the device is flushed before the store reads its superblock back. After a
//    commit whose final flush failed, the new superblock may sit in the device's volatile cache:
//    carrying on from it while the disk holds the old one would let the next transaction reuse
//    blocks the durable superblock references. If that flush fails, nothing is known and the
//    caller stops. AbortFlush::kernel_no_flush is dm-thin's abort, which does not flush: it is
//    safe there only because the pool never writes again after a failed commit (NEEDS_CHECK and
//    read-only, core/thin/pool.h).
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "core/block/validator.h"
#include "core/common/result.h"
#include "core/io/block_device.h"
#include "core/sm/space_map.h"
#include "core/tm/transaction_manager.h"

namespace pdsim {

inline constexpr BlockNr kStoreSuperblockLocation = 0;

struct SuperblockLayout {
  std::string name;           // "thin superblock": the start of every error message
  std::uint32_t salt;         // checksum salt
  std::size_t blocknr_offset;
  std::size_t magic_offset;
  std::uint64_t magic;
};

class SuperblockValidator final : public HeaderValidator {
 public:
  explicit SuperblockValidator(SuperblockLayout layout);
  [[nodiscard]] Status check(ConstBlockSpan data, BlockNr b) const override;

 private:
  SuperblockLayout layout_;
};

// True when every byte of the block is zero (a device never formatted).
[[nodiscard]] bool block_is_all_zero(ConstBlockSpan data);

// Reads the committed superblock through its validator. Returns a copy, so no lock outlives the
// call.
[[nodiscard]] Result<Block> read_superblock(BlockManager& bm, const Validator& superblock_validator);

// The same for a device that may never have been formatted: block 0 must not be all zeros
// ("<device> is not formatted: block 0 is all zeros", not a checksum error); then the cache is
// dropped and the block read again through its validator.
[[nodiscard]] Result<Block> read_formatted_superblock(BlockManager& bm, const Validator& superblock_validator,
                                                      std::string_view device);

// How the superblock is locked for the commit: keeping what it holds (the store rewrites some
// fields) or zeroed (the store writes every field).
enum class SuperblockLock { keep_contents, zero };

// Fills the locked superblock; `roots` are the serialised roots of the maps passed to
// commit_transaction, in the same order.
using FillSuperblock = std::function<void(std::uint8_t* superblock, std::span<const SpaceMapRoot> roots)>;

// The commit steps after the store's own (see above). `maps` are the space maps whose roots the
// superblock records; at most four.
[[nodiscard]] Status commit_transaction(TransactionManager& tm, const Validator& superblock_validator,
                                        std::initializer_list<SpaceMap*> maps, SuperblockLock lock,
                                        const FillSuperblock& fill);

enum class AbortFlush {
  flush_device,     // the rule: make the device durable before reading the superblock back
  kernel_no_flush,  // dm-thin's abort (see above); only for a store that never writes again
};

// The abort steps before the store reads its superblock back and reopens its space maps.
[[nodiscard]] Status abort_transaction(TransactionManager& tm, BlockDevice& dev, AbortFlush flush);

}  // namespace pdsim
