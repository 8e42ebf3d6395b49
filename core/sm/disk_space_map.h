// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — the disk space map (algorithms.md §3.5): reference counts of the thin-pool *data*
// device, kept on the metadata device (index btree, bitmaps, overflow btree) and allocated from
// the metadata space map through the transaction manager. No recursion: it never allocates from
// itself.
#pragma once

#include <memory>

#include "core/sm/sm_ll.h"

namespace pdsim::sm {

class DiskSpaceMap final : public SpaceMap {
 public:
  // A new map over nr_blocks data blocks (dm-thin formats with 0 and extends on the first resize).
  [[nodiscard]] static Result<std::unique_ptr<DiskSpaceMap>> create(TransactionManager& tm, BlockNr nr_blocks);
  [[nodiscard]] static Result<std::unique_ptr<DiskSpaceMap>> open(TransactionManager& tm, const SpaceMapRoot& root);

  // The committed size: an extension becomes visible here after commit.
  [[nodiscard]] Result<BlockNr> nr_blocks() override { return old_ll_.nr_blocks(); }
  [[nodiscard]] Result<BlockNr> nr_free() override;
  [[nodiscard]] Result<std::uint32_t> get_count(BlockNr b) override { return ll_.lookup(b); }
  [[nodiscard]] Result<bool> count_is_more_than_one(BlockNr b) override;
  [[nodiscard]] Status set_count(BlockNr b, std::uint32_t count) override { return ll_.set_count(b, count); }
  [[nodiscard]] Status inc(BlockNr begin, BlockNr end) override { return ll_.inc(begin, end); }
  [[nodiscard]] Status dec(BlockNr begin, BlockNr end) override { return ll_.dec(begin, end); }
  using SpaceMap::dec;
  using SpaceMap::inc;
  [[nodiscard]] Result<std::optional<BlockNr>> new_block() override;
  [[nodiscard]] Status commit() override;
  [[nodiscard]] Status extend(BlockNr extra_blocks) override { return ll_.extend(extra_blocks); }
  [[nodiscard]] Result<SpaceMapRoot> copy_root() override { return ll_.root_fields().pack(); }

  // The size including an uncommitted extension.
  [[nodiscard]] BlockNr current_nr_blocks() const { return ll_.nr_blocks(); }

  DiskSpaceMap(LowLevel ll) : ll_(std::move(ll)), old_ll_(ll_.clone()) {}

 private:
  LowLevel ll_;
  LowLevel old_ll_;
  BlockNr begin_ = 0;
};

}  // namespace pdsim::sm
