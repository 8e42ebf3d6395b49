// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/common/marks.h"
#include "core/sm/metadata_space_map.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "core/common/assert.h"
#include "core/common/seed_bugs.h"

namespace pdsim::sm {

MetadataSpaceMap::MetadataSpaceMap(TransactionManager& tm, LowLevel ll)
    : tm_(&tm), ll_(std::move(ll)), old_ll_(ll_.clone()) {}

Result<std::unique_ptr<MetadataSpaceMap>> MetadataSpaceMap::create(TransactionManager& tm, BlockNr nr_blocks) {
  if (nr_blocks < 2) return Error::invalid(fmt::format("metadata device of {} blocks is too small", nr_blocks));
  nr_blocks = std::min(nr_blocks, kMetadataMaxBlocks);
  // The low level's structures do not exist yet: build them in bootstrap mode, blocks handed out
  // linearly from block 1 (block 0 is the superblock).
  auto sm = std::make_unique<MetadataSpaceMap>(
      tm, LowLevel(tm, std::make_unique<MetadataIndex>(tm, 0), 0, 0, 0));
  tm.set_space_map(sm.get());
  sm->bootstrap_ = true;
  sm->begin_ = 1;
  {
    PDSIM_TRY_ASSIGN(auto index, MetadataIndex::create(tm));
    btree::Info overflow{&tm, 1, btree::plain_value_type(4)};
    PDSIM_TRY_ASSIGN(BlockNr overflow_root, btree::create_empty(overflow));
    sm->ll_ = LowLevel(tm, std::move(index), 0, 0, overflow_root);
  }
  PDSIM_TRY(sm->ll_.extend(nr_blocks));
  sm->bootstrap_ = false;
  sm->old_ll_ = sm->ll_.clone();
  // Account for the superblock and every block the bootstrap handed out.
  {
    Recursion r(*sm);
    PDSIM_TRY(r.finish(sm->queue(OpKind::inc, 0, sm->begin_)));
  }
  PDSIM_TRY(sm->commit());
  return sm;
}

Result<std::unique_ptr<MetadataSpaceMap>> MetadataSpaceMap::open(TransactionManager& tm, const SpaceMapRoot& root) {
  RootFields f = RootFields::unpack(root);
  if (f.nr_blocks > kMetadataMaxBlocks)
    return Error::corruption(fmt::format("metadata space map root: {} blocks is more than the maximum {}", f.nr_blocks, kMetadataMaxBlocks));
  if (f.nr_blocks > tm.block_manager().nr_blocks())
    return Error::corruption(fmt::format("metadata space map root: {} blocks but the device has only {}", f.nr_blocks,
                                         tm.block_manager().nr_blocks()));
  PDSIM_TRY_ASSIGN(auto index, MetadataIndex::open(tm, f.bitmap_root));
  auto sm = std::make_unique<MetadataSpaceMap>(tm, LowLevel(tm, std::move(index), f.nr_blocks, f.nr_allocated, f.ref_count_root));
  tm.set_space_map(sm.get());
  return sm;
}

// ---- recursion ----

Status MetadataSpaceMap::queue(OpKind kind, BlockNr begin, BlockNr end) {
  if (begin >= end) return {};
  if (queue_.size() >= kQueueCapacity)
    return Error::busy(fmt::format("too many recursive allocations ({} queued space-map operations)", queue_.size()));
  queue_.push_back({kind, begin, end});
  return {};
}

Status MetadataSpaceMap::apply_queue() {
  // FIFO: peek the oldest, apply it, then remove it. Applying may append more. A failing
  // operation stays queued with everything after it (the caller will abort).
  if (bug_on(Bug::b)) [[unlikely]] return apply_queue_lifo();
  while (!queue_.empty()) {
    PDSIM_MARK("sm.queue_applied");
    const QueuedOp op = queue_.front();
    Status s = op.kind == OpKind::inc ? ll_.inc(op.begin, op.end) : ll_.dec(op.begin, op.end);
    if (!s) return s;
    queue_.pop_front();
  }
  return {};
}

Status MetadataSpaceMap::apply_queue_lifo() {
  // Seed bug (b): the old queue was a stack. The newest entry is popped, then applied; whatever
  // applying pushes is popped next.
  while (!queue_.empty()) {
    const QueuedOp op = queue_.back();
    queue_.pop_back();
    Status s = op.kind == OpKind::inc ? ll_.inc(op.begin, op.end) : ll_.dec(op.begin, op.end);
    if (!s) return s;
  }
  return {};
}

MetadataSpaceMap::Recursion::Recursion(MetadataSpaceMap& sm) : sm_(&sm) {
  ++sm.recursion_count_;
  PDSIM_ASSERT(sm.recursion_count_ == 1, "metadata space map entered while recursing");
}

MetadataSpaceMap::Recursion::~Recursion() {
  if (sm_ != nullptr) --sm_->recursion_count_;
}

Status MetadataSpaceMap::Recursion::finish(Status own) {
  PDSIM_ASSERT(sm_ != nullptr, "metadata space map recursion finished twice");
  MetadataSpaceMap& sm = *std::exchange(sm_, nullptr);
  Status applied = sm.apply_queue();
  --sm.recursion_count_;
  if (!own) return own;
  return applied;
}

std::int64_t MetadataSpaceMap::queued_adjustment(BlockNr b) const {
  std::int64_t adj = 0;
  for (const auto& op : queue_)
    if (b >= op.begin && b < op.end) adj += op.kind == OpKind::inc ? 1 : -1;
  return adj;
}

// ---- queries ----

Result<BlockNr> MetadataSpaceMap::nr_free() {
  if (bootstrap_) return ll_.nr_blocks() - begin_;
  const BlockNr used = old_ll_.nr_allocated() + allocated_this_transaction_;
  return old_ll_.nr_blocks() > used ? old_ll_.nr_blocks() - used : 0;
}

Result<std::uint32_t> MetadataSpaceMap::get_count(BlockNr b) {
  if (bootstrap_) return b < begin_ ? 1u : 0u;
  PDSIM_TRY_ASSIGN(std::uint32_t v, ll_.lookup(b));
  const std::int64_t c = static_cast<std::int64_t>(v) + queued_adjustment(b);
  if (c < 0) return Error::corruption(fmt::format("reference count of block {} would go below zero with the queued operations", b));
  return static_cast<std::uint32_t>(c);
}

Result<bool> MetadataSpaceMap::count_is_more_than_one(BlockNr b) {
  if (bootstrap_) return false;
  const std::int64_t adj = queued_adjustment(b);
  if (adj > 1) return true;
  PDSIM_TRY_ASSIGN(std::uint32_t v, ll_.lookup_bitmap(b));
  if (v == 3) return true;
  return static_cast<std::int64_t>(v) + adj > 1;
}

// ---- changes ----

Status MetadataSpaceMap::set_count(BlockNr b, std::uint32_t count) {
  if (bootstrap_) return Error::invalid("metadata space map: set_count while bootstrapping");
  if (recursing()) return Error::invalid("metadata space map: set_count while recursing");
  Recursion r(*this);
  return r.finish(ll_.set_count(b, count));
}

Status MetadataSpaceMap::inc(BlockNr begin, BlockNr end) {
  if (bootstrap_ || recursing()) return queue(OpKind::inc, begin, end);
  Recursion r(*this);
  return r.finish(ll_.inc(begin, end));
}

Status MetadataSpaceMap::dec(BlockNr begin, BlockNr end) {
  if (bootstrap_ || recursing()) return queue(OpKind::dec, begin, end);
  Recursion r(*this);
  return r.finish(ll_.dec(begin, end));
}

Result<std::optional<BlockNr>> MetadataSpaceMap::find_block() {
  if (bug_on(Bug::d)) [[unlikely]] {
    // Seed bug (d)'s allocator of that era: free in the committed view only, searched from the
    // cursor up to the committed size, no wrap-around (the cursor restarts at 0 every commit).
    PDSIM_TRY_ASSIGN(std::optional<BlockNr> old, old_ll_.find_free_block(begin_, old_ll_.nr_blocks()));
    return old;
  }
  PDSIM_TRY_ASSIGN(std::optional<BlockNr> b, find_common_free_block(old_ll_, ll_, begin_));
  return b;
}

Result<std::optional<BlockNr>> MetadataSpaceMap::new_block() {
  if (bootstrap_) {
    if (begin_ == ll_.nr_blocks()) return std::optional<BlockNr>();
    PDSIM_MARK("sm.bootstrap_alloc");
    return std::optional<BlockNr>(begin_++);
  }
  PDSIM_TRY_ASSIGN(std::optional<BlockNr> b, find_block());
  if (!b) {
    // Seed bug (h): the failure was logged, the error code overwritten by the free-count query,
    // and the caller went on with whatever its block variable held: here the last block handed
    // out (a deterministic stand-in for stack garbage).
    if (bug_on(Bug::h)) [[unlikely]] return std::optional<BlockNr>(last_handed_out_);
    return b;
  }
  begin_ = *b + 1;
  last_handed_out_ = *b;
  if (recursing()) {
    PDSIM_TRY(queue(OpKind::inc, *b, *b + 1));
  } else {
    Recursion r(*this);
    PDSIM_TRY(r.finish(ll_.inc(*b, *b + 1)));
  }
  ++allocated_this_transaction_;
  PDSIM_TRY(check_threshold());
  return b;
}

void MetadataSpaceMap::set_threshold(BlockNr threshold, std::function<void()> callback) {
  threshold_ = threshold;
  threshold_callback_ = std::move(callback);
  threshold_last_.reset();
}

Status MetadataSpaceMap::check_threshold() {
  if (!threshold_) return {};
  PDSIM_TRY_ASSIGN(BlockNr free, nr_free());
  const bool below = free <= *threshold_;
  const bool was_below = threshold_last_ && *threshold_last_ <= *threshold_;
  threshold_last_ = free;
  if (below && !was_below && threshold_callback_) threshold_callback_();
  return {};
}

Status MetadataSpaceMap::commit() {
  if (bootstrap_) return {};
  PDSIM_TRY(ll_.index().commit());
  old_ll_ = ll_.clone();
  allocated_this_transaction_ = 0;
  if (bug_on(Bug::d)) [[unlikely]] begin_ = 0;
  return {};
}

Result<SpaceMapRoot> MetadataSpaceMap::copy_root() {
  if (bootstrap_) return Error::invalid("metadata space map: copy_root while bootstrapping");
  return ll_.root_fields().pack();
}

Status MetadataSpaceMap::extend(BlockNr extra_blocks) {
  PDSIM_MARK("sm.metadata_extend");
  if (bootstrap_ || recursing()) return Error::invalid("metadata space map: extend while bootstrapping or recursing");
  BlockNr old_len = ll_.nr_blocks();
  begin_ = old_len;
  bootstrap_ = true;
  // Every block allocated from here on comes linearly from the new area, so the commit overhead
  // of growing comes out of the new space (seed bugs (c), (d), (e)).
  Status s = ll_.extend(extra_blocks);
  if (bug_on(Bug::d)) [[unlikely]] return extend_outside_bootstrap(std::move(s), old_len);
  while (s) {
    // Account for what the last round handed out, apply (which may hand out more), commit the
    // index (which may hand out more); stop when a round allocated nothing.
    s = queue(OpKind::inc, old_len, begin_);
    if (!s) break;
    old_len = begin_;
    Recursion r(*this);
    s = r.finish(Status{});
    if (!s) break;
    s = ll_.index().commit();
    if (!s) break;
    // Seed bug (c): one round only; what that commit allocated is never counted.
    if (bug_on(Bug::c)) [[unlikely]] break;
    if (begin_ == old_len) break;
    PDSIM_MARK("sm.extend_commit_loop_again");
  }
  bootstrap_ = false;
  return s;
}

Status MetadataSpaceMap::extend_outside_bootstrap(Status extended, BlockNr old_len) {
  // Seed bug (d): bootstrap mode covered only the allocation of the new bitmaps. Their counts were
  // then taken in normal mode, and the index was written by the pool's next commit, both with the
  // normal allocator, which (with that era's rule, see find_block) could not use the new space.
  bootstrap_ = false;
  if (!extended) return extended;
  Recursion r(*this);
  return r.finish(queue(OpKind::inc, old_len, begin_));
}

}  // namespace pdsim::sm
