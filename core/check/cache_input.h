// SPDX-License-Identifier: GPL-2.0-or-later
// Cache entry point of the checker: the cache superblock (ondisk-format.md §9.1) translated into
// a generic check::Input — the mapping, hint, discard and (version 2) dirty arrays and the
// metadata space map — plus the cache-only checks on what the arrays hold: each array's length
// against the superblock, mapping values (stray flag bits, a version-2 mapping carrying the v1
// dirty flag, an unmapped entry that is not 0) and origin blocks cached twice.
//
// cache_check 0.9 does not check the metadata space map nor the version-2 dirty bitset; this
// does both. Contract as check(): read-only, damage is a Problem, only an I/O failure is an Error.
#pragma once

#include <cstdint>

#include "core/check/check.h"
#include "core/common/result.h"
#include "core/io/block_device.h"

namespace pdsim::check {

inline constexpr std::uint64_t kCacheMagic = 1623043;

struct CacheReport {
  Report report;
  std::uint32_t version = 0;
  std::uint32_t cache_blocks = 0;
  std::uint64_t mapped = 0;  // valid mappings read
  std::uint64_t dirty = 0;   // of those, dirty (v1 flag or v2 bit)
};

// `census`: fill report.census as well.
[[nodiscard]] Result<CacheReport> check_cache(BlockDevice& metadata, bool census = false);

}  // namespace pdsim::check
