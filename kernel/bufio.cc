// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — a userspace dm-bufio over pdsim's BlockDevice, keeping the semantics the kernel's block
// manager relies on (../shared/spec/kernel-engine.md §3):
//  - a buffer is read from the device only when it is not cached; a read error frees it and is
//    returned as err_ptr(-EIO); cached data is never re-read, so validation happens only when a
//    block re-enters the cache;
//  - the write callback (the validator's prepare_for_write: block number and checksum) runs
//    immediately before each write of a buffer;
//  - write_dirty_buffers writes every dirty buffer, then always issues a flush, even when nothing
//    was dirty or writes failed; it returns the first write error recorded since the last call
//    (evictions' early writes included), else the flush's; the error is cleared once returned and
//    a failed write is not retried (the buffer counts as clean);
//  - past `cache_blocks` buffers, the least recently used unheld buffer is evicted, written
//    first when dirty (the kernel's early write-back); held buffers are never evicted;
//  - reset and destroy write every dirty buffer without a flush and drop them all; a buffer still
//    held then is a kernel BUG ("leaked buffer");
//  - prefetch is a hint and does nothing.
// Deterministic: the LRU order is the order of use, and dirty buffers are written in block order.
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <list>
#include <map>
#include <memory>
#include <vector>

#include "kernel/kernel_bdev.h"

extern "C" {
#include "kernel/kernel_c_api.h"
}

struct dm_buffer {
  dm_bufio_client* client = nullptr;
  std::uint64_t block = 0;
  int hold = 0;
  bool dirty = false;
  std::list<dm_buffer*>::iterator lru;
  alignas(16) pdsim::Block data{};
  std::vector<std::uint8_t> aux;
};

struct dm_bufio_client {
  block_device* bdev = nullptr;
  unsigned block_size = 0;
  unsigned aux_size = 0;
  void (*alloc_cb)(dm_buffer*) = nullptr;
  void (*write_cb)(dm_buffer*) = nullptr;
  std::map<std::uint64_t, std::unique_ptr<dm_buffer>> buffers;  // by block: written in block order
  std::list<dm_buffer*> lru;                                       // front = least recently used
  int write_error = 0;                                             // first since last reported
};

namespace {

void* err_ptr(int error) { return reinterpret_cast<void*>(static_cast<std::intptr_t>(error)); }

void touch(dm_bufio_client* c, dm_buffer* b) { c->lru.splice(c->lru.end(), c->lru, b->lru); }

// Writes one buffer (write callback first). Records the first error; the buffer is clean after.
void write_buffer(dm_bufio_client* c, dm_buffer* b) {
  if (c->write_cb != nullptr) c->write_cb(b);
  b->dirty = false;
  if (c->bdev->detached) return;
  auto s = c->bdev->dev->write(b->block, b->data);
  if (!s.ok()) {
    if (c->bdev->last_io_error.empty()) c->bdev->last_io_error = s.error().to_string();
    if (c->write_error == 0) c->write_error = -EIO;
  }
}

void drop(dm_bufio_client* c, dm_buffer* b) {
  c->lru.erase(b->lru);
  c->buffers.erase(b->block);
}

void evict_if_over(dm_bufio_client* c) {
  auto it = c->lru.begin();
  while (c->buffers.size() > c->bdev->cache_blocks && it != c->lru.end()) {
    dm_buffer* b = *it++;
    if (b->hold > 0) continue;
    if (b->dirty) write_buffer(c, b);
    drop(c, b);
  }
}

dm_buffer* make_buffer(dm_bufio_client* c, std::uint64_t block) {
  auto owned = std::make_unique<dm_buffer>();
  dm_buffer* b = owned.get();
  b->client = c;
  b->block = block;
  b->aux.assign(c->aux_size, 0);
  c->lru.push_back(b);
  b->lru = std::prev(c->lru.end());
  c->buffers.emplace(block, std::move(owned));
  if (c->alloc_cb != nullptr) c->alloc_cb(b);
  return b;
}

dm_buffer* cached(dm_bufio_client* c, std::uint64_t block) {
  auto it = c->buffers.find(block);
  return it == c->buffers.end() ? nullptr : it->second.get();
}

void write_all_and_drop(dm_bufio_client* c) {
  for (auto& [nr, b] : c->buffers) {
    if (b->hold > 0) pdsim_kernel_bug(__FILE__, __LINE__, "leaked buffer: still held when the client is reset");
    if (b->dirty) write_buffer(c, b.get());
  }
  c->lru.clear();
  c->buffers.clear();
  c->write_error = 0;
}

}  // namespace

extern "C" {

dm_bufio_client* dm_bufio_client_create(block_device* bdev, unsigned block_size, unsigned /*reserved*/,
                                        unsigned aux_size, void (*alloc_cb)(dm_buffer*),
                                        void (*write_cb)(dm_buffer*), unsigned /*flags*/) {
  if (block_size != pdsim::kBlockSize) return static_cast<dm_bufio_client*>(err_ptr(-EINVAL));
  auto* c = new dm_bufio_client;
  c->bdev = bdev;
  c->block_size = block_size;
  c->aux_size = aux_size;
  c->alloc_cb = alloc_cb;
  c->write_cb = write_cb;
  return c;
}

void dm_bufio_client_destroy(dm_bufio_client* c) {
  write_all_and_drop(c);
  delete c;
}

void dm_bufio_client_reset(dm_bufio_client* c) { write_all_and_drop(c); }

void* dm_bufio_read(dm_bufio_client* c, std::uint64_t block, dm_buffer** bp) {
  if (dm_buffer* b = cached(c, block)) {
    b->hold++;
    touch(c, b);
    *bp = b;
    return b->data.data();
  }
  if (c->bdev->detached) return err_ptr(-EIO);
  if (block >= c->bdev->dev->nr_blocks()) return err_ptr(-EIO);
  dm_buffer* b = make_buffer(c, block);
  auto s = c->bdev->dev->read(block, b->data);
  if (!s.ok()) {
    if (c->bdev->last_io_error.empty()) c->bdev->last_io_error = s.error().to_string();
    drop(c, b);
    return err_ptr(-EIO);
  }
  b->hold = 1;
  *bp = b;
  evict_if_over(c);
  return b->data.data();
}

void* dm_bufio_get(dm_bufio_client* c, std::uint64_t block, dm_buffer** bp) {
  dm_buffer* b = cached(c, block);
  if (b == nullptr) return nullptr;
  b->hold++;
  touch(c, b);
  *bp = b;
  return b->data.data();
}

void* dm_bufio_new(dm_bufio_client* c, std::uint64_t block, dm_buffer** bp) {
  if (block >= c->bdev->dev->nr_blocks()) return err_ptr(-EIO);
  dm_buffer* b = cached(c, block);
  if (b == nullptr) {
    b = make_buffer(c, block);
    b->hold = 1;
    evict_if_over(c);
  } else {
    b->hold++;
    touch(c, b);
  }
  *bp = b;
  return b->data.data();
}

void dm_bufio_prefetch(dm_bufio_client*, std::uint64_t, unsigned) {}

void dm_bufio_release(dm_buffer* b) {
  if (b->hold <= 0) pdsim_kernel_bug(__FILE__, __LINE__, "release of a buffer that is not held");
  b->hold--;
}

void dm_bufio_mark_buffer_dirty(dm_buffer* b) { b->dirty = true; }

int dm_bufio_write_dirty_buffers(dm_bufio_client* c) {
  for (auto& [nr, b] : c->buffers)
    if (b->dirty) write_buffer(c, b.get());
  int r = c->write_error;
  c->write_error = 0;
  if (!c->bdev->detached) {
    auto s = c->bdev->dev->flush();
    if (!s.ok()) {
      if (c->bdev->last_io_error.empty()) c->bdev->last_io_error = s.error().to_string();
      if (r == 0) r = -EIO;
    }
  }
  return r;
}

std::uint64_t dm_bufio_get_device_size(dm_bufio_client* c) { return c->bdev->dev->nr_blocks(); }
std::uint64_t dm_bufio_get_block_number(dm_buffer* b) { return b->block; }
void* dm_bufio_get_block_data(dm_buffer* b) { return b->data.data(); }
void* dm_bufio_get_aux_data(dm_buffer* b) { return b->aux.data(); }
dm_bufio_client* dm_bufio_get_client(dm_buffer* b) { return b->client; }
unsigned dm_bufio_get_block_size(dm_bufio_client* c) { return c->block_size; }

std::uint64_t bdev_nr_sectors(block_device* bdev) { return bdev->dev->nr_blocks() * pdsim::kSectorsPerBlock; }
bool bdev_read_only(block_device*) { return false; }

}  // extern "C"
