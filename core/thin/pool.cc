// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/common/marks.h"
#include "core/thin/pool.h"

#include <fmt/format.h>

#include "core/common/seed_bugs.h"
#include "core/sm/sm_format.h"

namespace pdsim::thin {

std::string_view to_string(PoolMode m) noexcept {
  switch (m) {
    case PoolMode::write: return "write";
    case PoolMode::out_of_data_space: return "out-of-data-space";
    case PoolMode::out_of_metadata_space: return "out-of-metadata-space";
    case PoolMode::read_only: return "read-only";
    case PoolMode::fail: return "fail";
  }
  return "?";
}

Result<std::unique_ptr<Pool>> Pool::create(std::unique_ptr<seam::ThinMetadata> md, const PoolTable& table) {
  auto pool = std::make_unique<Pool>(std::move(md), table);
  pool->register_metadata_threshold();
  PDSIM_TRY(pool->resume());
  return pool;
}

void Pool::register_metadata_threshold() {
  // Registered once per table load (dm-thin's pool constructor), from the metadata *device* size
  // (capped), before the resume that may grow the space map to it.
  const BlockNr device = std::min<BlockNr>(table_.metadata_blocks, sm::kMetadataMaxBlocks);
  md_->set_metadata_threshold(std::min<BlockNr>(1024, device / 4), [this] { metadata_low_water_raised_ = true; });
}

void Pool::set_mode(PoolMode requested) {
  PoolMode next = requested;
  if (next == PoolMode::write && md_->needs_check())
    next = mode_ == PoolMode::write ? PoolMode::read_only : mode_;  // "unable to switch to write mode until repaired"
  if (mode_ == PoolMode::fail) next = PoolMode::fail;
  if (next != mode_) PDSIM_MARK("pool.mode_change");
  mode_ = next;
  const bool ro = next == PoolMode::fail || next == PoolMode::read_only || next == PoolMode::out_of_metadata_space;
  md_->set_read_only(ro);
}

Status Pool::refuse_if_degraded(std::string_view what) const {
  if (mode_ == PoolMode::out_of_metadata_space || mode_ == PoolMode::read_only || mode_ == PoolMode::fail)
    return Error::read_only(fmt::format("{}: operation not supported while the pool is {}", what, to_string(mode_)));
  return {};
}

Error Pool::metadata_failed(Error e) {
  // The abort runs with the block manager writable (as dm-thin: abort, set the flag, then drop to
  // read-only).
  md_->set_read_only(false);
  Status s = md_->abort();
  if (s) s = md_->set_needs_check();
  if (!s) {
    mode_ = PoolMode::fail;
    md_->set_read_only(true);
    return std::move(e).with_context(fmt::format("pool failed ({})", s.error().to_string()));
  }
  set_mode(PoolMode::read_only);
  return e;
}

Status Pool::after_commit() {
  // Leaving OUT_OF_DATA_SPACE when space became usable; entering OUT_OF_METADATA_SPACE when the
  // reported free metadata (reserve subtracted) is gone.
  auto data_free = md_->data_nr_free();
  if (!data_free) return metadata_failed(std::move(data_free).error());
  if (mode_ == PoolMode::out_of_data_space && *data_free > 0) set_mode(PoolMode::write);
  auto meta_free = md_->metadata_nr_free();
  if ((!meta_free || *meta_free == 0) && mode_ != PoolMode::out_of_metadata_space && mode_ != PoolMode::read_only)
    set_mode(PoolMode::out_of_metadata_space);
  return {};
}

Status Pool::commit() {
  if (mode_ == PoolMode::out_of_metadata_space || mode_ == PoolMode::read_only || mode_ == PoolMode::fail)
    return Error::invalid(fmt::format("commit refused: the pool is {}", to_string(mode_)));
  Status s = md_->commit();
  if (!s) return metadata_failed(std::move(s).error().with_context("commit"));
  return after_commit();
}

Status Pool::create_thin(std::uint64_t id) {
  PDSIM_TRY(refuse_if_degraded("create_thin"));
  PDSIM_TRY(md_->create_thin(id));
  return commit();
}

Status Pool::create_snapshot(std::uint64_t id, std::uint64_t origin) {
  PDSIM_TRY(refuse_if_degraded("create_snap"));
  PDSIM_TRY(md_->create_snapshot(id, origin));
  return commit();
}

Status Pool::delete_thin(std::uint64_t id) {
  PDSIM_TRY(refuse_if_degraded("delete"));
  PDSIM_TRY(md_->delete_device(id));
  return commit();
}

Status Pool::set_transaction_id(std::uint64_t current, std::uint64_t next) {
  PDSIM_TRY(refuse_if_degraded("set_transaction_id"));
  PDSIM_TRY(md_->set_transaction_id(current, next));
  return commit();
}

Result<std::optional<BlockNr>> Pool::alloc_data_block() {
  auto free = md_->data_nr_free();
  if (!free) return metadata_failed(std::move(free).error());
  if (*free <= table_.low_water_blocks) low_water_raised_ = true;
  if (*free == 0) {
    PDSIM_TRY(commit());  // frees of this transaction become usable
    PDSIM_TRY_ASSIGN(BlockNr again, md_->data_nr_free());
    if (again == 0) {
      set_mode(PoolMode::out_of_data_space);
      return std::optional<BlockNr>();
    }
  }
  auto b = md_->alloc_data_block();
  if (!b) return metadata_failed(std::move(b).error());
  if (!b->has_value()) {  // free blocks exist but were freed in this transaction
    set_mode(PoolMode::out_of_data_space);
    return std::optional<BlockNr>();
  }
  // When the reported free metadata reaches 0, commit (which then switches to
  // OUT_OF_METADATA_SPACE) before the reserve is used up.
  auto meta_free = md_->metadata_nr_free();
  if (!meta_free) return metadata_failed(std::move(meta_free).error());
  if (*meta_free == 0) PDSIM_TRY(commit());
  return b;
}

Result<ProvisionResult> Pool::write(std::uint64_t id, std::uint64_t vblock) {
  if (mode_ == PoolMode::fail) return Error::io("the pool has failed");
  auto found = md_->find_block(id, vblock);
  if (!found) return metadata_failed(std::move(found).error());
  if (*found && !(*found)->shared) return ProvisionResult{(*found)->data_block, false};
  // Unmapped, or shared with a snapshot: a new data block is needed.
  if (mode_ == PoolMode::out_of_data_space)
    return Error::no_space(fmt::format("thin {} block {}: the pool is out of data space", id, vblock));
  if (mode_ != PoolMode::write) return Error::io(fmt::format("thin {} block {}: the pool is {}", id, vblock, to_string(mode_)));
  PDSIM_TRY_ASSIGN(std::optional<BlockNr> b, alloc_data_block());
  if (!b) return Error::no_space(fmt::format("thin {} block {}: the pool is out of data space", id, vblock));
  // The allocation's commit may have switched the pool to a read-only mode: the prepared mapping
  // then fails (EIO) without being a metadata failure; the unmapped block is never committed.
  if (mode_ != PoolMode::write)
    return Error::io(fmt::format("thin {} block {}: the pool became {} while provisioning", id, vblock, to_string(mode_)));
  Status s = md_->insert_mapping(id, vblock, *b);
  if (!s) return metadata_failed(std::move(s).error().with_context("insert mapping"));
  return ProvisionResult{*b, true};
}

Result<std::optional<BlockNr>> Pool::read(std::uint64_t id, std::uint64_t vblock) {
  if (mode_ == PoolMode::fail) return Error::io("the pool has failed");
  auto found = md_->find_block(id, vblock);
  if (!found) return std::move(found).error();
  if (!*found) return std::optional<BlockNr>();
  return std::optional<BlockNr>((*found)->data_block);
}

Status Pool::discard(std::uint64_t id, std::uint64_t begin, std::uint64_t end) {
  if (mode_ == PoolMode::fail) return Error::io("the pool has failed");
  if (mode_ == PoolMode::read_only || mode_ == PoolMode::out_of_metadata_space) return {};  // completed, nothing unmapped
  auto removed = md_->remove_range(id, begin, end);
  if (!removed) return metadata_failed(std::move(removed).error().with_context("remove range"));
  return {};
}

Status Pool::remove_block(std::uint64_t id, std::uint64_t vblock) {
  if (mode_ == PoolMode::fail) return Error::io("the pool has failed");
  if (mode_ == PoolMode::read_only || mode_ == PoolMode::out_of_metadata_space) return {};
  Status s = md_->remove_mapping(id, vblock);
  if (!s) return metadata_failed(std::move(s).error().with_context("remove block"));
  return {};
}

Status Pool::resume() {
  low_water_raised_ = false;
  PoolMode requested = table_.read_only ? PoolMode::read_only : PoolMode::write;
  // Seed bug (f): binding a table kept the worse of the current and the requested mode (the
  // enum is in degradation order), so a degraded pool never returned to write mode.
  if (bug_on(Bug::f) && mode_ > requested) [[unlikely]] requested = mode_;
  set_mode(requested);
  if (md_->needs_check()) return {};  // growing is skipped until repaired
  bool grew = false;
  PDSIM_TRY_ASSIGN(BlockNr data_now, md_->data_nr_blocks());
  if (table_.data_blocks < data_now)
    return Error::invalid(fmt::format("pool target ({} blocks) is smaller than the data device ({} blocks)", table_.data_blocks, data_now));
  if (table_.data_blocks > data_now && mode_ != PoolMode::read_only) {
    Status s = md_->resize_data(table_.data_blocks);
    if (!s) return metadata_failed(std::move(s).error().with_context("resize data"));
    grew = true;
  }
  const BlockNr meta_target = std::min<BlockNr>(table_.metadata_blocks, sm::kMetadataMaxBlocks);
  PDSIM_TRY_ASSIGN(BlockNr meta_now, md_->metadata_nr_blocks());
  if (meta_target < meta_now)
    return Error::invalid(fmt::format("metadata device ({} blocks) is smaller than the space map ({} blocks)", meta_target, meta_now));
  if (meta_target > meta_now && mode_ != PoolMode::read_only) {
    if (mode_ == PoolMode::out_of_metadata_space) set_mode(PoolMode::write);
    Status s = md_->resize_metadata(meta_target);
    if (!s) return metadata_failed(std::move(s).error().with_context("resize metadata"));
    grew = true;
  }
  if (grew) return commit();
  return {};
}

Status Pool::reload(const PoolTable& table) {
  table_ = table;
  register_metadata_threshold();  // a table load: the threshold follows the new device size
  return resume();
}

Status Pool::shutdown() {
  if (mode_ == PoolMode::write || mode_ == PoolMode::out_of_data_space) return commit();
  // Degraded: no commit, but the cache still writes back its dirty blocks (the NEEDS_CHECK flag).
  const bool ro = md_->read_only();
  md_->set_read_only(false);
  Status s = md_->flush_cache();
  md_->set_read_only(ro);
  return s;
}

}  // namespace pdsim::thin
