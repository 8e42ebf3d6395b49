// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — dm-cache metadata (algorithms.md §9), versions 1 and 2, on top of the engine: the
// superblock, the mapping array (one u64 per cache block), the policy-hint array, the discard
// bitset over the origin device and, in version 2, the dirty bitset. Arrays and bitsets are
// core/array's; the metadata space map and transaction manager are the same ones dm-thin uses.
//
// Lifecycle, as the kernel: format (or open) clears CLEAN_SHUTDOWN on disk and flushes at once,
// so a crash before the next clean close leaves it clear; commit(true) sets it again. While the
// flag was found clear at open, load_mappings() reports every mapped block dirty and no hints.
//
// Every mutating call is part of the current transaction; an error from one leaves the
// transaction inconsistent and the caller aborts (dm-cache then sets NEEDS_CHECK and goes
// read-only).
//
// Where we differ from kernel 6.1, on purpose:
//  * abort() makes the device durable, then re-reads every superblock field (the kernel keeps
//    the aborted transaction's roots and sizes in core, safe only because dm-cache never commits
//    after an abort); the engine may therefore carry on after an abort;
//  * version 2: set_dirty() keeps the dirty bits in core and commit() writes them (delete the
//    bitset, build a new one) when they changed; the kernel writes them only at suspend, just
//    before its clean commit, through set_dirty_bits().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/array/array.h"
#include "core/array/bitset.h"
#include "core/cache/cache_format.h"
#include "core/sm/metadata_space_map.h"

namespace pdsim::cache {

// A mapping; the policy that wrote (or reads) the hints: name, version, hint size (0 = the
// policy keeps none); a mapping as loaded, with its hint only when hints are valid (see
// load_mappings). The seam's types.
using Mapping = seam::CacheMapping;
using Policy = seam::CachePolicy;
using LoadedMapping = seam::LoadedMapping;

// Our engine behind the seam (core/seam/cache_metadata.h).
class CacheMetadata final : public seam::CacheMetadata {
 public:
  static constexpr std::size_t kDefaultCacheBlocks = 1024;  // block-manager cache, in blocks

  // Formats `dev` (cache of 0 blocks, empty discard bitset, no hints), then opens it.
  // REQUIRES: version 1 or 2; data_block_size a multiple of 64 in [64, 2097152].
  [[nodiscard]] static Result<std::unique_ptr<CacheMetadata>> format(BlockDevice& dev, std::uint32_t data_block_size,
                                                                     std::uint32_t version);
  // Opens formatted metadata; data_block_size, if given, must match the superblock's.
  [[nodiscard]] static Result<std::unique_ptr<CacheMetadata>> open(BlockDevice& dev,
                                                                   std::optional<std::uint32_t> data_block_size = std::nullopt);
  // The kernel's constructor: formats when block 0 is all zeros, else opens.
  [[nodiscard]] static Result<std::unique_ptr<CacheMetadata>> open_or_format(BlockDevice& dev, std::uint32_t data_block_size,
                                                                             std::uint32_t version);

  // ---- mappings and dirty state ----
  // Grows or shrinks the cache. Shrinking is refused (ErrorKind::invalid, nothing changed) while
  // a block being removed is mapped and dirty.
  [[nodiscard]] Status resize(std::uint32_t new_cache_blocks) override;
  // A new mapping is clean, and an unmapped block is not dirty, in both versions (v1 by the
  // mapping value itself; v2 clears the block's bit, which the kernel leaves to its caller).
  [[nodiscard]] Status insert_mapping(std::uint32_t cblock, std::uint64_t oblock) override;
  [[nodiscard]] Status remove_mapping(std::uint32_t cblock) override;
  // The stored mapping of cblock (dirty as stored, whatever clean_when_opened says).
  [[nodiscard]] Result<std::optional<Mapping>> lookup(std::uint32_t cblock) override;
  [[nodiscard]] Status set_dirty(std::uint32_t cblock, bool dirty) override;
  // The kernel's whole-cache call (bits.size() == cache_blocks): v1 updates each mapping whose
  // flag differs; v2 replaces the dirty bitset.
  [[nodiscard]] Status set_dirty_bits(const std::vector<bool>& bits) override;

  // ---- discards ----
  // Resizes the discard bitset (new bits clear) and records the discard block size and count.
  [[nodiscard]] Status resize_discard(std::uint64_t discard_block_size, std::uint64_t nr_discard_blocks) override;
  [[nodiscard]] Status set_discard(std::uint64_t dblock, bool discarded) override;
  // Visits every discard block in order, with its bit (all clear unless clean_when_opened).
  [[nodiscard]] Status load_discards(const std::function<Result<bool>(std::uint64_t dblock, bool discarded)>& fn) override;

  // ---- policy hints ----
  // Records the policy; if its hint_size is not 0, rebuilds the hint array from hint(cblock).
  // The name must be 1..15 characters; hint_size 0 or 4.
  [[nodiscard]] Status write_hints(const Policy& policy, const std::function<Result<std::uint32_t>(std::uint32_t cblock)>& hint) override;
  // Visits every mapped block in order. Dirty: the stored bit if the metadata was shut down
  // cleanly before this open, else true. Hints are given when they are valid for `policy`: clean
  // shutdown, same name, same major version, same hint size, and a hint array present.
  [[nodiscard]] Status load_mappings(const Policy& policy, const std::function<Result<bool>(const LoadedMapping&)>& fn) override;

  // ---- restore (building metadata from a dump) ----
  // Replaces the whole mapping array (and, v2, the dirty bitset) with `nr_cache_blocks` entries
  // from fn (nullopt: unmapped). Sets cache_blocks.
  [[nodiscard]] Status replace_mappings(std::uint32_t nr_cache_blocks,
                                        const std::function<Result<std::optional<Mapping>>(std::uint32_t)>& fn);

  // ---- transactions ----
  [[nodiscard]] Status commit(bool clean_shutdown) override;
  [[nodiscard]] Status abort() override;
  // Sets NEEDS_CHECK in core and in the superblock block (written with the next flush/commit).
  [[nodiscard]] Status set_needs_check() override;
  [[nodiscard]] bool needs_check() const override { return (flags_ & kNeedsCheckFlag) != 0; }
  [[nodiscard]] bool clean_when_opened() const override { return clean_when_opened_; }

  // ---- state ----
  [[nodiscard]] std::uint32_t version() const override { return version_; }
  [[nodiscard]] std::uint32_t cache_blocks() const override { return cache_blocks_; }
  [[nodiscard]] std::uint32_t data_block_size() const { return data_block_size_; }
  [[nodiscard]] std::uint64_t discard_block_size() const { return discard_block_size_; }
  [[nodiscard]] std::uint64_t discard_nr_blocks() const { return discard_nr_blocks_; }
  [[nodiscard]] const Policy& policy() const { return policy_; }
  [[nodiscard]] BlockNr hint_root() const { return hint_root_; }
  [[nodiscard]] const Stats& stats() const override { return stats_; }
  void set_stats(const Stats& s) override { stats_ = s; }
  [[nodiscard]] Result<BlockNr> metadata_nr_blocks() override { return meta_sm_->nr_blocks(); }
  [[nodiscard]] Result<BlockNr> metadata_nr_free() override { return meta_sm_->nr_free(); }
  [[nodiscard]] BlockManager& block_manager() { return bm_; }
  [[nodiscard]] TransactionManager& tm() { return tm_; }
  [[nodiscard]] sm::MetadataSpaceMap& metadata_sm() { return *meta_sm_; }

  CacheMetadata(BlockDevice& dev, std::uint32_t version);

 private:
  [[nodiscard]] static Result<std::unique_ptr<CacheMetadata>> open_formatted(BlockDevice& dev,
                                                                             std::optional<std::uint32_t> data_block_size);
  [[nodiscard]] Status read_superblock_and_space_map();  // all-zero test, validation, space map
  [[nodiscard]] Status clear_clean_shutdown();            // write-lock, clear the flag, flush
  [[nodiscard]] Status load_dirty_bits();                 // v2: the on-disk bitset into core
  [[nodiscard]] Status write_dirty_bitset();              // v2: delete + rebuild from core
  // v2 with bits changed since they were last written: write_dirty_bitset(). Called where dm-cache
  // hands its dirty bits to the metadata: before a resize, a load and the commit.
  [[nodiscard]] Status write_pending_dirty_bits();
  [[nodiscard]] Status check_cblock(std::uint32_t cblock) const;
  [[nodiscard]] Result<std::uint64_t> get_value(std::uint32_t cblock);
  [[nodiscard]] Status set_value(std::uint32_t cblock, std::uint64_t value);
  [[nodiscard]] Result<bool> stored_dirty(std::uint32_t cblock, std::uint64_t value);
  void reset_bitsets();
  [[nodiscard]] array::Info mapping_info() { return array::make_info(tm_, btree::plain_value_type(8)); }
  [[nodiscard]] array::Info hint_info() { return array::make_info(tm_, btree::plain_value_type(kHintSize)); }

  BlockDevice& dev_;
  BlockManager bm_;
  TransactionManager tm_;
  std::unique_ptr<sm::MetadataSpaceMap> meta_sm_;
  std::unique_ptr<array::Bitset> discard_bits_;
  std::unique_ptr<array::Bitset> dirty_bitset_;  // v2 (used for delete / create only)

  std::uint32_t version_;
  std::uint32_t flags_ = 0;
  BlockNr mapping_root_ = 0;
  BlockNr hint_root_ = 0;
  BlockNr discard_root_ = 0;
  BlockNr dirty_root_ = 0;
  std::uint64_t discard_block_size_ = 0;
  std::uint64_t discard_nr_blocks_ = 0;
  std::uint32_t data_block_size_ = 0;
  std::uint32_t cache_blocks_ = 0;
  Policy policy_;
  Stats stats_;
  bool clean_when_opened_ = false;
  std::vector<bool> dirty_;  // v2: the dirty bits in core
  bool dirty_changed_ = false;
};

// Our engine's formats and opens, for whatever drives cache metadata through the seam.
// The superblock's cache_blocks must fit the mapping array at `root` (as many entries as its
// highest array block can hold) before it sizes anything held in core: corruption otherwise (a v2
// image claiming 2^32-1 blocks over a 300-entry array took 529 MB).
[[nodiscard]] Status check_cache_blocks_fit(array::Info& mapping, BlockNr root, std::uint32_t cache_blocks);

[[nodiscard]] seam::CacheEngine& pdsim_cache_engine();

}  // namespace pdsim::cache
