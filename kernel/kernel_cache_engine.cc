// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — the kernel's dm-cache-metadata.c behind seam::CacheMetadata. Calls go through
// cache_glue.c to the kernel's public functions. Version 2 keeps dirty bits in a bitset the
// kernel only writes whole (dm_cache_set_dirty_bits, called by the dm-cache target at shutdown);
// like that target, this engine keeps the bits in core, and hands them to the kernel before
// anything that reads them (a commit, a resize, a load).
#include <cerrno>
#include <optional>

#include "core/cache/cache_format.h"
#include "core/common/assert.h"
#include "kernel/kernel_call.h"
#include "kernel/kernel_engine.h"

extern "C" {
#include "kernel/kernel_glue.h"
}

namespace pdsim::kernel {
namespace {

class KernelCacheMetadata final : public seam::CacheMetadata {
 public:
  // `completed`: the seam's abort and discard resize (see abort() and resize_discard()); false
  // runs the kernel's calls alone (kernel::cache_engine_as_called()).
  KernelCacheMetadata(BlockDevice& dev, std::size_t cache_blocks, bool completed)
      : call_(dev, cache_blocks), completed_(completed) {}
  ~KernelCacheMetadata() override { call_.end(cmd_, &pdsim_cache_drop); }

  Status open(std::uint32_t data_block_size, bool format, std::uint32_t version) {
    data_block_size_ = data_block_size;
    PDSIM_TRY(call_.run(format ? "dm_cache_metadata_open (format)" : "dm_cache_metadata_open", [&] {
      int err = 0;
      cmd_ = pdsim_cache_open(call_.bdev(), data_block_size, format, version, &err);
      return err;
    }));
    return load_dirty_bits();
  }

  Status resize(std::uint32_t n) override {
    PDSIM_TRY(sync_dirty_bits());
    PDSIM_TRY(call_.run("dm_cache_resize", [&] { return pdsim_cache_resize(cmd_, n); }));
    if (version() >= 2) dirty_.resize(n, false);
    return {};
  }
  Status insert_mapping(std::uint32_t cblock, std::uint64_t oblock) override {
    PDSIM_TRY(call_.run("dm_cache_insert_mapping", [&] { return pdsim_cache_insert(cmd_, cblock, oblock); }));
    clear_dirty_in_core(cblock);
    return {};
  }
  Status remove_mapping(std::uint32_t cblock) override {
    PDSIM_TRY(call_.run("dm_cache_remove_mapping", [&] { return pdsim_cache_remove(cmd_, cblock); }));
    clear_dirty_in_core(cblock);
    return {};
  }
  Result<std::optional<seam::CacheMapping>> lookup(std::uint32_t cblock) override {
    bool mapped = false, dirty = false;
    std::uint64_t oblock = 0;
    PDSIM_TRY(call_.run("lookup in the mapping array",
                        [&] { return pdsim_cache_lookup(cmd_, cblock, &mapped, &oblock, &dirty); }));
    if (!mapped) return std::optional<seam::CacheMapping>();
    if (version() >= 2) dirty = cblock < dirty_.size() && dirty_[cblock];
    return std::optional<seam::CacheMapping>(seam::CacheMapping{oblock, dirty});
  }
  Status set_dirty(std::uint32_t cblock, bool dirty) override {
    if (cblock >= cache_blocks()) return Error::no_data(fmt::format("cache block {} is past the cache's {}", cblock, cache_blocks()));
    if (version() >= 2) {
      if (dirty_[cblock] != dirty) {
        dirty_[cblock] = dirty;
        dirty_changed_ = true;
      }
      return {};
    }
    PDSIM_TRY_ASSIGN(auto m, lookup(cblock));
    if (!m) {
      if (!dirty) return {};
      return Error::invalid(fmt::format("cache block {} is not mapped: it cannot be dirty", cblock));
    }
    return call_.run("the dirty flag of a mapping (v1)", [&] { return pdsim_cache_set_dirty_v1(cmd_, cblock, dirty); });
  }
  Status set_dirty_bits(const std::vector<bool>& bits) override {
    if (bits.size() != cache_blocks())
      return Error::invalid(fmt::format("{} dirty bits for a cache of {} blocks", bits.size(), cache_blocks()));
    if (version() >= 2) {
      dirty_ = bits;
      dirty_changed_ = true;
      return {};
    }
    return write_dirty_bits(bits);
  }
  Status load_mappings(const seam::CachePolicy& policy,
                       const std::function<Result<bool>(const seam::LoadedMapping&)>& fn) override {
    PDSIM_TRY(sync_dirty_bits());
    Desc d(policy, {});
    struct Ctx {
      const std::function<Result<bool>(const seam::LoadedMapping&)>* fn;
      LoopBridge bridge;
    } ctx{&fn, {}};
    Status s = call_.run("dm_cache_load_mappings", [&] {
      return pdsim_cache_load_mappings(
          cmd_, &d.desc,
          [](void* c, std::uint64_t oblock, std::uint32_t cblock, bool dirty, std::uint32_t hint, bool hint_valid) {
            auto* x = static_cast<Ctx*>(c);
            seam::LoadedMapping m{cblock, oblock, dirty, hint_valid ? std::optional<std::uint32_t>(hint) : std::nullopt};
            return x->bridge.step((*x->fn)(m));
          },
          &ctx);
    });
    return ctx.bridge.finish(std::move(s));
  }

  Status resize_discard(std::uint64_t size, std::uint64_t n) override {
    return call_.run("dm_cache_discard_bitset_resize",
                     [&] { return pdsim_cache_discard_resize(cmd_, size, n, completed_); });
  }
  Status set_discard(std::uint64_t dblock, bool discarded) override {
    return call_.run("dm_cache_set_discard", [&] { return pdsim_cache_set_discard(cmd_, dblock, discarded); });
  }
  Status load_discards(const std::function<Result<bool>(std::uint64_t, bool)>& fn) override {
    struct Ctx {
      const std::function<Result<bool>(std::uint64_t, bool)>* fn;
      LoopBridge bridge;
    } ctx{&fn, {}};
    Status s = call_.run("dm_cache_load_discards", [&] {
      return pdsim_cache_load_discards(
          cmd_,
          [](void* c, std::uint64_t dblock, bool discarded) {
            auto* x = static_cast<Ctx*>(c);
            return x->bridge.step((*x->fn)(dblock, discarded));
          },
          &ctx);
    });
    return ctx.bridge.finish(std::move(s));
  }

  // The kernel asks the policy for every cache block's hint; they are computed first, since the
  // policy's get_hint cannot fail.
  Status write_hints(const seam::CachePolicy& policy,
                     const std::function<Result<std::uint32_t>(std::uint32_t)>& hint) override {
    std::vector<std::uint32_t> hints(cache_blocks());
    for (std::uint32_t c = 0; c < hints.size(); ++c) {
      PDSIM_TRY_ASSIGN(hints[c], hint(c));
    }
    Desc d(policy, hints);
    return call_.run("dm_cache_write_hints", [&] { return pdsim_cache_write_hints(cmd_, &d.desc); });
  }
  const seam::CacheStats& stats() const override {
    pdsim_cache_stats s{};
    if (!call_.poisoned()) pdsim_cache_get_stats(cmd_, &s);
    stats_ = seam::CacheStats{s.read_hits, s.read_misses, s.write_hits, s.write_misses};
    return stats_;
  }
  void set_stats(const seam::CacheStats& s) override {
    const pdsim_cache_stats k{s.read_hits, s.read_misses, s.write_hits, s.write_misses};
    if (!call_.poisoned()) pdsim_cache_set_stats(cmd_, &k);
  }

  Status commit(bool clean_shutdown) override {
    PDSIM_TRY(sync_dirty_bits());
    return call_.run("dm_cache_commit", [&] { return pdsim_cache_commit(cmd_, clean_shutdown); });
  }
  // dm_cache_metadata_abort reopens the space map from disk but keeps the aborted transaction's
  // in-core roots, sizes and flags (algorithms.md §9: dm-cache follows an abort with NEEDS_CHECK
  // and read-only mode, so no commit ever writes them). The seam's abort promises a rollback
  // that can go on committing, so after the kernel's abort this engine re-reads the superblock's
  // fields (the kernel's own __begin_transaction), which is what the next open would load.
  // Without that, the next commit writes the aborted transaction's roots, which reference blocks
  // that never reached the disk (tests/kernel_engine_test.cc pins it).
  //
  // A failed dm_cache_metadata_abort leaves the metadata in fail_io for good (dm-cache then goes
  // to fail mode, and only tearing the device down and activating it again reopens it); a second
  // abort() here does that close and reopen (as called: the kernel's -EINVAL again).
  Status abort() override {
    if (failed_abort_ && completed_) {
      PDSIM_TRY(call_.run("dm_cache_metadata_close after a failed abort", [&] {
        dm_cache_metadata* old = cmd_;
        cmd_ = nullptr;
        pdsim_cache_drop(old);
        return 0;
      }));
      failed_abort_ = false;
      return open(data_block_size_, false, 1);
    }
    Status s = call_.run("dm_cache_metadata_abort", [&] { return pdsim_cache_abort(cmd_, completed_); });
    if (!s) {
      failed_abort_ = true;
      return s;
    }
    return load_dirty_bits();
  }
  Status set_needs_check() override {
    return call_.run("dm_cache_metadata_set_needs_check", [&] { return pdsim_cache_set_needs_check(cmd_); });
  }
  // A failed instance (fail_io) cannot tell: it reports the flag as set, the safe answer.
  bool needs_check() const override {
    bool r = true;
    if (call_.poisoned() || pdsim_cache_needs_check(cmd_, &r) != 0) return true;
    return r;
  }
  bool clean_when_opened() const override { return !call_.poisoned() && pdsim_cache_clean_when_opened(cmd_); }
  std::uint32_t version() const override { return call_.poisoned() ? 0 : pdsim_cache_version(cmd_); }
  std::uint32_t cache_blocks() const override { return call_.poisoned() ? 0 : pdsim_cache_blocks(cmd_); }
  Result<BlockNr> metadata_nr_blocks() override {
    std::uint64_t v = 0;
    PDSIM_TRY(call_.run("dm_cache_get_metadata_dev_size", [&] { return pdsim_cache_metadata_size(cmd_, &v); }));
    return v;
  }
  Result<BlockNr> metadata_nr_free() override {
    std::uint64_t v = 0;
    PDSIM_TRY(call_.run("dm_cache_get_free_metadata_block_count", [&] { return pdsim_cache_metadata_free(cmd_, &v); }));
    return v;
  }

 private:
  struct Desc {
    Desc(const seam::CachePolicy& p, std::vector<std::uint32_t> h) : name(p.name), hints(std::move(h)) {
      desc.name = name.c_str();
      for (std::size_t i = 0; i < 3; ++i) desc.version[i] = p.version[i];
      desc.hint_size = p.hint_size;
      desc.hints = hints.data();
    }
    std::string name;
    std::vector<std::uint32_t> hints;
    pdsim_cache_policy_desc desc{};
  };

  void clear_dirty_in_core(std::uint32_t cblock) {
    if (version() < 2 || cblock >= dirty_.size() || !dirty_[cblock]) return;
    dirty_[cblock] = false;
    dirty_changed_ = true;
  }
  Status write_dirty_bits(const std::vector<bool>& bits) {
    constexpr std::size_t kBits = 8 * sizeof(unsigned long);
    std::vector<unsigned long> words((bits.size() + kBits - 1) / kBits + 1, 0);
    for (std::size_t i = 0; i < bits.size(); ++i)
      if (bits[i]) words[i / kBits] |= 1UL << (i % kBits);
    return call_.run("dm_cache_set_dirty_bits", [&] {
      return pdsim_cache_set_dirty_bits(cmd_, static_cast<std::uint32_t>(bits.size()), words.data());
    });
  }
  Status sync_dirty_bits() {
    if (version() < 2 || !dirty_changed_) return {};
    PDSIM_TRY(write_dirty_bits(dirty_));
    dirty_changed_ = false;
    return {};
  }
  Status load_dirty_bits() {
    dirty_changed_ = false;
    dirty_.clear();
    if (version() < 2) return {};
    dirty_.assign(cache_blocks(), false);
    for (std::uint32_t c = 0; c < dirty_.size(); ++c) {
      bool d = false;
      PDSIM_TRY(call_.run("reading the dirty bitset", [&] { return pdsim_cache_dirty_bit(cmd_, c, &d); }));
      dirty_[c] = d;
    }
    return {};
  }

  mutable KernelCall call_;
  dm_cache_metadata* cmd_ = nullptr;
  std::vector<bool> dirty_;
  bool dirty_changed_ = false;
  std::uint32_t data_block_size_ = 0;
  const bool completed_;
  bool failed_abort_ = false;
  mutable seam::CacheStats stats_;
};

class KernelCacheEngine final : public seam::CacheEngine {
 public:
  explicit KernelCacheEngine(bool completed) : completed_(completed) {}
  std::string_view name() const override { return "kernel"; }
  bool resize_resizes_hints() const override { return false; }
  bool abort_retry_reopens() const override { return true; }
  Result<std::unique_ptr<seam::CacheMetadata>> format(BlockDevice& dev, std::uint32_t data_block_size,
                                                      std::uint32_t version) override {
    Block zero{};
    PDSIM_TRY(dev.write(0, zero));
    auto md = std::make_unique<KernelCacheMetadata>(dev, kCacheBlocks, completed_);
    PDSIM_TRY(md->open(data_block_size, true, version));
    return std::unique_ptr<seam::CacheMetadata>(std::move(md));
  }
  Result<std::unique_ptr<seam::CacheMetadata>> open(BlockDevice& dev, std::optional<std::uint32_t> data_block_size) override {
    std::uint32_t dbs = 0;
    if (data_block_size) {
      dbs = *data_block_size;
    } else {
      if (dev.nr_blocks() == 0) return Error::invalid("cache metadata device is empty");
      Block raw{};
      PDSIM_TRY(dev.read(0, raw));
      dbs = cache::Superblock::unpack(raw.data()).data_block_size;
    }
    auto md = std::make_unique<KernelCacheMetadata>(dev, kCacheBlocks, completed_);
    PDSIM_TRY(md->open(dbs, false, 1));
    return std::unique_ptr<seam::CacheMetadata>(std::move(md));
  }

 private:
  static constexpr std::size_t kCacheBlocks = 1024;
  const bool completed_;
};

}  // namespace

seam::CacheEngine& cache_engine() {
  static KernelCacheEngine e(true);
  return e;
}

seam::CacheEngine& cache_engine_as_called() {
  static KernelCacheEngine e(false);
  return e;
}

}  // namespace pdsim::kernel
