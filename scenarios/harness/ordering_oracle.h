// SPDX-License-Identifier: GPL-2.0-or-later
// The write-ordering oracle: a BlockDevice between the engine and the disk that checks, online
// and without any crash, the two rules a crash-safe commit rests on:
//   1. no block reachable from the last committed superblock is overwritten before the next
//      commit (copy-on-write: changes go to shadows);
//   2. the superblock is written only after every other block of the transaction was flushed.
// The reachable set comes from the independent checker, re-read from the device each time a new
// superblock becomes durable (its write followed by a successful flush).
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "core/io/forwarding_device.h"

namespace pdsim::scenarios {

class OrderingOracle final : public ForwardingDevice {
 public:
  // `reachable` gives the metadata blocks the durable superblock references (block 0 included);
  // it is called on `inner` when the oracle (re)starts and after each durable superblock.
  using ReachableFn = std::function<Result<std::vector<BlockNr>>(BlockDevice& inner)>;
  OrderingOracle(BlockDevice& inner, ReachableFn reachable)
      : ForwardingDevice(inner), reachable_(std::move(reachable)) {}

  using BlockDevice::write;
  [[nodiscard]] Status write(BlockNr b, ConstBlockSpan data, WriteMode mode) override;
  [[nodiscard]] Status flush() override;
  // The size the engine sees: the disk's, or less (a metadata device that grows later).
  [[nodiscard]] BlockNr nr_blocks() const override { return visible_ != 0 ? visible_ : inner().nr_blocks(); }
  void set_visible_blocks(BlockNr n) { visible_ = n < inner().nr_blocks() ? n : inner().nr_blocks(); }

  // Forgets everything and reads the reachable set afresh (after a power cut and reopen).
  [[nodiscard]] Status restart();
  // The transaction was aborted: what it wrote is garbage no superblock will reference, so the
  // next superblock write (the old one, e.g. with needs_check set) does not wait for it.
  void transaction_aborted() { unflushed_.clear(); }
  // Violations seen so far, one line each.
  [[nodiscard]] const std::vector<std::string>& violations() const { return violations_; }
  [[nodiscard]] std::uint64_t superblocks_checked() const { return superblocks_; }

 private:
  [[nodiscard]] Status refresh();

  ReachableFn reachable_;
  std::set<BlockNr> reachable_set_;
  std::set<BlockNr> unflushed_;   // non-superblock writes since the last successful flush
  bool superblock_pending_ = false;
  std::vector<std::string> violations_;
  std::uint64_t superblocks_ = 0;
  BlockNr visible_ = 0;
};

}  // namespace pdsim::scenarios
