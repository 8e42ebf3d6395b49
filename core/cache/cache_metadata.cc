// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/cache/cache_metadata.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/common/assert.h"
#include "core/common/marks.h"
#include "core/sm/sm_format.h"
#include "core/tm/metadata_store.h"

namespace pdsim::cache {
namespace {

Status check_version(std::uint32_t version) {
  if (version < kMinVersion || version > kMaxVersion)
    return Error::invalid(fmt::format("unsupported cache metadata version {} (supported: {}..{})", version, kMinVersion, kMaxVersion));
  return {};
}

}  // namespace

CacheMetadata::CacheMetadata(BlockDevice& dev, std::uint32_t version)
    : dev_(dev), bm_(dev, kDefaultCacheBlocks), tm_(bm_), version_(version) {
  reset_bitsets();
}

void CacheMetadata::reset_bitsets() {
  discard_bits_ = std::make_unique<array::Bitset>(tm_);
  dirty_bitset_ = std::make_unique<array::Bitset>(tm_);
}

// ---- format / open ----

Result<std::unique_ptr<CacheMetadata>> CacheMetadata::format(BlockDevice& dev, std::uint32_t data_block_size,
                                                             std::uint32_t version) {
  PDSIM_TRY(check_version(version));
  if (!valid_data_block_size(data_block_size))
    return Error::invalid(fmt::format("cache block size {} sectors is not a multiple of 64 in [64, 2097152]", data_block_size));
  auto p = std::make_unique<CacheMetadata>(dev, version);
  const BlockNr meta_blocks = std::min<BlockNr>(dev.nr_blocks(), sm::kMetadataMaxBlocks);
  PDSIM_TRY_ASSIGN(p->meta_sm_, sm::MetadataSpaceMap::create(p->tm_, meta_blocks));
  auto mi = p->mapping_info();
  PDSIM_TRY_ASSIGN(p->mapping_root_, array::create_empty(mi));
  if (version >= 2) {
    PDSIM_TRY_ASSIGN(p->dirty_root_, p->dirty_bitset_->create_empty());
  }
  PDSIM_TRY_ASSIGN(p->discard_root_, p->discard_bits_->create_empty());
  PDSIM_TRY(commit_transaction(p->tm_, superblock_validator(), {p->meta_sm_.get()}, SuperblockLock::zero,
                               [&](std::uint8_t* d, std::span<const SpaceMapRoot> roots) {
                                 Superblock sb;
                                 sb.version = version;
                                 sb.metadata_sm_root = roots[0];
                                 sb.mapping_root = p->mapping_root_;
                                 sb.discard_root = p->discard_root_;
                                 sb.data_block_size = data_block_size;
                                 sb.dirty_root = p->dirty_root_;
                                 sb.pack(d);
                               }));
  p->data_block_size_ = data_block_size;
  p->clean_when_opened_ = true;
  PDSIM_TRY(p->clear_clean_shutdown());
  return p;
}

Result<std::unique_ptr<CacheMetadata>> CacheMetadata::open(BlockDevice& dev, std::optional<std::uint32_t> data_block_size) {
  return open_formatted(dev, data_block_size);
}

Result<std::unique_ptr<CacheMetadata>> CacheMetadata::open_or_format(BlockDevice& dev, std::uint32_t data_block_size,
                                                                     std::uint32_t version) {
  Block raw{};
  PDSIM_TRY(dev.read(kSuperblockLocation, raw));
  if (block_is_all_zero(raw)) return format(dev, data_block_size, version);
  return open_formatted(dev, data_block_size);
}

Result<std::unique_ptr<CacheMetadata>> CacheMetadata::open_formatted(BlockDevice& dev,
                                                                     std::optional<std::uint32_t> data_block_size) {
  auto p = std::make_unique<CacheMetadata>(dev, 0);
  PDSIM_TRY(p->read_superblock_and_space_map());
  if (data_block_size && *data_block_size != p->data_block_size_)
    return Error::invalid(fmt::format("data block size {} does not match the superblock's {}", *data_block_size, p->data_block_size_));
  PDSIM_TRY(p->clear_clean_shutdown());
  return p;
}

Status CacheMetadata::read_superblock_and_space_map() {
  PDSIM_TRY_ASSIGN(Block raw, read_formatted_superblock(bm_, superblock_validator(), "cache metadata device"));
  const Superblock sb = Superblock::unpack(raw.data());
  PDSIM_TRY(check_version(sb.version));
  if (sb.incompat_flags != 0)
    return Error::invalid(fmt::format("cache superblock has unsupported incompatible features {:#x}", sb.incompat_flags));
  if (sb.compat_ro_flags != 0)
    return Error::invalid(fmt::format("cache superblock has unsupported read-only-compatible features {:#x}", sb.compat_ro_flags));
  if (sb.metadata_block_size != kMetadataBlockSizeSectors)
    return Error::corruption(fmt::format("cache superblock: metadata block size {} sectors, not {}", sb.metadata_block_size,
                                         kMetadataBlockSizeSectors));
  version_ = sb.version;
  PDSIM_TRY_ASSIGN(meta_sm_, sm::MetadataSpaceMap::open(tm_, sb.metadata_sm_root));
  clean_when_opened_ = (sb.flags & kCleanShutdownFlag) != 0;
  flags_ = sb.flags & ~kCleanShutdownFlag;
  mapping_root_ = sb.mapping_root;
  hint_root_ = sb.hint_root;
  discard_root_ = sb.discard_root;
  dirty_root_ = sb.dirty_root;
  discard_block_size_ = sb.discard_block_size;
  discard_nr_blocks_ = sb.discard_nr_blocks;
  data_block_size_ = sb.data_block_size;
  cache_blocks_ = sb.cache_blocks;
  policy_ = Policy{sb.policy_name, sb.policy_version, sb.policy_hint_size};
  stats_ = sb.stats;
  reset_bitsets();
  dirty_changed_ = false;
  dirty_.clear();
  {
    auto mi = mapping_info();
    PDSIM_TRY(check_cache_blocks_fit(mi, mapping_root_, cache_blocks_));
  }
  if (version_ >= 2) {
    if (dirty_root_ == 0) return Error::corruption("version 2 cache superblock has no dirty bitset root");
    PDSIM_TRY(load_dirty_bits());
  }
  return {};
}

Status check_cache_blocks_fit(array::Info& mapping, BlockNr root, std::uint32_t cache_blocks) {
  PDSIM_TRY_ASSIGN(auto highest, btree::find_highest(mapping.btree, root));
  const std::uint64_t capacity = highest.empty() ? 0 : (highest.front() + 1) * array::entries_per_block(8);
  if (cache_blocks > capacity)
    return Error::corruption(
        fmt::format("the cache superblock says {} cache blocks, but its mapping array holds at most {}", cache_blocks, capacity));
  return {};
}

Status CacheMetadata::clear_clean_shutdown() {
  PDSIM_TRY_ASSIGN(WriteRef w, bm_.write_lock(kSuperblockLocation, &superblock_validator()));
  const std::uint32_t on_disk = load_le<std::uint32_t>(w.data().data() + sb::flags);
  store_le<std::uint32_t>(w.data().data() + sb::flags, on_disk & ~kCleanShutdownFlag);
  w.release();
  return bm_.flush();
}

Status CacheMetadata::load_dirty_bits() {
  dirty_.assign(cache_blocks_, false);
  auto info = array::make_info(tm_, btree::plain_value_type(8));
  return array::walk(info, dirty_root_, [&](std::uint32_t word_index, array::ValueSpan v) -> Result<bool> {
    const std::uint64_t word = load_le<std::uint64_t>(v.data());
    for (std::uint32_t i = 0; i < 64; ++i) {
      const std::uint64_t bit = static_cast<std::uint64_t>(word_index) * 64 + i;
      if (bit >= cache_blocks_) return true;
      dirty_[static_cast<std::size_t>(bit)] = ((word >> i) & 1u) != 0;
    }
    return true;
  });
}

Status CacheMetadata::write_pending_dirty_bits() {
  if (version_ >= 2 && dirty_changed_) return write_dirty_bitset();
  return {};
}

Status CacheMetadata::write_dirty_bitset() {
  PDSIM_MARK("cache.dirty_bitset_rewrite");
  PDSIM_TRY(dirty_bitset_->del(dirty_root_));
  PDSIM_TRY_ASSIGN(dirty_root_, dirty_bitset_->create_from(cache_blocks_, [&](std::uint32_t bit) -> Result<bool> {
                     return bit < dirty_.size() && dirty_[bit];
                   }));
  dirty_changed_ = false;
  return {};
}

// ---- mappings ----

Status CacheMetadata::check_cblock(std::uint32_t cblock) const {
  if (cblock >= cache_blocks_)
    return Error::no_data(fmt::format("cache block {} is beyond the cache ({} blocks)", cblock, cache_blocks_));
  return {};
}

Result<std::uint64_t> CacheMetadata::get_value(std::uint32_t cblock) {
  PDSIM_TRY(check_cblock(cblock));
  auto info = mapping_info();
  PDSIM_TRY_ASSIGN(auto v, array::get(info, mapping_root_, cblock));
  if (!v) return Error::corruption(fmt::format("mapping array has no entry for cache block {}", cblock));
  return load_le<std::uint64_t>(v->data());
}

Status CacheMetadata::set_value(std::uint32_t cblock, std::uint64_t value) {
  PDSIM_TRY(check_cblock(cblock));
  auto info = mapping_info();
  return array::set(info, mapping_root_, cblock, btree::u64_value(value));
}

Result<bool> CacheMetadata::stored_dirty(std::uint32_t cblock, std::uint64_t value) {
  if (version_ == 1) return (value & kMappingDirty) != 0;
  return cblock < dirty_.size() && dirty_[cblock];
}

Status CacheMetadata::resize(std::uint32_t new_cache_blocks) {
  // As dm-cache does: the dirty bits in core are written out before anything is resized (a bit
  // past a shrunk length is always clear: removing a mapping clears its bit and a dirty block
  // refuses the shrink).
  PDSIM_TRY(write_pending_dirty_bits());
  const std::uint32_t old = cache_blocks_;
  if (new_cache_blocks == old) return {};
  if (new_cache_blocks < old) {
    PDSIM_MARK("cache.resize_shrink");
    auto info = mapping_info();
    std::optional<Error> refused;
    PDSIM_TRY(array::walk(info, mapping_root_, [&](std::uint32_t cblock, array::ValueSpan v) -> Result<bool> {
      if (cblock < new_cache_blocks) return true;
      const std::uint64_t value = load_le<std::uint64_t>(v.data());
      // v1 looks at mapped blocks only; v2, like the kernel, at every dirty bit (an unmapped block
      // is expected to have its bit clear).
      if ((value & kMappingValid) == 0 && version_ == 1) return true;
      PDSIM_TRY_ASSIGN(bool dirty, stored_dirty(cblock, value));
      if (!dirty) return true;
      PDSIM_MARK("cache.shrink_refused");
      refused = Error::invalid(fmt::format("unable to shrink the cache to {} blocks: cache block {} is dirty", new_cache_blocks, cblock));
      return false;
    }));
    if (refused) return std::move(*refused);
  }
  if (new_cache_blocks > old) PDSIM_MARK("cache.resize_grow");
  auto mi = mapping_info();
  PDSIM_TRY(array::resize(mi, mapping_root_, old, new_cache_blocks, btree::u64_value(0)));
  if (version_ >= 2) {
    PDSIM_TRY(dirty_bitset_->resize(dirty_root_, old, new_cache_blocks, false));
    dirty_.resize(new_cache_blocks, false);
  }
  if (hint_root_ != 0) {
    // The kernel leaves the hint array at its old length until the next hint save; keeping it
    // at cache_blocks makes every commit a complete, checkable image.
    auto hi = hint_info();
    btree::Value zero(kHintSize, 0);
    PDSIM_TRY(array::resize(hi, hint_root_, old, new_cache_blocks, zero));
  }
  cache_blocks_ = new_cache_blocks;
  return {};
}

Status CacheMetadata::insert_mapping(std::uint32_t cblock, std::uint64_t oblock) {
  if (oblock > kMaxOriginBlock) return Error::invalid(fmt::format("origin block {} does not fit in 48 bits", oblock));
  PDSIM_TRY(set_value(cblock, pack_mapping(oblock, kMappingValid)));
  return set_dirty(cblock, false);
}

Status CacheMetadata::remove_mapping(std::uint32_t cblock) {
  PDSIM_TRY(set_value(cblock, 0));
  return set_dirty(cblock, false);
}

Result<std::optional<Mapping>> CacheMetadata::lookup(std::uint32_t cblock) {
  PDSIM_TRY_ASSIGN(std::uint64_t value, get_value(cblock));
  if ((value & kMappingValid) == 0) return std::optional<Mapping>();
  PDSIM_TRY_ASSIGN(bool dirty, stored_dirty(cblock, value));
  return std::optional<Mapping>(Mapping{mapping_oblock(value), dirty});
}

Status CacheMetadata::set_dirty(std::uint32_t cblock, bool dirty) {
  PDSIM_TRY(check_cblock(cblock));
  if (version_ >= 2) {
    if (dirty_[cblock] != dirty) {
      dirty_[cblock] = dirty;
      dirty_changed_ = true;
    }
    return {};
  }
  PDSIM_TRY_ASSIGN(std::uint64_t value, get_value(cblock));
  if ((value & kMappingValid) == 0) {
    if (!dirty) return {};
    return Error::invalid(fmt::format("cache block {} is not mapped: it cannot be dirty", cblock));
  }
  if (((value & kMappingDirty) != 0) == dirty) return {};
  return set_value(cblock, dirty ? (value | kMappingDirty) : (value & ~kMappingDirty));
}

Status CacheMetadata::set_dirty_bits(const std::vector<bool>& bits) {
  if (bits.size() != cache_blocks_)
    return Error::invalid(fmt::format("{} dirty bits for a cache of {} blocks", bits.size(), cache_blocks_));
  if (version_ >= 2) {
    dirty_ = bits;
    return write_dirty_bitset();
  }
  for (std::uint32_t cblock = 0; cblock < cache_blocks_; ++cblock) {
    PDSIM_TRY_ASSIGN(std::uint64_t value, get_value(cblock));
    if ((value & kMappingValid) == 0) continue;
    PDSIM_TRY(set_dirty(cblock, bits[cblock]));
  }
  return {};
}

Status CacheMetadata::replace_mappings(std::uint32_t nr_cache_blocks,
                                       const std::function<Result<std::optional<Mapping>>(std::uint32_t)>& fn) {
  auto mi = mapping_info();
  PDSIM_TRY(array::del(mi, mapping_root_));
  if (version_ >= 2) dirty_.assign(nr_cache_blocks, false);
  PDSIM_TRY_ASSIGN(mapping_root_, array::create_from(mi, nr_cache_blocks, [&](std::uint32_t cblock) -> Result<btree::Value> {
                     PDSIM_TRY_ASSIGN(std::optional<Mapping> m, fn(cblock));
                     if (!m) return btree::u64_value(0);
                     if (m->oblock > kMaxOriginBlock)
                       return Error::invalid(fmt::format("origin block {} does not fit in 48 bits", m->oblock));
                     std::uint64_t flags = kMappingValid;
                     if (m->dirty && version_ == 1) flags |= kMappingDirty;
                     if (m->dirty && version_ >= 2) dirty_[cblock] = true;
                     return btree::u64_value(pack_mapping(m->oblock, flags));
                   }));
  if (hint_root_ != 0) {
    auto hi = hint_info();
    PDSIM_TRY(array::resize(hi, hint_root_, cache_blocks_, nr_cache_blocks, btree::Value(kHintSize, 0)));
  }
  cache_blocks_ = nr_cache_blocks;
  if (version_ >= 2) PDSIM_TRY(write_dirty_bitset());
  return {};
}

Status CacheMetadata::load_mappings(const Policy& policy, const std::function<Result<bool>(const LoadedMapping&)>& fn) {
  // Pending v2 dirty bits are written out first, as the kernel engine hands them to the kernel
  // before a load (so the two engines' transactions allocate alike).
  PDSIM_TRY(write_pending_dirty_bits());
  const bool hints_valid = clean_when_opened_ && hint_root_ != 0 && policy.hint_size != 0 && policy_.name == policy.name &&
                           policy_.version[0] == policy.version[0] && policy_.hint_size == policy.hint_size;
  std::vector<std::uint32_t> hints;
  if (hints_valid) {
    hints.reserve(cache_blocks_);
    auto hi = hint_info();
    PDSIM_TRY(array::walk(hi, hint_root_, [&](std::uint32_t, array::ValueSpan v) -> Result<bool> {
      hints.push_back(load_le<std::uint32_t>(v.data()));
      return true;
    }));
  }
  auto mi = mapping_info();
  return array::walk(mi, mapping_root_, [&](std::uint32_t cblock, array::ValueSpan v) -> Result<bool> {
    if (cblock >= cache_blocks_) return false;
    const std::uint64_t value = load_le<std::uint64_t>(v.data());
    if ((value & kMappingValid) == 0) return true;
    LoadedMapping m{cblock, mapping_oblock(value), true, std::nullopt};
    if (clean_when_opened_) {
      PDSIM_TRY_ASSIGN(m.dirty, stored_dirty(cblock, value));
    }
    if (hints_valid && cblock < hints.size()) m.hint = hints[cblock];
    return fn(m);
  });
}

// ---- discards ----

Status CacheMetadata::resize_discard(std::uint64_t discard_block_size, std::uint64_t nr_discard_blocks) {
  if (nr_discard_blocks > UINT32_MAX)
    return Error::invalid(fmt::format("{} discard blocks: at most {} are supported", nr_discard_blocks, UINT32_MAX));
  const auto old_bits = static_cast<std::uint32_t>(discard_nr_blocks_);
  const auto new_bits = static_cast<std::uint32_t>(nr_discard_blocks);
  // The kernel resizes without flushing the cached word (a dirty word past the new end then
  // fails the next flush) and leaves the bits past the length in the last word as they were (a
  // shrink followed by a grow brings stale bits back). We flush first and, after a grow, clear
  // the grown bits of the old last word, as dm-cache's rewrite of every discard bit does.
  PDSIM_TRY(discard_bits_->flush(discard_root_));
  PDSIM_TRY(discard_bits_->resize(discard_root_, old_bits, new_bits, false));
  const std::uint32_t keep = std::min(old_bits, new_bits);
  const std::uint32_t tail_end = std::min(std::max(old_bits, new_bits), (keep + 63) / 64 * 64);
  for (std::uint32_t bit = keep; bit < tail_end && bit < new_bits; ++bit) PDSIM_TRY(discard_bits_->clear(discard_root_, bit));
  discard_block_size_ = discard_block_size;
  discard_nr_blocks_ = nr_discard_blocks;
  return {};
}

Status CacheMetadata::set_discard(std::uint64_t dblock, bool discarded) {
  if (dblock >= discard_nr_blocks_)
    return Error::no_data(fmt::format("discard block {} is beyond the discard bitset ({} blocks)", dblock, discard_nr_blocks_));
  const auto bit = static_cast<std::uint32_t>(dblock);
  return discarded ? discard_bits_->set(discard_root_, bit) : discard_bits_->clear(discard_root_, bit);
}

Status CacheMetadata::load_discards(const std::function<Result<bool>(std::uint64_t, bool)>& fn) {
  if (!clean_when_opened_) {
    for (std::uint64_t d = 0; d < discard_nr_blocks_; ++d) {
      PDSIM_TRY_ASSIGN(bool more, fn(d, false));
      if (!more) return {};
    }
    return {};
  }
  PDSIM_TRY(discard_bits_->flush(discard_root_));
  auto info = array::make_info(tm_, btree::plain_value_type(8));
  return array::walk(info, discard_root_, [&](std::uint32_t word_index, array::ValueSpan v) -> Result<bool> {
    const std::uint64_t word = load_le<std::uint64_t>(v.data());
    for (std::uint32_t i = 0; i < 64; ++i) {
      const std::uint64_t d = static_cast<std::uint64_t>(word_index) * 64 + i;
      if (d >= discard_nr_blocks_) return false;
      PDSIM_TRY_ASSIGN(bool more, fn(d, ((word >> i) & 1u) != 0));
      if (!more) return false;
    }
    return true;
  });
}

// ---- hints ----

Status CacheMetadata::write_hints(const Policy& policy, const std::function<Result<std::uint32_t>(std::uint32_t)>& hint) {
  if (policy.name.empty() || policy.name.size() >= kPolicyNameSize)
    return Error::invalid(fmt::format("policy name '{}' must have 1 to {} characters", policy.name, kPolicyNameSize - 1));
  if (policy.hint_size != 0 && policy.hint_size != kHintSize)
    return Error::invalid(fmt::format("hint size {} is not supported (only {})", policy.hint_size, kHintSize));
  policy_.name = policy.name;
  policy_.version = policy.version;
  if (policy.hint_size == 0) return {};
  policy_.hint_size = policy.hint_size;
  auto hi = hint_info();
  if (hint_root_ != 0) PDSIM_TRY(array::del(hi, hint_root_));
  hint_root_ = 0;
  PDSIM_TRY_ASSIGN(hint_root_, array::create_from(hi, cache_blocks_, [&](std::uint32_t cblock) -> Result<btree::Value> {
                     PDSIM_TRY_ASSIGN(std::uint32_t h, hint(cblock));
                     btree::Value v(kHintSize);
                     store_le<std::uint32_t>(v.data(), h);
                     return v;
                   }));
  return {};
}

// ---- transactions ----

Status CacheMetadata::commit(bool clean_shutdown) {
  PDSIM_ASSERT(bm_.locked_blocks() == 0, "cache metadata committed with blocks still locked");
  // dm-cache's order: the dirty bits are written (before the commit is called), then the
  // discard bitset's cached word is flushed.
  PDSIM_TRY(write_pending_dirty_bits());
  PDSIM_TRY(discard_bits_->flush(discard_root_));
  return commit_transaction(tm_, superblock_validator(), {meta_sm_.get()}, SuperblockLock::keep_contents,
                            [&](std::uint8_t* d, std::span<const SpaceMapRoot> roots) {
  Superblock sb = Superblock::unpack(d);
  sb.flags = clean_shutdown ? (flags_ | kCleanShutdownFlag) : (flags_ & ~kCleanShutdownFlag);
  sb.version = version_;
  sb.policy_name = policy_.name;
  sb.policy_version = policy_.version;
  sb.policy_hint_size = policy_.hint_size;
  sb.metadata_sm_root = roots[0];
  sb.mapping_root = mapping_root_;
  sb.hint_root = hint_root_;
  sb.discard_root = discard_root_;
  sb.discard_block_size = discard_block_size_;
  sb.discard_nr_blocks = discard_nr_blocks_;
  sb.data_block_size = data_block_size_;
  sb.cache_blocks = cache_blocks_;
  sb.stats = stats_;
  sb.dirty_root = dirty_root_;
  sb.pack(d);
                            });
}

Status CacheMetadata::abort() {
  PDSIM_MARK("cache.abort");
  PDSIM_TRY(abort_transaction(tm_, dev_, AbortFlush::flush_device));
  return read_superblock_and_space_map();
}

Status CacheMetadata::set_needs_check() {
  flags_ |= kNeedsCheckFlag;
  PDSIM_TRY_ASSIGN(WriteRef w, bm_.write_lock(kSuperblockLocation, &superblock_validator()));
  store_le<std::uint32_t>(w.data().data() + sb::flags, flags_);
  return {};
}

namespace {

class PdsimCacheEngine final : public seam::CacheEngine {
 public:
  [[nodiscard]] std::string_view name() const override { return "pdsim"; }
  [[nodiscard]] bool resize_resizes_hints() const override { return true; }
  [[nodiscard]] bool abort_retry_reopens() const override { return false; }
  [[nodiscard]] Result<std::unique_ptr<seam::CacheMetadata>> format(BlockDevice& dev, std::uint32_t data_block_size,
                                                                    std::uint32_t version) override {
    PDSIM_TRY_ASSIGN(auto md, CacheMetadata::format(dev, data_block_size, version));
    return std::unique_ptr<seam::CacheMetadata>(std::move(md));
  }
  [[nodiscard]] Result<std::unique_ptr<seam::CacheMetadata>> open(BlockDevice& dev,
                                                                  std::optional<std::uint32_t> data_block_size) override {
    PDSIM_TRY_ASSIGN(auto md, CacheMetadata::open(dev, data_block_size));
    return std::unique_ptr<seam::CacheMetadata>(std::move(md));
  }
};

}  // namespace

seam::CacheEngine& pdsim_cache_engine() {
  static PdsimCacheEngine engine;
  return engine;
}

}  // namespace pdsim::cache
