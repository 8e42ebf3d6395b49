// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — the block manager (algorithms.md §1).
//
// A bounded cache of 4096-byte blocks over a BlockDevice with RAII read and write references,
// validators, dirty tracking and flush. Memory is bounded by the configured number of cached
// blocks whatever the device size: an unlocked block is evicted (written back first if dirty)
// when room is needed; only when every cached block is locked does a lock fail (ErrorKind::busy).
//
// Semantics that later layers rely on:
//   * a write reference marks its block dirty when it is released, not before;
//   * a validator's prepare_for_write runs at write-back, so callers never maintain checksums;
//   * a block remembers the validator that first accepted it; locking it with another one is
//     ErrorKind::invalid ("validator mismatch"); a failed check leaves it cached and unvalidated;
//   * flush() writes every dirty block (in block order), then flushes the device even when a
//     write failed, and returns the first write error since the previous flush (including errors
//     of earlier evictions), else the device flush's error. A block whose write failed is dropped
//     from the cache, so a later read sees what the device holds.
//   * the destructor does no I/O: dirty blocks that were never flushed are simply lost.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/block/validator.h"
#include "core/common/result.h"
#include "core/io/block_device.h"

namespace pdsim {

class BlockManager;

namespace detail {
struct CacheEntry;
}

class ReadRef {
 public:
  ReadRef(ReadRef&& o) noexcept : bm_(o.bm_), e_(o.e_) { o.e_ = nullptr; }
  ReadRef& operator=(ReadRef&& o) noexcept;
  ReadRef(const ReadRef&) = delete;
  ReadRef& operator=(const ReadRef&) = delete;
  ~ReadRef() { release(); }

  [[nodiscard]] BlockNr location() const;
  [[nodiscard]] ConstBlockSpan data() const;
  void release() noexcept;

 private:
  friend class BlockManager;
  ReadRef(BlockManager* bm, detail::CacheEntry* e) : bm_(bm), e_(e) {}
  BlockManager* bm_;
  detail::CacheEntry* e_;
};

class WriteRef {
 public:
  WriteRef(WriteRef&& o) noexcept : bm_(o.bm_), e_(o.e_) { o.e_ = nullptr; }
  WriteRef& operator=(WriteRef&& o) noexcept;
  WriteRef(const WriteRef&) = delete;
  WriteRef& operator=(const WriteRef&) = delete;
  ~WriteRef() { release(); }

  [[nodiscard]] BlockNr location() const;
  [[nodiscard]] BlockSpan data() const;
  // Marks the block dirty and unlocks it.
  void release() noexcept;

 private:
  friend class BlockManager;
  WriteRef(BlockManager* bm, detail::CacheEntry* e) : bm_(bm), e_(e) {}
  BlockManager* bm_;
  detail::CacheEntry* e_;
};

struct BlockManagerStats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t device_reads = 0;
  std::uint64_t device_writes = 0;
  std::uint64_t evictions = 0;
  std::uint64_t failed_writes = 0;
  std::uint64_t flushes = 0;
  std::uint64_t validation_failures = 0;
};

class BlockManager {
 public:
  static constexpr std::size_t kDefaultCacheBlocks = 1024;

  // REQUIRES: cache_blocks >= 1.
  BlockManager(BlockDevice& dev, std::size_t cache_blocks = kDefaultCacheBlocks);
  ~BlockManager();
  BlockManager(const BlockManager&) = delete;
  BlockManager& operator=(const BlockManager&) = delete;

  // Shared lock. A null validator skips validation (only for a block with no remembered one).
  [[nodiscard]] Result<ReadRef> read_lock(BlockNr b, const Validator* v);
  // Exclusive lock of the block's current contents. ErrorKind::read_only in read-only mode.
  [[nodiscard]] Result<WriteRef> write_lock(BlockNr b, const Validator* v);
  // Exclusive lock of a zero-filled block, without reading the device; replaces the validator.
  [[nodiscard]] Result<WriteRef> write_lock_zero(BlockNr b, const Validator* v);
  // Only succeeds if b is cached; ErrorKind::busy otherwise (no I/O).
  [[nodiscard]] Result<ReadRef> try_read_lock(BlockNr b, const Validator* v);

  [[nodiscard]] Status flush();
  // Drops every cached block without writing it (abort). REQUIRES: no block is locked.
  void discard_all();

  void set_read_only(bool ro) { read_only_ = ro; }
  [[nodiscard]] bool is_read_only() const { return read_only_; }

  [[nodiscard]] BlockNr nr_blocks() const { return dev_.nr_blocks(); }
  [[nodiscard]] std::size_t capacity() const { return capacity_; }
  [[nodiscard]] std::size_t cached_blocks() const { return index_.size(); }
  [[nodiscard]] std::size_t dirty_blocks() const;
  [[nodiscard]] std::size_t locked_blocks() const;
  [[nodiscard]] bool is_cached(BlockNr b) const { return index_.count(b) != 0; }
  [[nodiscard]] const BlockManagerStats& stats() const { return stats_; }
  [[nodiscard]] BlockDevice& device() { return dev_; }

 private:
  friend class ReadRef;
  friend class WriteRef;
  enum class LockKind { read, write };

  [[nodiscard]] Result<detail::CacheEntry*> get_entry(BlockNr b, bool read_from_device);
  [[nodiscard]] Status make_room();
  [[nodiscard]] Status write_back(detail::CacheEntry& e);
  [[nodiscard]] Status validate(detail::CacheEntry& e, const Validator* v);
  [[nodiscard]] Status check_lockable(const detail::CacheEntry& e, LockKind kind) const;
  void drop(detail::CacheEntry* e);
  void touch(detail::CacheEntry& e);
  void unlock_read(detail::CacheEntry* e) noexcept;
  void unlock_write(detail::CacheEntry* e) noexcept;

  BlockDevice& dev_;
  std::size_t capacity_;
  bool read_only_ = false;
  std::unordered_map<BlockNr, std::unique_ptr<detail::CacheEntry>> index_;
  std::list<detail::CacheEntry*> lru_;  // front = least recently used
  std::optional<Error> deferred_error_;  // first failed write-back since the last flush
  BlockManagerStats stats_;
};

}  // namespace pdsim
