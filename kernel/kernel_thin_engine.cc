// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — the kernel's dm-thin-metadata.c behind seam::ThinMetadata. Each call goes through
// thin_glue.c to the kernel's public function of the same name (dm_pool_create_thin,
// dm_thin_insert_block, dm_pool_commit_metadata, ...). Where the seam asks for something the
// kernel's interface does not give, it is built from what it does give, and said so below.
#include <cerrno>
#include <optional>

#include "core/common/assert.h"
#include "core/thin/thin_format.h"
#include "kernel/kernel_call.h"
#include "kernel/kernel_engine.h"

extern "C" {
#include "kernel/kernel_glue.h"
}

namespace pdsim::kernel {
namespace {

class KernelThinMetadata final : public seam::ThinMetadata {
 public:
  KernelThinMetadata(BlockDevice& dev, std::size_t cache_blocks) : call_(dev, cache_blocks) {}
  ~KernelThinMetadata() override { call_.end(pmd_, &pdsim_thin_drop); }

  Status open(std::uint64_t data_block_size, bool format) {
    return call_.run(format ? "dm_pool_metadata_open (format)" : "dm_pool_metadata_open", [&] {
      int err = 0;
      pmd_ = pdsim_thin_open(call_.bdev(), data_block_size, format, &err);
      return err;
    });
  }

  Status create_thin(std::uint64_t id) override {
    return call_.run("dm_pool_create_thin", [&] { return pdsim_thin_create_thin(pmd_, id); });
  }
  Status create_snapshot(std::uint64_t id, std::uint64_t origin) override {
    return call_.run("dm_pool_create_snap", [&] { return pdsim_thin_create_snap(pmd_, id, origin); });
  }
  Status delete_device(std::uint64_t id) override {
    return call_.run("dm_pool_delete_thin_device", [&] { return pdsim_thin_delete(pmd_, id); });
  }
  // The keys of the top-level mapping tree: every device that exists in this transaction.
  Result<std::vector<std::uint64_t>> device_ids() override {
    std::vector<std::uint64_t> ids;
    PDSIM_TRY(call_.run("walk of the top-level mapping tree", [&] {
      return pdsim_thin_walk_devices(
          pmd_,
          [](void* ctx, std::uint64_t key, std::uint64_t) {
            static_cast<std::vector<std::uint64_t>*>(ctx)->push_back(key);
            return 0;
          },
          &ids);
    }));
    return ids;
  }
  Result<std::uint64_t> mapped_count(std::uint64_t id) override {
    std::uint64_t n = 0;
    PDSIM_TRY(call_.run("dm_thin_get_mapped_count", [&] { return pdsim_thin_mapped_count(pmd_, id, &n); }));
    return n;
  }

  Result<std::optional<BlockNr>> alloc_data_block() override {
    std::uint64_t b = 0;
    Status s = call_.run("dm_pool_alloc_data_block", [&] { return pdsim_thin_alloc_data_block(pmd_, &b); });
    if (!s) {
      if (s.error().kind() == ErrorKind::no_space) return std::optional<BlockNr>();
      return std::move(s).error();
    }
    return std::optional<BlockNr>(b);
  }
  Status insert_mapping(std::uint64_t id, std::uint64_t vblock, BlockNr data_block) override {
    return call_.run("dm_thin_insert_block", [&] { return pdsim_thin_insert(pmd_, id, vblock, data_block); });
  }
  Result<std::optional<seam::ThinLookup>> find_block(std::uint64_t id, std::uint64_t vblock) override {
    bool found = false, shared = false;
    std::uint64_t b = 0;
    PDSIM_TRY(call_.run("dm_thin_find_block", [&] { return pdsim_thin_find(pmd_, id, vblock, &found, &b, &shared); }));
    if (!found) return std::optional<seam::ThinLookup>();
    return std::optional<seam::ThinLookup>(seam::ThinLookup{b, shared});
  }
  // dm-thin 6.1 has no single-block removal in its interface: a lookup (an unmapped block is
  // refused with nothing changed, as in our engine), then dm_btree_remove on the mapping tree as
  // the kernel's dm_thin_remove_block did before 6.1 (pdsim_thin_remove_block).
  Status remove_mapping(std::uint64_t id, std::uint64_t vblock) override {
    PDSIM_TRY_ASSIGN(auto mapped, find_block(id, vblock));
    if (!mapped) return Error::no_data(fmt::format("thin device {}: block {} is not mapped", id, vblock));
    return call_.run("dm_btree_remove of one mapping", [&] { return pdsim_thin_remove_block(pmd_, id, vblock); });
  }
  Result<std::uint64_t> remove_range(std::uint64_t id, std::uint64_t begin, std::uint64_t end) override {
    std::uint64_t removed = 0;
    PDSIM_TRY(call_.run("dm_thin_remove_range", [&] { return pdsim_thin_remove_range(pmd_, id, begin, end, &removed); }));
    return removed;
  }
  Result<std::optional<std::pair<std::uint64_t, BlockNr>>> next_mapping(std::uint64_t id, std::uint64_t vblock) override {
    using Found = std::optional<std::pair<std::uint64_t, BlockNr>>;
    bool found = false;
    std::uint64_t key = 0, b = 0;
    PDSIM_TRY(call_.run("lookup of the next mapping",
                        [&] { return pdsim_thin_next_mapping(pmd_, id, vblock, &found, &key, &b); }));
    if (!found) return Found();
    return Found(std::pair<std::uint64_t, BlockNr>(key, b));
  }
  Result<std::optional<std::uint64_t>> lowest_mapped_block(std::uint64_t id) override {
    PDSIM_TRY_ASSIGN(auto m, next_mapping(id, 0));
    if (!m) return std::optional<std::uint64_t>();
    return std::optional<std::uint64_t>(m->first);
  }
  Result<std::optional<std::uint64_t>> highest_mapped_block(std::uint64_t id) override {
    bool found = false;
    std::uint64_t b = 0;
    PDSIM_TRY(call_.run("dm_thin_get_highest_mapped_block", [&] { return pdsim_thin_highest(pmd_, id, &found, &b); }));
    if (!found) return std::optional<std::uint64_t>();
    return std::optional<std::uint64_t>(b);
  }
  Status walk_mappings(std::uint64_t id,
                       const std::function<Result<bool>(std::uint64_t, std::uint64_t)>& fn) override {
    struct Ctx {
      const std::function<Result<bool>(std::uint64_t, std::uint64_t)>* fn;
      LoopBridge bridge;
    } ctx{&fn, {}};
    Status s = call_.run("walk of a device's mapping tree", [&] {
      return pdsim_thin_walk_mappings(
          pmd_, id,
          [](void* c, std::uint64_t key, std::uint64_t value) {
            auto* x = static_cast<Ctx*>(c);
            return x->bridge.step((*x->fn)(key, value));
          },
          &ctx);
    });
    return ctx.bridge.finish(std::move(s));
  }

  Status commit() override {
    PDSIM_TRY(call_.run("dm_pool_commit_metadata", [&] { return pdsim_thin_commit(pmd_); }));
    ++commits_;
    return {};
  }
  Status abort() override {
    return call_.run("dm_pool_abort_metadata", [&] { return pdsim_thin_abort(pmd_); });
  }
  Status set_transaction_id(std::uint64_t current, std::uint64_t next) override {
    return call_.run("dm_pool_set_metadata_transaction_id",
                     [&] { return pdsim_thin_set_transaction_id(pmd_, current, next); });
  }
  // The seam's transaction_id() cannot fail; a failed instance (fail_io) reports 0.
  std::uint64_t transaction_id() const override {
    std::uint64_t id = 0;
    if (call_.poisoned() || pdsim_thin_transaction_id(pmd_, &id) != 0) return 0;
    return id;
  }
  std::uint64_t commits() const override { return commits_; }

  Status resize_data(BlockNr n) override {
    return call_.run("dm_pool_resize_data_dev", [&] { return pdsim_thin_resize_data(pmd_, n); });
  }
  Status resize_metadata(BlockNr n) override {
    return call_.run("dm_pool_resize_metadata_dev", [&] { return pdsim_thin_resize_metadata(pmd_, n); });
  }
  Result<BlockNr> data_nr_blocks() override { return get("dm_pool_get_data_dev_size", &pdsim_thin_data_size); }
  Result<BlockNr> data_nr_free() override { return get("dm_pool_get_free_block_count", &pdsim_thin_data_free); }
  Result<BlockNr> metadata_nr_blocks() override {
    return get("dm_pool_get_metadata_dev_size", &pdsim_thin_metadata_size);
  }
  Result<BlockNr> metadata_nr_free() override {
    return get("dm_pool_get_free_metadata_block_count", &pdsim_thin_metadata_free);
  }
  Result<BlockNr> metadata_sm_nr_free() override {
    return get("dm_sm_get_nr_free of the metadata space map", &pdsim_thin_metadata_sm_free);
  }
  void set_metadata_threshold(BlockNr threshold, std::function<void()> callback) override {
    threshold_fn_ = std::move(callback);
    Status s = call_.run("dm_pool_register_metadata_threshold", [&] {
      return pdsim_thin_register_threshold(
          pmd_, threshold, [](void* ctx) { (*static_cast<std::function<void()>*>(ctx))(); }, &threshold_fn_);
    });
    // The kernel's registration only stores the callback; it cannot fail on a working instance.
    PDSIM_ASSERT(s.ok() || call_.poisoned(), "dm_pool_register_metadata_threshold failed");
  }

  Status reserve_metadata_snap() override {
    return call_.run("dm_pool_reserve_metadata_snap", [&] { return pdsim_thin_reserve_snap(pmd_); });
  }
  Status release_metadata_snap() override {
    return call_.run("dm_pool_release_metadata_snap", [&] { return pdsim_thin_release_snap(pmd_); });
  }
  BlockNr held_root() const override { return call_.poisoned() ? 0 : pdsim_thin_held_root(pmd_); }

  Status set_needs_check() override {
    return call_.run("dm_pool_metadata_set_needs_check", [&] { return pdsim_thin_set_needs_check(pmd_); });
  }
  Status clear_needs_check() override {
    return call_.run("clearing NEEDS_CHECK", [&] { return pdsim_thin_clear_needs_check(pmd_); });
  }
  bool needs_check() const override { return !call_.poisoned() && pdsim_thin_needs_check(pmd_); }
  void set_read_only(bool ro) override {
    Status s = call_.run(ro ? "dm_pool_metadata_read_only" : "dm_pool_metadata_read_write", [&] {
      pdsim_thin_set_read_only(pmd_, ro);
      return 0;
    });
    PDSIM_ASSERT(s.ok() || call_.poisoned(), "switching the metadata's mode failed");
  }
  bool read_only() const override { return call_.poisoned() || pdsim_thin_is_read_only(pmd_); }
  Status flush_cache() override {
    return call_.run("dm_bm_flush", [&] { return pdsim_thin_flush(pmd_); });
  }

 private:
  Result<BlockNr> get(std::string_view what, int (*fn)(dm_pool_metadata*, std::uint64_t*)) {
    std::uint64_t v = 0;
    PDSIM_TRY(call_.run(what, [&] { return fn(pmd_, &v); }));
    return v;
  }

  mutable KernelCall call_;
  dm_pool_metadata* pmd_ = nullptr;
  std::uint64_t commits_ = 0;
  std::function<void()> threshold_fn_;
};

class KernelThinEngine final : public seam::ThinEngine {
 public:
  std::string_view name() const override { return "kernel"; }
  // The kernel formats only a device whose first block is all zeroes, so the superblock's block
  // is zeroed first (a format destroys the device's metadata either way).
  Result<std::unique_ptr<seam::ThinMetadata>> format(BlockDevice& dev, std::uint32_t data_block_size,
                                                     std::size_t cache_blocks) override {
    Block zero{};
    PDSIM_TRY(dev.write(0, zero));
    auto md = std::make_unique<KernelThinMetadata>(dev, cache_blocks);
    PDSIM_TRY(md->open(data_block_size, true));
    return std::unique_ptr<seam::ThinMetadata>(std::move(md));
  }
  // dm_pool_metadata_open needs the data block size; when the caller does not know it, the
  // superblock's is used (as thin_check and thin_dump do).
  Result<std::unique_ptr<seam::ThinMetadata>> open(BlockDevice& dev, std::optional<std::uint32_t> data_block_size,
                                                   bool read_only, std::size_t cache_blocks) override {
    std::uint32_t dbs = 0;
    if (data_block_size) {
      dbs = *data_block_size;
    } else {
      if (dev.nr_blocks() == 0) return Error::invalid("metadata device is empty");
      Block raw{};
      PDSIM_TRY(dev.read(0, raw));
      dbs = thin::Superblock::unpack(raw.data()).data_block_size;
    }
    auto md = std::make_unique<KernelThinMetadata>(dev, cache_blocks);
    PDSIM_TRY(md->open(dbs, false));
    if (read_only) md->set_read_only(true);
    return std::unique_ptr<seam::ThinMetadata>(std::move(md));
  }
};

}  // namespace

seam::ThinEngine& thin_engine() {
  static KernelThinEngine e;
  return e;
}

}  // namespace pdsim::kernel
