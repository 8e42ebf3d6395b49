// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/block/block_manager.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/common/assert.h"

namespace pdsim {
namespace detail {

struct CacheEntry {
  BlockNr location = 0;
  Block data{};
  const Validator* validator = nullptr;  // remembered once a check (or write_lock_zero) accepted it
  bool dirty = false;
  bool write_locked = false;
  std::uint32_t readers = 0;
  std::list<CacheEntry*>::iterator lru_pos;

  [[nodiscard]] bool locked() const { return write_locked || readers > 0; }
};

}  // namespace detail

using detail::CacheEntry;

// ---- references ----

ReadRef& ReadRef::operator=(ReadRef&& o) noexcept {
  if (this != &o) {
    release();
    bm_ = o.bm_;
    e_ = o.e_;
    o.e_ = nullptr;
  }
  return *this;
}

BlockNr ReadRef::location() const { return e_->location; }
ConstBlockSpan ReadRef::data() const { return ConstBlockSpan(e_->data); }
void ReadRef::release() noexcept {
  if (e_ != nullptr) bm_->unlock_read(e_);
  e_ = nullptr;
}

WriteRef& WriteRef::operator=(WriteRef&& o) noexcept {
  if (this != &o) {
    release();
    bm_ = o.bm_;
    e_ = o.e_;
    o.e_ = nullptr;
  }
  return *this;
}

BlockNr WriteRef::location() const { return e_->location; }
BlockSpan WriteRef::data() const { return BlockSpan(e_->data); }
void WriteRef::release() noexcept {
  if (e_ != nullptr) bm_->unlock_write(e_);
  e_ = nullptr;
}

// ---- manager ----

BlockManager::BlockManager(BlockDevice& dev, std::size_t cache_blocks) : dev_(dev), capacity_(cache_blocks) {
  PDSIM_ASSERT(cache_blocks >= 1, "a block manager needs room for one block");
}

BlockManager::~BlockManager() {
  // Every reference must have been released before the manager goes away.
  PDSIM_ASSERT(locked_blocks() == 0, "block manager destroyed with blocks still locked");
}

std::size_t BlockManager::dirty_blocks() const {
  return static_cast<std::size_t>(
      std::count_if(index_.begin(), index_.end(), [](const auto& kv) { return kv.second->dirty; }));
}

std::size_t BlockManager::locked_blocks() const {
  return static_cast<std::size_t>(
      std::count_if(index_.begin(), index_.end(), [](const auto& kv) { return kv.second->locked(); }));
}

void BlockManager::touch(CacheEntry& e) { lru_.splice(lru_.end(), lru_, e.lru_pos); }

void BlockManager::drop(CacheEntry* e) {
  PDSIM_ASSERT(!e->locked(), "evicting a locked block");
  lru_.erase(e->lru_pos);
  index_.erase(e->location);
}

Status BlockManager::write_back(CacheEntry& e) {
  PDSIM_ASSERT(e.dirty && !e.write_locked, "writing back a clean or write-locked block");
  if (e.validator != nullptr) e.validator->prepare_for_write(BlockSpan(e.data), e.location);
  ++stats_.device_writes;
  Status s = dev_.write(e.location, ConstBlockSpan(e.data));
  if (!s) {
    ++stats_.failed_writes;
    return std::move(s).error().with_context(fmt::format("write-back of block {}", e.location));
  }
  e.dirty = false;
  return {};
}

Status BlockManager::make_room() {
  if (index_.size() < capacity_) return {};
  for (auto it = lru_.begin(); it != lru_.end(); ++it) {
    CacheEntry* victim = *it;
    if (victim->locked()) continue;
    if (victim->dirty) {
      Status s = write_back(*victim);
      // The write-back belongs to no caller: keep its error for the next flush, and drop the
      // block either way (kernel semantics: a failed buffer is not retried).
      if (!s && !deferred_error_) deferred_error_ = std::move(s).error();
    }
    ++stats_.evictions;
    drop(victim);
    return {};
  }
  return Error::busy(fmt::format("block cache full: all {} cached blocks are locked", capacity_));
}

Result<CacheEntry*> BlockManager::get_entry(BlockNr b, bool read_from_device) {
  if (b >= dev_.nr_blocks())
    return Error::invalid(fmt::format("block {} is past the end of the device ({} blocks)", b, dev_.nr_blocks()));
  if (auto it = index_.find(b); it != index_.end()) {
    ++stats_.hits;
    touch(*it->second);
    return it->second.get();
  }
  ++stats_.misses;
  PDSIM_TRY(make_room());
  auto e = std::make_unique<CacheEntry>();
  e->location = b;
  if (read_from_device) {
    ++stats_.device_reads;
    PDSIM_TRY(dev_.read(b, BlockSpan(e->data)));
  }
  CacheEntry* raw = e.get();
  raw->lru_pos = lru_.insert(lru_.end(), raw);
  index_.emplace(b, std::move(e));
  return raw;
}

Status BlockManager::validate(CacheEntry& e, const Validator* v) {
  if (e.validator != nullptr) {
    if (v != e.validator)
      return Error::corruption(fmt::format("block {} was read as a {} and is now wanted as a {}: one block cannot be both "
                                           "(two structures claim it)", e.location, e.validator->name(),
                                           v ? v->name() : "plain block"));
    return {};
  }
  if (v == nullptr) return {};
  Status s = v->check(ConstBlockSpan(e.data), e.location);
  if (!s) {
    ++stats_.validation_failures;
    return s;
  }
  e.validator = v;
  return {};
}

Status BlockManager::check_lockable(const CacheEntry& e, LockKind kind) const {
  if (e.write_locked)
    return Error::busy(fmt::format("block {} is already write-locked", e.location));
  if (kind == LockKind::write && e.readers > 0)
    return Error::busy(fmt::format("block {} is read-locked ({} readers)", e.location, e.readers));
  return {};
}

Result<ReadRef> BlockManager::read_lock(BlockNr b, const Validator* v) {
  PDSIM_TRY_ASSIGN(CacheEntry * e, get_entry(b, true));
  PDSIM_TRY(check_lockable(*e, LockKind::read));
  PDSIM_TRY(validate(*e, v));
  ++e->readers;
  return ReadRef(this, e);
}

Result<ReadRef> BlockManager::try_read_lock(BlockNr b, const Validator* v) {
  if (!is_cached(b)) return Error::busy(fmt::format("block {} is not cached", b));
  return read_lock(b, v);
}

Result<WriteRef> BlockManager::write_lock(BlockNr b, const Validator* v) {
  if (read_only_) return Error::read_only(fmt::format("write lock of block {} in read-only mode", b));
  PDSIM_TRY_ASSIGN(CacheEntry * e, get_entry(b, true));
  PDSIM_TRY(check_lockable(*e, LockKind::write));
  PDSIM_TRY(validate(*e, v));
  e->write_locked = true;
  return WriteRef(this, e);
}

Result<WriteRef> BlockManager::write_lock_zero(BlockNr b, const Validator* v) {
  if (read_only_) return Error::read_only(fmt::format("write lock of block {} in read-only mode", b));
  PDSIM_TRY_ASSIGN(CacheEntry * e, get_entry(b, false));
  PDSIM_TRY(check_lockable(*e, LockKind::write));
  e->data.fill(0);
  e->validator = v;
  e->write_locked = true;
  return WriteRef(this, e);
}

void BlockManager::unlock_read(CacheEntry* e) noexcept {
  PDSIM_ASSERT(e->readers > 0, "read unlock of a block with no readers");
  --e->readers;
}

void BlockManager::unlock_write(CacheEntry* e) noexcept {
  PDSIM_ASSERT(e->write_locked, "write unlock of a block that is not write-locked");
  e->write_locked = false;
  e->dirty = true;
}

Status BlockManager::flush() {
  if (read_only_) return Error::read_only("flush in read-only mode");
  std::vector<CacheEntry*> dirty;
  for (auto& [b, e] : index_)
    if (e->dirty && !e->write_locked) dirty.push_back(e.get());
  std::sort(dirty.begin(), dirty.end(), [](auto* a, auto* b) { return a->location < b->location; });

  std::optional<Error> first = std::move(deferred_error_);
  deferred_error_.reset();
  for (CacheEntry* e : dirty) {
    Status s = write_back(*e);
    if (!s) {
      if (!first) first = std::move(s).error();
      if (!e->locked()) drop(e);
      else e->dirty = false;  // a reader holds it; the failed contents are not retried
    }
  }
  ++stats_.flushes;
  Status fs = dev_.flush();  // issued even when a write failed
  if (first) return std::move(*first);
  if (!fs) return std::move(fs).error().with_context("device flush");
  return {};
}

void BlockManager::discard_all() {
  PDSIM_ASSERT(locked_blocks() == 0, "flush with blocks still locked");
  index_.clear();
  lru_.clear();
  deferred_error_.reset();
}

}  // namespace pdsim
