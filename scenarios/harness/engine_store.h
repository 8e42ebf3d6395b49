// SPDX-License-Identifier: GPL-2.0-or-later
// EngineStore: the smallest complete user of the engine, for raw btree / space-map workloads
// and their fault tests. A superblock of our own (block 0) holds a transaction id, the metadata
// and data space-map roots, a single-level map (key -> value, no references) and a two-level
// "volume" tree (volume id -> virtual block -> data block, counted in the data space map), where
// a snapshot shares its origin's subtree by reference count, as dm-thin's snapshots do.
//
// Every mutation is a transaction step; commit() makes the state durable (two-phase); after any
// error the caller must abort(), which re-reads the last committed superblock.
#pragma once

#include <cstdint>
#include <map>
#include <memory>

#include "core/btree/btree.h"
#include "core/check/check.h"
#include "core/sm/disk_space_map.h"
#include "core/sm/metadata_space_map.h"

namespace pdsim::scenarios {

struct StoreContents {
  std::uint64_t txn = 0;
  std::map<std::uint64_t, std::uint64_t> map;
  std::map<std::uint64_t, std::map<std::uint64_t, std::uint64_t>> volumes;  // id -> vblock -> data block
  friend bool operator==(const StoreContents&, const StoreContents&) = default;
};

// The superblock layout (ours): csum @0, blocknr @8, magic @16, txn @24, metadata sm root @32,
// data sm root @64, map root @96, volumes root @104.
[[nodiscard]] const Validator& store_superblock_validator();

// What the independent checker needs to check a store image: read from the image's own
// superblock (block 0), so it describes exactly what is on the device.
[[nodiscard]] Result<check::Input> store_checker_input(BlockDevice& dev);

// Checks a store image; returns every problem as one line (empty when clean).
[[nodiscard]] Result<std::vector<std::string>> check_store_image(BlockDevice& dev);

class EngineStore {
 public:
  static constexpr std::size_t kCacheBlocks = 256;

  [[nodiscard]] static Result<std::unique_ptr<EngineStore>> format(BlockDevice& dev, BlockNr data_blocks);
  [[nodiscard]] static Result<std::unique_ptr<EngineStore>> open(BlockDevice& dev);

  [[nodiscard]] Status insert(std::uint64_t key, std::uint64_t value);
  [[nodiscard]] Status remove(std::uint64_t key);  // no_data if absent
  // Maps vblock of a volume to a newly allocated data block (creating the volume if needed);
  // remapping an existing vblock releases its old data block.
  [[nodiscard]] Result<std::uint64_t> map_block(std::uint64_t volume, std::uint64_t vblock);
  [[nodiscard]] Status unmap_block(std::uint64_t volume, std::uint64_t vblock);
  // A new volume sharing the origin's mappings (the origin's subtree root gains a reference).
  [[nodiscard]] Status snapshot(std::uint64_t origin, std::uint64_t volume);
  [[nodiscard]] Status delete_volume(std::uint64_t volume);

  [[nodiscard]] Status commit();
  // Drops everything since the last commit and re-reads the committed superblock.
  [[nodiscard]] Status abort();

  // Reads the whole store (as of now, uncommitted changes included).
  [[nodiscard]] Result<StoreContents> contents();
  [[nodiscard]] std::uint64_t txn() const { return txn_; }
  [[nodiscard]] BlockManager& block_manager() { return bm_; }
  [[nodiscard]] TransactionManager& tm() { return tm_; }
  [[nodiscard]] sm::MetadataSpaceMap& metadata_sm() { return *meta_; }
  [[nodiscard]] sm::DiskSpaceMap& data_sm() { return *data_; }
  [[nodiscard]] BlockNr map_root() const { return map_root_; }
  [[nodiscard]] BlockNr volumes_root() const { return volumes_root_; }

  explicit EngineStore(BlockDevice& dev);

 private:
  [[nodiscard]] Status load_superblock();
  [[nodiscard]] btree::Info map_info();
  [[nodiscard]] btree::Info volumes_info();
  [[nodiscard]] btree::Info volume_subtree_info();  // the top level viewed alone: values are subtree roots

  BlockDevice& dev_;
  BlockManager bm_;
  TransactionManager tm_;
  std::unique_ptr<sm::MetadataSpaceMap> meta_;
  std::unique_ptr<sm::DiskSpaceMap> data_;
  std::uint64_t txn_ = 0;
  BlockNr map_root_ = 0;
  BlockNr volumes_root_ = 0;
};

}  // namespace pdsim::scenarios
