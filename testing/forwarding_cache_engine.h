// SPDX-License-Identifier: GPL-2.0-or-later
// A cache-metadata engine that forwards every call of the seam (core/seam/cache_metadata.h) to
// another one and counts them (see forwarding_thin_engine.h).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "core/seam/cache_metadata.h"

namespace pdsim::testing {

class ForwardingCacheMetadata final : public seam::CacheMetadata {
 public:
  ForwardingCacheMetadata(std::unique_ptr<seam::CacheMetadata> inner, std::map<std::string, std::uint64_t>& calls)
      : inner_(std::move(inner)), calls_(calls) {}

  Status resize(std::uint32_t n) override { return count("resize"), inner_->resize(n); }
  Status insert_mapping(std::uint32_t cblock, std::uint64_t oblock) override {
    return count("insert_mapping"), inner_->insert_mapping(cblock, oblock);
  }
  Status remove_mapping(std::uint32_t cblock) override { return count("remove_mapping"), inner_->remove_mapping(cblock); }
  Result<std::optional<seam::CacheMapping>> lookup(std::uint32_t cblock) override {
    return count("lookup"), inner_->lookup(cblock);
  }
  Status set_dirty(std::uint32_t cblock, bool dirty) override { return count("set_dirty"), inner_->set_dirty(cblock, dirty); }
  Status set_dirty_bits(const std::vector<bool>& bits) override { return count("set_dirty_bits"), inner_->set_dirty_bits(bits); }
  Status load_mappings(const seam::CachePolicy& policy,
                       const std::function<Result<bool>(const seam::LoadedMapping&)>& fn) override {
    return count("load_mappings"), inner_->load_mappings(policy, fn);
  }
  Status resize_discard(std::uint64_t size, std::uint64_t nr) override {
    return count("resize_discard"), inner_->resize_discard(size, nr);
  }
  Status set_discard(std::uint64_t dblock, bool discarded) override {
    return count("set_discard"), inner_->set_discard(dblock, discarded);
  }
  Status load_discards(const std::function<Result<bool>(std::uint64_t, bool)>& fn) override {
    return count("load_discards"), inner_->load_discards(fn);
  }
  Status write_hints(const seam::CachePolicy& policy,
                     const std::function<Result<std::uint32_t>(std::uint32_t)>& hint) override {
    return count("write_hints"), inner_->write_hints(policy, hint);
  }
  const seam::CacheStats& stats() const override { return inner_->stats(); }
  void set_stats(const seam::CacheStats& s) override {
    count("set_stats");
    inner_->set_stats(s);
  }
  Status commit(bool clean_shutdown) override { return count("commit"), inner_->commit(clean_shutdown); }
  Status abort() override { return count("abort"), inner_->abort(); }
  Status set_needs_check() override { return count("set_needs_check"), inner_->set_needs_check(); }
  bool needs_check() const override { return inner_->needs_check(); }
  bool clean_when_opened() const override { return inner_->clean_when_opened(); }
  std::uint32_t version() const override { return inner_->version(); }
  std::uint32_t cache_blocks() const override { return inner_->cache_blocks(); }
  Result<BlockNr> metadata_nr_blocks() override { return count("metadata_nr_blocks"), inner_->metadata_nr_blocks(); }
  Result<BlockNr> metadata_nr_free() override { return count("metadata_nr_free"), inner_->metadata_nr_free(); }

 private:
  void count(const char* what) { ++calls_[what]; }
  std::unique_ptr<seam::CacheMetadata> inner_;
  std::map<std::string, std::uint64_t>& calls_;
};

class ForwardingCacheEngine final : public seam::CacheEngine {
 public:
  explicit ForwardingCacheEngine(seam::CacheEngine& inner) : inner_(inner) {}
  std::string_view name() const override { return "forwarding"; }
  bool resize_resizes_hints() const override { return inner_.resize_resizes_hints(); }
  bool abort_retry_reopens() const override { return inner_.abort_retry_reopens(); }
  Result<std::unique_ptr<seam::CacheMetadata>> format(BlockDevice& dev, std::uint32_t data_block_size,
                                                      std::uint32_t version) override {
    ++calls["format"];
    PDSIM_TRY_ASSIGN(auto md, inner_.format(dev, data_block_size, version));
    return std::unique_ptr<seam::CacheMetadata>(std::make_unique<ForwardingCacheMetadata>(std::move(md), calls));
  }
  Result<std::unique_ptr<seam::CacheMetadata>> open(BlockDevice& dev,
                                                    std::optional<std::uint32_t> data_block_size) override {
    ++calls["open"];
    PDSIM_TRY_ASSIGN(auto md, inner_.open(dev, data_block_size));
    return std::unique_ptr<seam::CacheMetadata>(std::make_unique<ForwardingCacheMetadata>(std::move(md), calls));
  }
  std::map<std::string, std::uint64_t> calls;

 private:
  seam::CacheEngine& inner_;
};

}  // namespace pdsim::testing
