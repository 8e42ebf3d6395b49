// SPDX-License-Identifier: GPL-2.0-or-later
#include "scenarios/harness/ordering_oracle.h"

#include <fmt/format.h>

namespace pdsim::scenarios {

Status OrderingOracle::restart() {
  unflushed_.clear();
  superblock_pending_ = false;
  return refresh();
}

Status OrderingOracle::refresh() {
  PDSIM_TRY_ASSIGN(auto blocks, reachable_(inner()));
  reachable_set_ = std::set<BlockNr>(blocks.begin(), blocks.end());
  return {};
}

Status OrderingOracle::write(BlockNr b, ConstBlockSpan data, WriteMode mode) {
  if (b == 0) {
    if (!unflushed_.empty() && violations_.size() < 16)
      violations_.push_back(fmt::format("superblock written while {} other block(s) of the transaction were not "
                                        "flushed (first: {})",
                                        unflushed_.size(), *unflushed_.begin()));
  } else if (reachable_set_.count(b) != 0 && violations_.size() < 16) {
    violations_.push_back(
        fmt::format("block {} reachable from the committed superblock overwritten before the next commit", b));
  }
  Status s = inner().write(b, data, mode);
  if (!s) return s;
  if (b == 0) superblock_pending_ = true;
  else unflushed_.insert(b);
  return {};
}

Status OrderingOracle::flush() {
  PDSIM_TRY(inner().flush());
  unflushed_.clear();
  if (superblock_pending_) {
    superblock_pending_ = false;
    ++superblocks_;
    // A new superblock is durable: from now on its blocks are the protected ones.
    if (Status r = refresh(); !r && violations_.size() < 16)
      violations_.push_back(fmt::format("the metadata of a durable superblock cannot be walked: {}", r.error().to_string()));
  }
  return {};
}

}  // namespace pdsim::scenarios
