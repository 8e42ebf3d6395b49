// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — the engine seam for dm-cache metadata: the operations of the kernel's
// dm-cache-metadata.h, as one interface. The cache harness and every cache scenario drive metadata
// only through it, so that a second implementation plugs into them unchanged. Ours is
// cache::CacheMetadata.
//
// Every mutating call is part of the current transaction; after an error the caller aborts
// (dm-cache then sets NEEDS_CHECK and goes read-only).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/result.h"
#include "core/io/block_device.h"

namespace pdsim::seam {

struct CacheMapping {
  std::uint64_t oblock = 0;
  bool dirty = false;
  friend bool operator==(const CacheMapping&, const CacheMapping&) = default;
};

struct CachePolicy {
  std::string name;
  std::array<std::uint32_t, 3> version{};
  std::uint32_t hint_size = 0;
};

struct LoadedMapping {
  std::uint32_t cblock = 0;
  std::uint64_t oblock = 0;
  bool dirty = false;
  std::optional<std::uint32_t> hint;  // only when hints are valid
};

struct CacheStats {
  std::uint32_t read_hits = 0;
  std::uint32_t read_misses = 0;
  std::uint32_t write_hits = 0;
  std::uint32_t write_misses = 0;
  friend bool operator==(const CacheStats&, const CacheStats&) = default;
};

class CacheMetadata {
 public:
  virtual ~CacheMetadata() = default;

  // ---- mappings (dm_cache_resize, dm_cache_insert_mapping, dm_cache_remove_mapping,
  //      dm_cache_load_mappings, dm_cache_set_dirty_bits) ----
  [[nodiscard]] virtual Status resize(std::uint32_t new_cache_blocks) = 0;
  [[nodiscard]] virtual Status insert_mapping(std::uint32_t cblock, std::uint64_t oblock) = 0;
  [[nodiscard]] virtual Status remove_mapping(std::uint32_t cblock) = 0;
  [[nodiscard]] virtual Result<std::optional<CacheMapping>> lookup(std::uint32_t cblock) = 0;
  [[nodiscard]] virtual Status set_dirty(std::uint32_t cblock, bool dirty) = 0;
  [[nodiscard]] virtual Status set_dirty_bits(const std::vector<bool>& bits) = 0;
  [[nodiscard]] virtual Status load_mappings(const CachePolicy& policy,
                                             const std::function<Result<bool>(const LoadedMapping&)>& fn) = 0;

  // ---- discards (dm_cache_discard_bitset_resize, dm_cache_set_discard, dm_cache_load_discards) ----
  [[nodiscard]] virtual Status resize_discard(std::uint64_t discard_block_size, std::uint64_t nr_discard_blocks) = 0;
  [[nodiscard]] virtual Status set_discard(std::uint64_t dblock, bool discarded) = 0;
  [[nodiscard]] virtual Status load_discards(const std::function<Result<bool>(std::uint64_t dblock, bool discarded)>& fn) = 0;

  // ---- hints and stats (dm_cache_write_hints, dm_cache_get_stats / set_stats) ----
  [[nodiscard]] virtual Status write_hints(const CachePolicy& policy,
                                           const std::function<Result<std::uint32_t>(std::uint32_t cblock)>& hint) = 0;
  [[nodiscard]] virtual const CacheStats& stats() const = 0;
  virtual void set_stats(const CacheStats& s) = 0;

  // ---- transactions (dm_cache_commit, dm_cache_metadata_abort), flags ----
  [[nodiscard]] virtual Status commit(bool clean_shutdown) = 0;
  [[nodiscard]] virtual Status abort() = 0;
  [[nodiscard]] virtual Status set_needs_check() = 0;
  [[nodiscard]] virtual bool needs_check() const = 0;
  // Whether the last shutdown was clean (CLEAN_SHUTDOWN found set at open).
  [[nodiscard]] virtual bool clean_when_opened() const = 0;

  // ---- sizes (dm_cache_size, dm_cache_get_free_metadata_block_count, ..._metadata_dev_size) ----
  [[nodiscard]] virtual std::uint32_t version() const = 0;
  [[nodiscard]] virtual std::uint32_t cache_blocks() const = 0;
  [[nodiscard]] virtual Result<BlockNr> metadata_nr_blocks() = 0;
  [[nodiscard]] virtual Result<BlockNr> metadata_nr_free() = 0;
};

// How an engine formats and opens dm-cache metadata (dm_cache_metadata_open).
class CacheEngine {
 public:
  virtual ~CacheEngine() = default;
  [[nodiscard]] virtual std::string_view name() const = 0;
  // Whether resize() also resizes the policy-hint array to the new number of cache blocks. Ours
  // does (cache_check 0.9 rejects a hint array of another length); the kernel's dm_cache_resize
  // leaves it as it was (its values kept) until the next dm_cache_write_hints rewrites it.
  [[nodiscard]] virtual bool resize_resizes_hints() const = 0;
  // Whether abort() after a failed abort() reopens the metadata, as dm-cache does when the device
  // is torn down and activated again; an open clears CLEAN_SHUTDOWN on disk. The kernel's fails
  // for good (fail_io), so its engine reopens; ours rolls back again and leaves the flag alone.
  [[nodiscard]] virtual bool abort_retry_reopens() const = 0;
  [[nodiscard]] virtual Result<std::unique_ptr<CacheMetadata>> format(BlockDevice& dev, std::uint32_t data_block_size,
                                                                      std::uint32_t version) = 0;
  [[nodiscard]] virtual Result<std::unique_ptr<CacheMetadata>> open(BlockDevice& dev,
                                                                    std::optional<std::uint32_t> data_block_size) = 0;
};

}  // namespace pdsim::seam
