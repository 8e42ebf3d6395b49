// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — dm-thin pool metadata (algorithms.md §8) on top of the engine: the superblock, the
// device-details tree, the two-level mapping tree (device id -> virtual block -> block_time),
// the data space map, snapshots that share their origin's mapping tree by reference count,
// metadata snapshots (held roots), resize of both devices, commit and abort.
//
// Every mutating call is part of the current transaction. An error from one is a failed metadata
// operation: the caller aborts (dm-thin then sets NEEDS_CHECK and drops to read-only, see
// core/thin/pool.h).
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>

#include "core/btree/btree.h"
#include "core/btree/builder.h"
#include "core/sm/disk_space_map.h"
#include "core/sm/metadata_space_map.h"
#include "core/seam/thin_metadata.h"
#include "core/thin/thin_format.h"

namespace pdsim::thin {

using LookupResult = seam::ThinLookup;

// Our engine behind the seam (core/seam/thin_metadata.h): the kernel's dm-thin-metadata.c,
// written from the facts of ../shared/spec.
class PoolMetadata final : public seam::ThinMetadata, public seam::ThinTreeShape {
 public:
  static constexpr std::size_t kDefaultCacheBlocks = 1024;

  // Formats `dev` as a new pool (data space map of 0 blocks; resize_data grows it).
  // `cache_blocks`: the bound of the block cache (a small one makes every transaction evict dirty
  // blocks before its commit).
  [[nodiscard]] static Result<std::unique_ptr<PoolMetadata>> format(BlockDevice& dev, std::uint32_t data_block_size,
                                                                    std::size_t cache_blocks = kDefaultCacheBlocks);
  // Opens an existing pool. data_block_size, if given, must match the superblock's.
  [[nodiscard]] static Result<std::unique_ptr<PoolMetadata>> open(BlockDevice& dev,
                                                                  std::optional<std::uint32_t> data_block_size = std::nullopt,
                                                                  bool read_only = false,
                                                                  std::size_t cache_blocks = kDefaultCacheBlocks);

  // ---- devices ----
  [[nodiscard]] Status create_thin(std::uint64_t id) override;
  [[nodiscard]] Status create_snapshot(std::uint64_t id, std::uint64_t origin) override;
  [[nodiscard]] Status delete_device(std::uint64_t id) override;
  [[nodiscard]] Result<bool> device_exists(std::uint64_t id);
  [[nodiscard]] Result<DeviceDetails> device_details(std::uint64_t id);
  [[nodiscard]] Result<std::vector<std::uint64_t>> device_ids() override;
  [[nodiscard]] Result<std::uint64_t> mapped_count(std::uint64_t id) override;

  // ---- mappings ----
  // Allocates a data block (count 1). nullopt when the data device is full.
  [[nodiscard]] Result<std::optional<BlockNr>> alloc_data_block() override;
  // Maps vblock of device id to data_block (whose reference is transferred to the mapping).
  [[nodiscard]] Status insert_mapping(std::uint64_t id, std::uint64_t vblock, BlockNr data_block) override;
  [[nodiscard]] Result<std::optional<LookupResult>> find_block(std::uint64_t id, std::uint64_t vblock) override;
  [[nodiscard]] Status remove_mapping(std::uint64_t id, std::uint64_t vblock) override;
  // Removes every mapping in [begin, end); returns how many.
  [[nodiscard]] Result<std::uint64_t> remove_range(std::uint64_t id, std::uint64_t begin, std::uint64_t end) override;
  // Highest / lowest mapped virtual block, nullopt when nothing is mapped.
  [[nodiscard]] Result<std::optional<std::uint64_t>> highest_mapped_block(std::uint64_t id) override { return mapped_edge(id, false); }
  [[nodiscard]] Result<std::optional<std::uint64_t>> lowest_mapped_block(std::uint64_t id) override { return mapped_edge(id, true); }
  // The first mapping at or after vblock, as the kernel's range lookups find it (lookup_next on
  // the two-level tree): (vblock, data block), nullopt when none.
  [[nodiscard]] Result<std::optional<std::pair<std::uint64_t, BlockNr>>> next_mapping(std::uint64_t id, std::uint64_t vblock) override;
  // How many children the root of a device's mapping tree has (0 when the root is a leaf): lets
  // workloads steer towards a structural state (a single-child root) they want to share.
  [[nodiscard]] Result<std::uint32_t> mapping_root_fanout(std::uint64_t id) override;
  // The leaf of a device's mapping tree that a lookup of vblock reaches, with its siblings under
  // the same parent (at most one on each side): their entry counts, the leaf's position among
  // them, and the leaf's first and last keys. No siblings when the root is a leaf. Lets
  // workloads steer a leaf and its neighbours to just below the merge threshold before sharing.
  using LeafNeighbourhood = seam::ThinTreeShape::LeafNeighbourhood;
  [[nodiscard]] Result<LeafNeighbourhood> mapping_leaf_neighbourhood(std::uint64_t id, std::uint64_t vblock) override;
  [[nodiscard]] seam::ThinTreeShape* tree_shape() override { return this; }
  // Visits a device's mappings in order; return false to stop.
  [[nodiscard]] Status walk_mappings(std::uint64_t id,
                                     const std::function<Result<bool>(std::uint64_t vblock, std::uint64_t block_time)>& fn) override;

  // ---- pool ----
  [[nodiscard]] Status set_transaction_id(std::uint64_t current, std::uint64_t next) override;
  [[nodiscard]] std::uint64_t transaction_id() const override { return trans_id_; }
  [[nodiscard]] std::uint32_t time() const { return time_; }
  [[nodiscard]] Status commit() override;
  // Successful commits since open (scenario models use it to know when a transaction ended).
  [[nodiscard]] std::uint64_t commits() const override { return commits_; }
  [[nodiscard]] Status abort() override;
  [[nodiscard]] Status resize_data(BlockNr new_nr_blocks) override;
  [[nodiscard]] Status resize_metadata(BlockNr new_nr_blocks) override;
  [[nodiscard]] Status reserve_metadata_snap() override;
  [[nodiscard]] Status release_metadata_snap() override;
  [[nodiscard]] BlockNr held_root() const override { return held_root_; }
  // NEEDS_CHECK: set in core and written into the committed superblock (flags only).
  [[nodiscard]] Status set_needs_check() override;
  // The offline repair's last step (thin_check --clear-needs-check-flag on clean metadata).
  [[nodiscard]] Status clear_needs_check() override;
  [[nodiscard]] bool needs_check() const override { return (flags_ & kNeedsCheckFlag) != 0; }

  [[nodiscard]] Result<BlockNr> data_nr_blocks() override { return data_sm_->nr_blocks(); }
  [[nodiscard]] Result<BlockNr> data_nr_free() override { return data_sm_->nr_free(); }
  [[nodiscard]] Result<BlockNr> metadata_nr_blocks() override { return meta_sm_->nr_blocks(); }
  // The free metadata count dm-thin sees: space-map free minus the reserve, floored at 0.
  [[nodiscard]] Result<BlockNr> metadata_nr_free() override;
  [[nodiscard]] Result<BlockNr> metadata_sm_nr_free() override { return meta_sm_->nr_free(); }
  [[nodiscard]] BlockNr metadata_reserve() const { return metadata_reserve_; }
  void set_metadata_threshold(BlockNr threshold, std::function<void()> callback) override {
    meta_sm_->set_threshold(threshold, std::move(callback));
  }

  // ---- restore (building a pool from a dump) ----
  // Sets a device's details as given (the device must exist).
  [[nodiscard]] Status restore_details(std::uint64_t id, const DeviceDetails& details);
  // Maps vblock to data_block at the given time, taking a reference on the data block (a restored
  // pool has no sharing: a data block mapped k times has count k).
  [[nodiscard]] Status restore_mapping(std::uint64_t id, std::uint64_t vblock, BlockNr data_block, std::uint32_t time) {
    return restore_range(id, vblock, data_block, 1, time);
  }
  // Maps [vbegin, vbegin + length) to [data_begin, data_begin + length) at `time`, counting the
  // data blocks with one range increment.
  [[nodiscard]] Status restore_range(std::uint64_t id, std::uint64_t vbegin, BlockNr data_begin, std::uint64_t length,
                                     std::uint32_t time);
  // Bulk restore of one device: begin_load, then load_range for its mappings, then end_load.
  // Mappings given in ascending order are packed into full nodes bottom-up (btree::Builder);
  // from the first one out of order on, the rest are inserted one by one. A block mapped twice
  // is ErrorKind::invalid either way. One device loads at a time.
  [[nodiscard]] Status begin_load(std::uint64_t id);
  [[nodiscard]] Status load_range(std::uint64_t vbegin, BlockNr data_begin, std::uint64_t length, std::uint32_t time);
  [[nodiscard]] Status end_load(const DeviceDetails& details);
  void restore_superblock_fields(std::uint32_t time, std::uint64_t trans_id, std::uint32_t flags, std::uint32_t version) {
    in_service_ = true;
    time_ = time;
    trans_id_ = trans_id;
    flags_ = flags;
    restored_version_ = version;
  }

  void set_read_only(bool read_only) override { bm_.set_read_only(read_only); }
  [[nodiscard]] bool read_only() const override { return bm_.is_read_only(); }
  [[nodiscard]] Status flush_cache() override { return bm_.flush(); }

  [[nodiscard]] BlockManager& block_manager() { return bm_; }
  [[nodiscard]] TransactionManager& tm() { return tm_; }
  [[nodiscard]] sm::MetadataSpaceMap& metadata_sm() { return *meta_sm_; }
  [[nodiscard]] sm::DiskSpaceMap& data_sm() { return *data_sm_; }
  [[nodiscard]] BlockNr mapping_root() const { return root_; }
  [[nodiscard]] BlockNr details_root() const { return details_root_; }

  PoolMetadata(BlockDevice& dev, std::uint32_t data_block_size, std::size_t cache_blocks = kDefaultCacheBlocks);

 private:
  struct DeviceRecord {
    std::uint64_t id;
    DeviceDetails details;
    bool changed = false;
    std::uint32_t open_count = 0;
  };

  [[nodiscard]] Status open_space_maps(const Superblock& sb);
  [[nodiscard]] Status begin_transaction();
  [[nodiscard]] Status commit_steps();  // §8.8 steps 1–7
  [[nodiscard]] Status write_details();
  [[nodiscard]] Result<DeviceRecord*> record_for(std::uint64_t id);  // in core, else from the details tree
  [[nodiscard]] Result<BlockNr> subtree_root(std::uint64_t id);
  [[nodiscard]] Result<std::optional<std::uint64_t>> mapped_edge(std::uint64_t id, bool lowest);
  void recompute_reserve();

  [[nodiscard]] btree::ValueType block_time_type();
  btree::ValueType block_time_vt_;  // built once: the views below copy it
  [[nodiscard]] btree::Info info();          // 2 levels, block_time
  [[nodiscard]] btree::Info tl_info();       // top level, value = subtree root (dec deletes it)
  [[nodiscard]] btree::Info bl_info();       // one device's subtree, block_time
  [[nodiscard]] btree::Info details_info();  // device details

  BlockDevice& dev_;
  BlockManager bm_;
  TransactionManager tm_;
  std::unique_ptr<sm::MetadataSpaceMap> meta_sm_;
  std::unique_ptr<sm::DiskSpaceMap> data_sm_;

  BlockNr root_ = 0;
  BlockNr details_root_ = 0;
  BlockNr held_root_ = 0;
  std::uint32_t time_ = 0;
  std::uint64_t trans_id_ = 0;
  std::uint32_t flags_ = 0;
  // The version a restore asked for (thin_restore writes the document's, 1 or 2); a commit keeps
  // the superblock's otherwise.
  std::optional<std::uint32_t> restored_version_;
  std::uint32_t data_block_size_;
  BlockNr metadata_reserve_ = 0;
  bool in_service_ = false;
  std::uint64_t commits_ = 0;
  std::list<DeviceRecord> records_;  // newest first, as the kernel's list

  struct Load {
    std::uint64_t id;
    btree::Info info;
    std::optional<btree::Builder> builder;  // reset once the device is in the mapping tree
  };
  [[nodiscard]] Status install_loaded(Load& load);
  std::unique_ptr<Load> load_;
};

// Our engine's formats and opens, for whatever drives metadata through the seam.
[[nodiscard]] seam::ThinEngine& pdsim_thin_engine();

}  // namespace pdsim::thin
