// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — the transaction manager (algorithms.md §2): copy-on-write shadowing and the two-phase
// commit.
//
// Every block that belongs to the last committed transaction is immutable until the next commit.
// A block is written in place only if it was created or shadowed in this transaction *and* nobody
// else references it (count 1); otherwise shadow_block copies it to a fresh block and tells the
// caller whether it must increment the copy's children (the original was shared).
//
// Commit protocol: pre_commit() commits the space map and flushes every dirty block except the
// superblock; only if that succeeded does the caller lock the superblock, fill it from in-memory
// values only, and call commit(superblock), which releases it (marking it dirty) and flushes
// again. An error at any step leaves the durable state at the previous transaction.
#pragma once

#include <cstdint>
#include <unordered_set>

#include "core/block/block_manager.h"
#include "core/sm/space_map.h"

namespace pdsim {

class TransactionManager {
 public:
  // The space map may be attached after construction (the metadata space map needs the
  // transaction manager to exist first); every operation below that counts or allocates
  // REQUIRES: a space map is attached.
  explicit TransactionManager(BlockManager& bm, SpaceMap* sm = nullptr) : bm_(bm), sm_(sm) {}
  TransactionManager(const TransactionManager&) = delete;
  TransactionManager& operator=(const TransactionManager&) = delete;

  void set_space_map(SpaceMap* sm) { sm_ = sm; }
  [[nodiscard]] SpaceMap& space_map() { return *sm_; }
  [[nodiscard]] BlockManager& block_manager() { return bm_; }

  // Allocates a block (count 1), returns it write-locked and zero-filled, and records it as a
  // shadow of this transaction. Out of space is ErrorKind::no_space.
  [[nodiscard]] Result<WriteRef> new_block(const Validator* v);

  struct Shadow {
    WriteRef block;
    bool inc_children;  // the original was shared: the caller must increment the copy's children
  };
  // Copy-on-write (algorithms.md §2.2).
  [[nodiscard]] Result<Shadow> shadow_block(BlockNr orig, const Validator* v);

  [[nodiscard]] Result<ReadRef> read_lock(BlockNr b, const Validator* v) { return bm_.read_lock(b, v); }

  [[nodiscard]] Status inc(BlockNr b) { return sm_->inc(b); }
  [[nodiscard]] Status dec(BlockNr b) { return sm_->dec(b); }
  [[nodiscard]] Status inc_range(BlockNr begin, BlockNr end) { return sm_->inc(begin, end); }
  [[nodiscard]] Status dec_range(BlockNr begin, BlockNr end) { return sm_->dec(begin, end); }
  [[nodiscard]] Result<std::uint32_t> ref(BlockNr b) { return sm_->get_count(b); }
  [[nodiscard]] Result<bool> block_is_shared(BlockNr b) { return sm_->count_is_more_than_one(b); }

  // Phase 1: commit the space map, then flush every dirty block (the superblock is not dirty yet).
  [[nodiscard]] Status pre_commit();
  // Phase 2: empties the shadow table, releases the superblock (marking it dirty) and flushes.
  [[nodiscard]] Status commit(WriteRef superblock);
  // Forgets the shadows of this transaction and drops the cache (no I/O). The caller re-opens
  // its structures from the committed superblock.
  void abort();

  [[nodiscard]] bool is_shadow(BlockNr b) const { return shadows_.count(b) != 0; }
  [[nodiscard]] std::size_t shadow_count() const { return shadows_.size(); }

 private:
  // Seed bug (a)'s commit: metadata flush, superblock release, flush, whatever the first returned.
  [[nodiscard]] Status commit_nonatomic(WriteRef superblock);

  BlockManager& bm_;
  SpaceMap* sm_;
  std::unordered_set<BlockNr> shadows_;
};

}  // namespace pdsim
