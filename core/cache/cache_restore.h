// SPDX-License-Identifier: GPL-2.0-or-later
// Builds cache metadata from cache_dump's XML (parsed with expat). Malformed XML, unknown
// elements, missing or out-of-range numbers, cache blocks beyond nr_cache_blocks or given twice,
// an origin block mapped twice, bad hint data and discards (the format has no discard block
// size; cache_restore 0.9 refuses them too) are refused with one line saying what and where.
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/io/block_device.h"

namespace pdsim::cache {

struct XmlCache {
  std::uint32_t block_size = 0;
  std::uint32_t nr_cache_blocks = 0;
  std::string policy;
  std::uint32_t hint_width = 0;
  std::vector<std::uint64_t> oblock;  // per cache block; valid when mapped[i]
  std::vector<bool> mapped;
  std::vector<bool> dirty;
  std::vector<std::uint32_t> hint;    // per cache block; 0 when not given
  std::vector<bool> hinted;
};

[[nodiscard]] Result<XmlCache> parse_cache_xml(std::istream& in, BlockNr output_blocks);
// Formats `dev` as version 1 or 2 and writes the document into it, committed with
// CLEAN_SHUTDOWN set (as cache_restore does).
[[nodiscard]] Status restore_cache(BlockDevice& dev, const XmlCache& doc, std::uint32_t version);

}  // namespace pdsim::cache
