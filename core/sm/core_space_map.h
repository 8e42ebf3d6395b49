// SPDX-License-Identifier: GPL-2.0-or-later
// CoreSpaceMap: an in-memory space map for tests of the structures above it. It follows the
// common allocation rules (a block must be free in both the committed and the current view; the
// cursor survives commits) but persists nothing.
#pragma once

#include <vector>

#include "core/sm/space_map.h"

namespace pdsim {

class CoreSpaceMap final : public SpaceMap {
 public:
  explicit CoreSpaceMap(BlockNr nr_blocks) : counts_(nr_blocks, 0), committed_(nr_blocks, 0) {}

  [[nodiscard]] Result<BlockNr> nr_blocks() override { return static_cast<BlockNr>(counts_.size()); }
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

  // Drops uncommitted changes (mirrors a transaction abort).
  void rollback() { counts_ = committed_; }
  [[nodiscard]] const std::vector<std::uint32_t>& counts() const { return counts_; }

 private:
  [[nodiscard]] Status check_range(BlockNr begin, BlockNr end) const;
  std::vector<std::uint32_t> counts_;
  std::vector<std::uint32_t> committed_;
  BlockNr cursor_ = 0;
};

}  // namespace pdsim
