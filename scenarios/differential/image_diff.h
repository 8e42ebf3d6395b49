// SPDX-License-Identifier: GPL-2.0-or-later
// Comparing two committed metadata images, one from each engine, at three levels, first to last:
//   - logical:    the dump (thin_dump's XML, or the cache dump with discards) differs;
//   - allocation: the set of allocated metadata blocks or their reference counts differ, or the
//                 data blocks' counts do (what the space maps store, read by the checker);
//   - bytes:      an allocated metadata block's live bytes differ: a btree node's header, its
//                 first nr_entries keys and values; an array block's header and first nr_entries
//                 values (the checksum, which covers stale bytes, is left out for both); every
//                 byte of any other block (superblock, space-map index and bitmaps).
// The first level that differs is reported, with the first difference found there.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "sim/image.h"

namespace pdsim::scenarios {

enum class DiffLevel { logical, allocation, bytes };
[[nodiscard]] std::string_view to_string(DiffLevel level) noexcept;

struct ImageDivergence {
  DiffLevel level;
  std::string what;  // one line: where the images differ
};

enum class MetadataKind { thin, cache };

// nullopt when the images agree at every level. `a_name` and `b_name` name the two sides.
[[nodiscard]] std::optional<ImageDivergence> compare_images(MetadataKind kind, const sim::Image& a, std::string_view a_name,
                                                            const sim::Image& b, std::string_view b_name);

}  // namespace pdsim::scenarios
