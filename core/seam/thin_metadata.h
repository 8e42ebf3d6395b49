// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — the engine seam for thin-pool metadata: the operations of the kernel's
// dm-thin-metadata.h, as one interface. The pool target (core/thin/pool.h), the pool harness and
// every thin scenario drive metadata only through it, so that a second implementation (the
// kernel's own persistent-data code built in userspace, ../shared/spec/kernel-engine.md) plugs
// into every scenario unchanged. Ours is thin::PoolMetadata.
//
// Every call is part of the current transaction until commit(); after an error the caller
// aborts (dm-thin then sets NEEDS_CHECK and goes read-only). Names follow the kernel's:
// create_thin = dm_pool_create_thin, find_block = dm_thin_find_block, and so on.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "core/common/result.h"
#include "core/io/block_device.h"

namespace pdsim::seam {

struct ThinLookup {
  BlockNr data_block;
  bool shared;  // the device was snapshotted after this mapping was made
};

// What the workload-steering steps read of a mapping tree's shape. Not in the kernel's interface:
// an engine that cannot tell says so (ThinMetadata::tree_shape() returns nullptr) and the steering
// steps fall back to plain ones.
class ThinTreeShape {
 public:
  virtual ~ThinTreeShape() = default;
  // Children of the root of a device's mapping tree (0 when the root is a leaf).
  [[nodiscard]] virtual Result<std::uint32_t> mapping_root_fanout(std::uint64_t id) = 0;
  // The leaf a lookup of vblock reaches and its siblings under the same parent (at most one each
  // side): entry counts, the leaf's position, its capacity, its first and last keys.
  struct LeafNeighbourhood {
    std::vector<std::uint32_t> counts;
    std::size_t self = 0;
    std::uint32_t max_entries = 0;
    std::uint64_t first_key = 0, last_key = 0;
  };
  [[nodiscard]] virtual Result<LeafNeighbourhood> mapping_leaf_neighbourhood(std::uint64_t id, std::uint64_t vblock) = 0;
};

class ThinMetadata {
 public:
  virtual ~ThinMetadata() = default;

  // ---- thin devices (dm_pool_create_thin, dm_pool_create_snap, dm_pool_delete_thin_device) ----
  [[nodiscard]] virtual Status create_thin(std::uint64_t id) = 0;
  [[nodiscard]] virtual Status create_snapshot(std::uint64_t id, std::uint64_t origin) = 0;
  [[nodiscard]] virtual Status delete_device(std::uint64_t id) = 0;
  [[nodiscard]] virtual Result<std::vector<std::uint64_t>> device_ids() = 0;
  [[nodiscard]] virtual Result<std::uint64_t> mapped_count(std::uint64_t id) = 0;  // dm_thin_get_mapped_count

  // ---- mappings (dm_pool_alloc_data_block, dm_thin_insert_block, dm_thin_find_block,
  //      dm_thin_remove_block, dm_thin_remove_range, dm_thin_find_mapped_range) ----
  // nullopt when the data device is full.
  [[nodiscard]] virtual Result<std::optional<BlockNr>> alloc_data_block() = 0;
  // The data block's reference passes to the mapping.
  [[nodiscard]] virtual Status insert_mapping(std::uint64_t id, std::uint64_t vblock, BlockNr data_block) = 0;
  [[nodiscard]] virtual Result<std::optional<ThinLookup>> find_block(std::uint64_t id, std::uint64_t vblock) = 0;
  [[nodiscard]] virtual Status remove_mapping(std::uint64_t id, std::uint64_t vblock) = 0;
  // Removes every mapping in [begin, end); returns how many.
  [[nodiscard]] virtual Result<std::uint64_t> remove_range(std::uint64_t id, std::uint64_t begin, std::uint64_t end) = 0;
  // The first mapping at or after vblock: (vblock, data block).
  [[nodiscard]] virtual Result<std::optional<std::pair<std::uint64_t, BlockNr>>> next_mapping(std::uint64_t id,
                                                                                               std::uint64_t vblock) = 0;
  [[nodiscard]] virtual Result<std::optional<std::uint64_t>> lowest_mapped_block(std::uint64_t id) = 0;
  [[nodiscard]] virtual Result<std::optional<std::uint64_t>> highest_mapped_block(std::uint64_t id) = 0;
  // Every mapping of a device in order, with its packed (block << 24 | time) value; return false to stop.
  [[nodiscard]] virtual Status walk_mappings(
      std::uint64_t id, const std::function<Result<bool>(std::uint64_t vblock, std::uint64_t block_time)>& fn) = 0;

  // ---- transactions (dm_pool_commit_metadata, dm_pool_abort_metadata, transaction ids) ----
  [[nodiscard]] virtual Status commit() = 0;
  [[nodiscard]] virtual Status abort() = 0;
  [[nodiscard]] virtual Status set_transaction_id(std::uint64_t current, std::uint64_t next) = 0;
  [[nodiscard]] virtual std::uint64_t transaction_id() const = 0;
  // Successful commits since open (scenario models use it to know when a transaction ended).
  [[nodiscard]] virtual std::uint64_t commits() const = 0;

  // ---- space (dm_pool_resize_*_dev, dm_pool_get_*_count, the low-water threshold) ----
  [[nodiscard]] virtual Status resize_data(BlockNr new_nr_blocks) = 0;
  [[nodiscard]] virtual Status resize_metadata(BlockNr new_nr_blocks) = 0;
  [[nodiscard]] virtual Result<BlockNr> data_nr_blocks() = 0;
  [[nodiscard]] virtual Result<BlockNr> data_nr_free() = 0;
  [[nodiscard]] virtual Result<BlockNr> metadata_nr_blocks() = 0;
  // The free metadata count dm-thin sees: space-map free minus the reserve, floored at 0.
  [[nodiscard]] virtual Result<BlockNr> metadata_nr_free() = 0;
  // The metadata space map's own free count (dm_sm_get_nr_free), reserve not subtracted.
  [[nodiscard]] virtual Result<BlockNr> metadata_sm_nr_free() = 0;
  virtual void set_metadata_threshold(BlockNr threshold, std::function<void()> callback) = 0;

  // ---- metadata snapshot (dm_pool_reserve_metadata_snap, dm_pool_release_metadata_snap) ----
  [[nodiscard]] virtual Status reserve_metadata_snap() = 0;
  [[nodiscard]] virtual Status release_metadata_snap() = 0;
  [[nodiscard]] virtual BlockNr held_root() const = 0;

  // ---- needs_check (dm_pool_metadata_set_needs_check) and the offline repair's last step ----
  [[nodiscard]] virtual Status set_needs_check() = 0;
  [[nodiscard]] virtual Status clear_needs_check() = 0;
  [[nodiscard]] virtual bool needs_check() const = 0;

  // ---- read-only (dm_pool_metadata_read_only / read_write) ----
  virtual void set_read_only(bool read_only) = 0;
  [[nodiscard]] virtual bool read_only() const = 0;
  // Writes back every dirty cached block (a failed pool's last flush); no commit.
  [[nodiscard]] virtual Status flush_cache() = 0;

  // The steering introspection, when the engine offers it.
  [[nodiscard]] virtual ThinTreeShape* tree_shape() { return nullptr; }
};

// How an engine formats and opens thin-pool metadata (dm_pool_metadata_open, formatting when the
// device is empty). `cache_blocks` bounds the block cache.
class ThinEngine {
 public:
  virtual ~ThinEngine() = default;
  [[nodiscard]] virtual std::string_view name() const = 0;
  [[nodiscard]] virtual Result<std::unique_ptr<ThinMetadata>> format(BlockDevice& dev, std::uint32_t data_block_size,
                                                                     std::size_t cache_blocks) = 0;
  [[nodiscard]] virtual Result<std::unique_ptr<ThinMetadata>> open(BlockDevice& dev,
                                                                   std::optional<std::uint32_t> data_block_size,
                                                                   bool read_only, std::size_t cache_blocks) = 0;
};

}  // namespace pdsim::seam
