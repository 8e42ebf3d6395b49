// SPDX-License-Identifier: GPL-2.0-or-later
// Writes cache metadata as cache_dump's XML (verification.md §3.4): the superblock line, the
// mapped blocks in cache-block order and their hints (base64 of the raw bytes). Reads through
// validators only; never writes. As cache_dump 0.9: hint_width is always 4 (the only hint size)
// and the discard bitset is not printed unless asked for. Unlike 0.9, a version-2 image shows its
// real dirty bits (0.9 prints dirty="false" for every block of one).
#pragma once

#include <ostream>
#include <string>
#include <string_view>

#include "core/common/result.h"
#include "core/io/block_device.h"

namespace pdsim::cache {

struct DumpOptions {
  // Adds a <discards> section of discarded ranges [dbegin, dend) in discard blocks. cache_dump
  // 0.9 never prints one, and cache_restore (ours too) cannot restore one.
  bool discards = false;
};

[[nodiscard]] Status dump_cache_xml(BlockDevice& dev, std::ostream& out, const DumpOptions& opts = {});

[[nodiscard]] std::string base64_encode(std::string_view bytes);
// nullopt-like failure: ErrorKind::invalid for anything that is not canonical base64.
[[nodiscard]] Result<std::string> base64_decode(std::string_view text);

}  // namespace pdsim::cache
