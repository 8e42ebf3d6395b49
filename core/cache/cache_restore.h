// SPDX-License-Identifier: GPL-2.0-or-later
// Builds cache metadata from cache_dump's XML (parsed with expat). Malformed XML, unknown
// elements, missing or out-of-range numbers, cache blocks beyond nr_cache_blocks or given twice,
// an origin block mapped twice, bad hint data and discards (the format has no discard block
// size; cache_restore 0.9 refuses them too) are refused with one line saying what and where.
#pragma once

#include <cstdint>
#include <istream>
#include <map>
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
  // Only what the document gives, by cache block: memory follows the document, not
  // nr_cache_blocks (a six-line document claiming 1.4e8 blocks took 1.16 GB when these were dense).
  struct Entry {
    std::uint64_t oblock = 0;
    bool dirty = false;
  };
  std::map<std::uint32_t, Entry> mappings;
  std::map<std::uint32_t, std::uint32_t> hints;  // a block without one gets 0
};

[[nodiscard]] Result<XmlCache> parse_cache_xml(std::istream& in, BlockNr output_blocks);
// Formats `dev` as version 1 or 2 and writes the document into it, committed with
// CLEAN_SHUTDOWN set (as cache_restore does).
[[nodiscard]] Status restore_cache(BlockDevice& dev, const XmlCache& doc, std::uint32_t version);

}  // namespace pdsim::cache
