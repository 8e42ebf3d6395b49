// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — dm-thin's pool modes (algorithms.md §8.12) over the thin-metadata seam (core/seam/thin_metadata.h; ours is PoolMetadata): what the pool target does
// with messages, provisioning writes, discards, commits and resumes in each mode, and when it
// moves between WRITE, OUT_OF_DATA_SPACE, OUT_OF_METADATA_SPACE, READ_ONLY and FAIL.
//
// A failed metadata operation aborts the transaction, sets NEEDS_CHECK (in core and in the
// committed superblock, flags only) and drops the pool to READ_ONLY; if the abort or the flag
// fails, the pool goes to FAIL, which is never left. A pool with NEEDS_CHECK cannot return to
// WRITE until repaired offline.
#pragma once

#include <memory>
#include <string_view>

#include "core/seam/thin_metadata.h"

namespace pdsim::thin {

enum class PoolMode { write, out_of_data_space, out_of_metadata_space, read_only, fail };
[[nodiscard]] std::string_view to_string(PoolMode m) noexcept;

struct PoolTable {
  BlockNr data_blocks = 0;          // the pool target's length in data blocks
  BlockNr metadata_blocks = 0;      // the metadata device's size in 4 KiB blocks
  bool read_only = false;           // the table's read_only feature
  bool error_if_no_space = false;
  BlockNr low_water_blocks = 0;
};

struct ProvisionResult {
  BlockNr data_block;
  bool newly_mapped;
};

class Pool {
 public:
  // Binds a table to open metadata and resumes (sets the mode, resizes, commits if grown).
  [[nodiscard]] static Result<std::unique_ptr<Pool>> create(std::unique_ptr<seam::ThinMetadata> md, const PoolTable& table);

  [[nodiscard]] PoolMode mode() const { return mode_; }
  [[nodiscard]] seam::ThinMetadata& metadata() { return *md_; }
  [[nodiscard]] bool data_low_water_raised() const { return low_water_raised_; }
  // The metadata low-water event (the metadata space map's threshold, §4.8): raised once when
  // free metadata falls to min(1024, device blocks / 4). Like dm-thin's, the registration is lost
  // when an abort re-opens the space map.
  [[nodiscard]] bool metadata_low_water_raised() const { return metadata_low_water_raised_; }

  // ---- pool messages: refused (read_only error, "operation not supported") in the degraded
  // modes; each successful one is followed by a commit. Their own failures are not metadata
  // failures (no abort). ----
  [[nodiscard]] Status create_thin(std::uint64_t id);
  [[nodiscard]] Status create_snapshot(std::uint64_t id, std::uint64_t origin);
  [[nodiscard]] Status delete_thin(std::uint64_t id);
  [[nodiscard]] Status set_transaction_id(std::uint64_t current, std::uint64_t next);

  // ---- I/O ----
  // A write to vblock: served in place when mapped (and the pool can still write data); an
  // unmapped block needs a new data block: no_space in OUT_OF_DATA_SPACE, io error in the other
  // degraded modes.
  [[nodiscard]] Result<ProvisionResult> write(std::uint64_t id, std::uint64_t vblock);
  // A read: the mapping, or nullopt for an unprovisioned region (reads as zeros) — in every mode
  // but FAIL.
  [[nodiscard]] Result<std::optional<BlockNr>> read(std::uint64_t id, std::uint64_t vblock);
  // A discard: unmaps [begin, end); in READ_ONLY it completes without unmapping anything.
  [[nodiscard]] Status discard(std::uint64_t id, std::uint64_t begin, std::uint64_t end);
  // Unmaps one mapped block with a single btree remove (dm_thin_remove_block); in READ_ONLY it
  // completes without unmapping. Removing an unmapped block is a metadata failure, as removing
  // an absent key is in the kernel (the path was already shadowed).
  [[nodiscard]] Status remove_block(std::uint64_t id, std::uint64_t vblock);

  // ---- commits and table reloads ----
  // Refused (invalid) in OUT_OF_METADATA_SPACE, READ_ONLY and FAIL.
  [[nodiscard]] Status commit();
  // Reload + resume with a (possibly grown) table: applies its mode, grows the devices, commits.
  [[nodiscard]] Status reload(const PoolTable& table);

  // What the pool target does when it is torn down: the cache writes back what is dirty (the
  // NEEDS_CHECK superblock included) even when the pool is read-only.
  [[nodiscard]] Status shutdown();

  Pool(std::unique_ptr<seam::ThinMetadata> md, const PoolTable& table) : md_(std::move(md)), table_(table) {}

 private:
  void set_mode(PoolMode requested);
  [[nodiscard]] Status refuse_if_degraded(std::string_view what) const;
  // A failed metadata operation: abort, NEEDS_CHECK, READ_ONLY (FAIL if that fails). Returns
  // the original error.
  [[nodiscard]] Error metadata_failed(Error e);
  [[nodiscard]] Status after_commit();
  [[nodiscard]] Result<std::optional<BlockNr>> alloc_data_block();
  [[nodiscard]] Status resume();
  void register_metadata_threshold();

  std::unique_ptr<seam::ThinMetadata> md_;
  PoolTable table_;
  PoolMode mode_ = PoolMode::write;
  bool low_water_raised_ = false;
  bool metadata_low_water_raised_ = false;
};

}  // namespace pdsim::thin
