// SPDX-License-Identifier: GPL-2.0-or-later
// Reading the two space-map variants (ondisk-format.md §5) and comparing what they say with the
// recomputed reference counts. Internal to core/check.
//
// Two phases, because the space maps' own blocks are metadata references too: load_*() reads
// the index (block or btree) and the overflow tree and counts their blocks and the bitmaps'
// blocks as references; compare() runs after every tree has been walked, reading each bitmap.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/check/check.h"
#include "core/check/context.h"
#include "core/check/layout.h"
#include "core/check/tree_walk.h"

namespace pdsim::check::detail {

struct SpaceMapLayout {
  Space space = Space::metadata;
  std::string name;
  SpaceMapRoot root;
  // One per bitmap number (ceil(nr_blocks / 16320)); nullopt when the index does not give a
  // usable bitmap (then that bitmap's range is not compared).
  std::vector<std::optional<layout::IndexEntry>> bitmaps;
  std::unordered_map<BlockNr, std::uint32_t> overflow;  // block -> full count (value 3 blocks)
  bool usable = true;  // false: the root is unusable, nothing is compared
};

[[nodiscard]] Result<SpaceMapLayout> load_metadata_space_map(Context& ctx, TreeWalker& walker,
                                                             const SpaceMapRoot& root,
                                                             BlockNr device_blocks);
[[nodiscard]] Result<SpaceMapLayout> load_disk_space_map(Context& ctx, TreeWalker& walker,
                                                         const SpaceMapRoot& root);

// Compares every block below nr_blocks with refs (leak / over / under), checks the overflow
// tree against the bitmaps, the per-bitmap nr_free / none_free_before and nr_allocated.
// `stored`, when given, receives every non-zero count the map stores.
[[nodiscard]] Status compare_space_map(Context& ctx, const SpaceMapLayout& sm, const RefCounts& refs,
                                       std::map<BlockNr, std::uint64_t>* stored_counts = nullptr);

}  // namespace pdsim::check::detail
