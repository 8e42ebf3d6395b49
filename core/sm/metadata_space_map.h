// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — the metadata space map (algorithms.md §4).
//
// It manages the metadata device and lives on it: changing a count shadows a bitmap, may insert
// into or remove from the overflow btree, and at commit shadows the index block — each of which
// allocates and decrements blocks of this same space map while the first operation is half-way
// through. Recursion control keeps that sane:
//
//   * a top-level operation enters (recursion_count_ 0 -> 1), does its low-level change, leaves;
//   * while recursing, inc / dec / new_block do not touch the bitmaps: they append to the
//     uncommitted-operations queue (new_block picks its block at once and queues the INC);
//   * leaving the outermost level applies the queue **in FIFO order** — applying may queue more,
//     which is applied in the same loop. FIFO matters: a later DEC of a block may undo an earlier
//     INC of the same block (a shadow copy released by a merge); LIFO would decrement it below
//     zero first (the 2014 corruption, seed bug (b)).
//
// Bootstrap mode (§4.3) is used while the map's own structures are created or extended: blocks
// come linearly from `begin_`, and all counting is deferred to the queue.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <optional>

#include "core/sm/sm_ll.h"

namespace pdsim::sm {

class MetadataSpaceMap final : public SpaceMap {
 public:
  static constexpr std::size_t kQueueCapacity = 1024;

  // Formats a new space map over nr_blocks (capped at 4,161,600) of tm's device; block 0 is the
  // superblock, and counts 1. Attaches itself to tm. The caller commits.
  [[nodiscard]] static Result<std::unique_ptr<MetadataSpaceMap>> create(TransactionManager& tm, BlockNr nr_blocks);
  // Opens from a committed root. Attaches itself to tm.
  [[nodiscard]] static Result<std::unique_ptr<MetadataSpaceMap>> open(TransactionManager& tm, const SpaceMapRoot& root);

  [[nodiscard]] Result<BlockNr> nr_blocks() override { return ll_.nr_blocks(); }
  [[nodiscard]] Result<BlockNr> nr_free() override;
  [[nodiscard]] Result<std::uint32_t> get_count(BlockNr b) override;
  [[nodiscard]] Result<bool> count_is_more_than_one(BlockNr b) override;
  [[nodiscard]] Status set_count(BlockNr b, std::uint32_t count) override;
  [[nodiscard]] Status inc(BlockNr begin, BlockNr end) override;
  [[nodiscard]] Status dec(BlockNr begin, BlockNr end) override;
  using SpaceMap::dec;
  using SpaceMap::inc;
  [[nodiscard]] Result<std::optional<BlockNr>> new_block() override;
  [[nodiscard]] Status commit() override;
  [[nodiscard]] Status extend(BlockNr extra_blocks) override;
  [[nodiscard]] Result<SpaceMapRoot> copy_root() override;

  // One edge-triggered low-water threshold (§4.8): after a normal-mode allocation leaves
  // nr_free <= threshold, and the last recorded value was above it, the callback runs once.
  void set_threshold(BlockNr threshold, std::function<void()> callback);

  [[nodiscard]] bool bootstrapping() const { return bootstrap_; }
  [[nodiscard]] std::size_t queued() const { return queue_.size(); }
  [[nodiscard]] BlockNr cursor() const { return begin_; }

  MetadataSpaceMap(TransactionManager& tm, LowLevel ll);

 private:
  enum class OpKind { inc, dec };
  struct QueuedOp {
    OpKind kind;
    BlockNr begin;
    BlockNr end;
  };

  // The one level of recursion a top-level operation enters: from the guard's construction until
  // finish(own), which leaves it, applies the queue, and returns the operation's own status (or,
  // when that succeeded, the status of applying). A guard dropped without finish() (an early
  // return) still leaves its level; what it queued stays queued for the next top-level
  // operation, as after a failed apply. Operations that run while recursing only queue, so the
  // depth is 0 or 1.
  class [[nodiscard]] Recursion {
   public:
    explicit Recursion(MetadataSpaceMap& sm);
    Recursion(const Recursion&) = delete;
    Recursion& operator=(const Recursion&) = delete;
    ~Recursion();
    [[nodiscard]] Status finish(Status own);

   private:
    MetadataSpaceMap* sm_;
  };

  [[nodiscard]] bool recursing() const { return recursion_count_ > 0; }
  [[nodiscard]] Status queue(OpKind kind, BlockNr begin, BlockNr end);
  [[nodiscard]] Status apply_queue();
  [[nodiscard]] Status apply_queue_lifo();  // seed bug (b)
  [[nodiscard]] Status extend_outside_bootstrap(Status extended, BlockNr old_len);  // seed bug (d)
  [[nodiscard]] std::int64_t queued_adjustment(BlockNr b) const;
  [[nodiscard]] Result<std::optional<BlockNr>> find_block();
  [[nodiscard]] Status check_threshold();

  TransactionManager* tm_;
  LowLevel ll_;
  LowLevel old_ll_;
  bool bootstrap_ = false;
  BlockNr begin_ = 0;  // the allocation cursor
  unsigned recursion_count_ = 0;
  std::deque<QueuedOp> queue_;
  BlockNr allocated_this_transaction_ = 0;
  BlockNr last_handed_out_ = 0;  // seed bug (h)'s "garbage" block number

  std::optional<BlockNr> threshold_;
  std::function<void()> threshold_callback_;
  std::optional<BlockNr> threshold_last_;
};

}  // namespace pdsim::sm
