// SPDX-License-Identifier: GPL-2.0-or-later
// A thin-metadata engine that forwards every call of the seam (core/seam/thin_metadata.h) to
// another one and counts them: proves that a harness drives metadata only through the seam, and is
// the shape of a differential engine (run two, compare).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "core/seam/thin_metadata.h"

namespace pdsim::testing {

class ForwardingThinMetadata final : public seam::ThinMetadata {
 public:
  ForwardingThinMetadata(std::unique_ptr<seam::ThinMetadata> inner, std::map<std::string, std::uint64_t>& calls)
      : inner_(std::move(inner)), calls_(calls) {}

  Status create_thin(std::uint64_t id) override { return count("create_thin"), inner_->create_thin(id); }
  Status create_snapshot(std::uint64_t id, std::uint64_t origin) override {
    return count("create_snapshot"), inner_->create_snapshot(id, origin);
  }
  Status delete_device(std::uint64_t id) override { return count("delete_device"), inner_->delete_device(id); }
  Result<std::vector<std::uint64_t>> device_ids() override { return count("device_ids"), inner_->device_ids(); }
  Result<std::uint64_t> mapped_count(std::uint64_t id) override { return count("mapped_count"), inner_->mapped_count(id); }
  Result<std::optional<BlockNr>> alloc_data_block() override { return count("alloc_data_block"), inner_->alloc_data_block(); }
  Status insert_mapping(std::uint64_t id, std::uint64_t vblock, BlockNr data_block) override {
    return count("insert_mapping"), inner_->insert_mapping(id, vblock, data_block);
  }
  Result<std::optional<seam::ThinLookup>> find_block(std::uint64_t id, std::uint64_t vblock) override {
    return count("find_block"), inner_->find_block(id, vblock);
  }
  Status remove_mapping(std::uint64_t id, std::uint64_t vblock) override {
    return count("remove_mapping"), inner_->remove_mapping(id, vblock);
  }
  Result<std::uint64_t> remove_range(std::uint64_t id, std::uint64_t begin, std::uint64_t end) override {
    return count("remove_range"), inner_->remove_range(id, begin, end);
  }
  Result<std::optional<std::pair<std::uint64_t, BlockNr>>> next_mapping(std::uint64_t id, std::uint64_t vblock) override {
    return count("next_mapping"), inner_->next_mapping(id, vblock);
  }
  Result<std::optional<std::uint64_t>> lowest_mapped_block(std::uint64_t id) override {
    return count("lowest_mapped_block"), inner_->lowest_mapped_block(id);
  }
  Result<std::optional<std::uint64_t>> highest_mapped_block(std::uint64_t id) override {
    return count("highest_mapped_block"), inner_->highest_mapped_block(id);
  }
  Status walk_mappings(std::uint64_t id,
                       const std::function<Result<bool>(std::uint64_t, std::uint64_t)>& fn) override {
    return count("walk_mappings"), inner_->walk_mappings(id, fn);
  }
  Status commit() override { return count("commit"), inner_->commit(); }
  Status abort() override { return count("abort"), inner_->abort(); }
  Status set_transaction_id(std::uint64_t current, std::uint64_t next) override {
    return count("set_transaction_id"), inner_->set_transaction_id(current, next);
  }
  std::uint64_t transaction_id() const override { return inner_->transaction_id(); }
  std::uint64_t commits() const override { return inner_->commits(); }
  Status resize_data(BlockNr n) override { return count("resize_data"), inner_->resize_data(n); }
  Status resize_metadata(BlockNr n) override { return count("resize_metadata"), inner_->resize_metadata(n); }
  Result<BlockNr> data_nr_blocks() override { return count("data_nr_blocks"), inner_->data_nr_blocks(); }
  Result<BlockNr> data_nr_free() override { return count("data_nr_free"), inner_->data_nr_free(); }
  Result<BlockNr> metadata_nr_blocks() override { return count("metadata_nr_blocks"), inner_->metadata_nr_blocks(); }
  Result<BlockNr> metadata_nr_free() override { return count("metadata_nr_free"), inner_->metadata_nr_free(); }
  Result<BlockNr> metadata_sm_nr_free() override { return count("metadata_sm_nr_free"), inner_->metadata_sm_nr_free(); }
  void set_metadata_threshold(BlockNr threshold, std::function<void()> callback) override {
    count("set_metadata_threshold");
    inner_->set_metadata_threshold(threshold, std::move(callback));
  }
  Status reserve_metadata_snap() override { return count("reserve_metadata_snap"), inner_->reserve_metadata_snap(); }
  Status release_metadata_snap() override { return count("release_metadata_snap"), inner_->release_metadata_snap(); }
  BlockNr held_root() const override { return inner_->held_root(); }
  Status set_needs_check() override { return count("set_needs_check"), inner_->set_needs_check(); }
  Status clear_needs_check() override { return count("clear_needs_check"), inner_->clear_needs_check(); }
  bool needs_check() const override { return inner_->needs_check(); }
  void set_read_only(bool ro) override {
    count("set_read_only");
    inner_->set_read_only(ro);
  }
  bool read_only() const override { return inner_->read_only(); }
  Status flush_cache() override { return count("flush_cache"), inner_->flush_cache(); }
  seam::ThinTreeShape* tree_shape() override { return inner_->tree_shape(); }

 private:
  void count(const char* what) { ++calls_[what]; }
  std::unique_ptr<seam::ThinMetadata> inner_;
  std::map<std::string, std::uint64_t>& calls_;
};

class ForwardingThinEngine final : public seam::ThinEngine {
 public:
  explicit ForwardingThinEngine(seam::ThinEngine& inner) : inner_(inner) {}
  std::string_view name() const override { return "forwarding"; }
  Result<std::unique_ptr<seam::ThinMetadata>> format(BlockDevice& dev, std::uint32_t data_block_size,
                                                     std::size_t cache_blocks) override {
    ++calls["format"];
    PDSIM_TRY_ASSIGN(auto md, inner_.format(dev, data_block_size, cache_blocks));
    return std::unique_ptr<seam::ThinMetadata>(std::make_unique<ForwardingThinMetadata>(std::move(md), calls));
  }
  Result<std::unique_ptr<seam::ThinMetadata>> open(BlockDevice& dev, std::optional<std::uint32_t> data_block_size,
                                                   bool read_only, std::size_t cache_blocks) override {
    ++calls["open"];
    PDSIM_TRY_ASSIGN(auto md, inner_.open(dev, data_block_size, read_only, cache_blocks));
    return std::unique_ptr<seam::ThinMetadata>(std::make_unique<ForwardingThinMetadata>(std::move(md), calls));
  }
  std::map<std::string, std::uint64_t> calls;

 private:
  seam::ThinEngine& inner_;
};

}  // namespace pdsim::testing
