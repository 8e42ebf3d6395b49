// SPDX-License-Identifier: GPL-2.0-or-later
// One metadata block of an image, as the report shows it: decoded into named fields as far as
// its kind says (node header and keys, bitmap counts, index entries, array header, superblock
// fields), compared field by field with the same block of another image, and reached from the
// image's superblock by a path of blocks.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/io/block_device.h"
#include "sim/image.h"

namespace pdsim::scenarios {

struct BlockField {
  std::string name;
  std::string value;
};

// Block b of `image`, field by field. The first fields are always "checksum field" and "kind".
[[nodiscard]] std::vector<BlockField> decode_block(const sim::Image& image, BlockNr b);

// One row of an expected-against-found view: a field's value in each image ("" where that
// image's block has no such field); whether found differs from expected, and whether what the
// engine last wrote differs from what was found (a write lost, torn, corrupted or misdirected).
struct FieldDiff {
  std::string name;
  std::string expected;
  std::string found;
  std::string written;  // "" when there is no written image
  bool differs = false;
  bool lost = false;
};

// Block b of `expected` (the disk as the last commit left it) against block b of `found` (what the
// failing run's checks read) and, when given, of `written` (every block as the engine last wrote
// it): the decoded fields of all, in order, then a row counting the bytes that differ (found from
// expected, written from found) and, for btree nodes, the first entry whose key or value differs
// between two sides (it may lie past the keys the decoded fields show).
[[nodiscard]] std::vector<FieldDiff> compare_block(const sim::Image& expected, const sim::Image& found,
                                                   const sim::Image* written, BlockNr b);

// How the image's superblock (thin or cache) reaches block `target`, as "superblock → mapping
// tree (block 21) → device 1's mapping tree (block 22)": through the thin mapping tree (top level,
// then each device's tree), details tree and data space map, or the cache's mapping, hint,
// discard and dirty arrays (down to their array blocks), or the metadata space map (its
// reference-count tree, index block and bitmaps). Only blocks with a valid checksum are followed.
// "" when no path reaches it; nullopt when block 0 is neither a thin nor a cache superblock.
[[nodiscard]] std::optional<std::string> path_to(const sim::Image& image, BlockNr target);

}  // namespace pdsim::scenarios
