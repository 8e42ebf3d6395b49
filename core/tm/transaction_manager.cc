// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/tm/transaction_manager.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/common/assert.h"
#include "core/common/seed_bugs.h"

namespace pdsim {

Result<WriteRef> TransactionManager::new_block(const Validator* v) {
  PDSIM_ASSERT(sm_ != nullptr, "transaction manager used before its space map was set");
  PDSIM_TRY_ASSIGN(std::optional<BlockNr> b, sm_->new_block());
  if (!b) return Error::no_space("metadata device is out of space: no free block to allocate");
  auto ref = bm_.write_lock_zero(*b, v);
  if (!ref) {
    // Give the block back; report the lock error, and the decrement's if that fails too.
    Status undo = sm_->dec(*b);
    if (!undo) return std::move(ref).error().with_context(fmt::format("new block {} (and its release failed: {})", *b, undo.error().to_string()));
    return std::move(ref).error();
  }
  shadows_.insert(*b);
  return std::move(ref).value();
}

Result<TransactionManager::Shadow> TransactionManager::shadow_block(BlockNr orig, const Validator* v) {
  PDSIM_ASSERT(sm_ != nullptr, "transaction manager used before its space map was set");
  PDSIM_TRY_ASSIGN(bool shared, sm_->count_is_more_than_one(orig));
  if (is_shadow(orig) && !shared) {
    PDSIM_TRY_ASSIGN(WriteRef ref, bm_.write_lock(orig, v));
    return Shadow{std::move(ref), false};
  }
  PDSIM_TRY_ASSIGN(std::optional<BlockNr> fresh, sm_->new_block());
  if (!fresh) return Error::no_space(fmt::format("metadata device is out of space: cannot shadow block {}", orig));
  // The original loses the reference the caller held; it is never modified.
  PDSIM_TRY(sm_->dec(orig));
  PDSIM_TRY_ASSIGN(ReadRef src, bm_.read_lock(orig, v));
  PDSIM_TRY_ASSIGN(WriteRef dst, bm_.write_lock_zero(*fresh, v));
  std::copy(src.data().begin(), src.data().end(), dst.data().begin());
  src.release();
  shadows_.insert(*fresh);
  return Shadow{std::move(dst), shared};
}

Status TransactionManager::pre_commit() {
  PDSIM_ASSERT(sm_ != nullptr, "transaction manager used before its space map was set");
  PDSIM_TRY(sm_->commit());
  // Seed bug (a): the era's pre-commit committed the space map only; the metadata blocks were
  // flushed inside commit(), after the superblock had been filled in.
  if (bug_on(Bug::a)) [[unlikely]] return {};
  return bm_.flush();
}

Status TransactionManager::commit(WriteRef superblock) {
  shadows_.clear();
  if (bug_on(Bug::a)) [[unlikely]] return commit_nonatomic(std::move(superblock));
  superblock.release();
  return bm_.flush();
}

Status TransactionManager::commit_nonatomic(WriteRef superblock) {
  // Seed bug (a), the old block-manager "flush, unlock the superblock, flush" primitive: when the
  // first flush fails, the superblock is released dirty all the same, and the write-back that
  // followed in the kernel (teardown, the next flush) made it durable over blocks that never
  // reached the disk. Here that write-back happens at once.
  Status metadata = bm_.flush();
  superblock.release();
  Status again = bm_.flush();
  if (!metadata) return metadata;
  return again;
}

void TransactionManager::abort() {
  shadows_.clear();
  bm_.discard_all();
}

}  // namespace pdsim
