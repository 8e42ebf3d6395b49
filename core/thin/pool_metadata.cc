// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/thin/pool_metadata.h"

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "core/common/assert.h"
#include "core/common/marks.h"
#include "core/sm/sm_format.h"
#include "core/tm/metadata_store.h"

namespace pdsim::thin {
namespace {

bool bytes_equal(btree::ValueSpan a, btree::ValueSpan b) { return std::equal(a.begin(), a.end(), b.begin(), b.end()); }

}  // namespace

PoolMetadata::PoolMetadata(BlockDevice& dev, std::uint32_t data_block_size, std::size_t cache_blocks)
    : dev_(dev), bm_(dev, cache_blocks), tm_(bm_), data_block_size_(data_block_size) {
  block_time_vt_ = block_time_type();
}

// ---- views ----

btree::ValueType PoolMetadata::block_time_type() {
  btree::ValueType t;
  t.size = 8;
  t.inc = [this](btree::ValueSpan v, std::size_t n) -> Status {
    // Runs of consecutive data blocks are counted with one range operation.
    std::size_t i = 0;
    while (i < n) {
      const BlockNr first = block_of(load_le<std::uint64_t>(v.data() + 8 * i));
      std::size_t j = i + 1;
      while (j < n && block_of(load_le<std::uint64_t>(v.data() + 8 * j)) == first + (j - i)) ++j;
      PDSIM_TRY(data_sm_->inc(first, first + (j - i)));
      i = j;
    }
    return {};
  };
  t.dec = [this](btree::ValueSpan v, std::size_t n) -> Status {
    for (std::size_t i = 0; i < n; ++i) PDSIM_TRY(data_sm_->dec(block_of(load_le<std::uint64_t>(v.data() + 8 * i))));
    return {};
  };
  t.equal = [](btree::ValueSpan a, btree::ValueSpan b) {  // the data block only; time is ignored
    return block_of(load_le<std::uint64_t>(a.data())) == block_of(load_le<std::uint64_t>(b.data()));
  };
  return t;
}

btree::Info PoolMetadata::info() { return btree::Info{&tm_, 2, block_time_vt_}; }
btree::Info PoolMetadata::bl_info() { return btree::Info{&tm_, 1, block_time_vt_}; }
btree::Info PoolMetadata::details_info() { return btree::Info{&tm_, 1, btree::plain_value_type(DeviceDetails::kSize)}; }

btree::Info PoolMetadata::tl_info() {
  btree::ValueType t;
  t.size = 8;
  t.inc = [this](btree::ValueSpan v, std::size_t n) -> Status {
    for (std::size_t i = 0; i < n; ++i) PDSIM_TRY(tm_.inc(load_le<std::uint64_t>(v.data() + 8 * i)));
    return {};
  };
  t.dec = [this](btree::ValueSpan v, std::size_t n) -> Status {  // deleting an entry deletes the subtree
    for (std::size_t i = 0; i < n; ++i) {
      auto bl = bl_info();
      PDSIM_TRY(btree::del(bl, load_le<std::uint64_t>(v.data() + 8 * i)));
    }
    return {};
  };
  t.equal = bytes_equal;
  return btree::Info{&tm_, 1, t};
}

// ---- format / open ----

Result<std::unique_ptr<PoolMetadata>> PoolMetadata::format(BlockDevice& dev, std::uint32_t data_block_size,
                                                          std::size_t cache_blocks) {
  if (data_block_size < 128 || data_block_size > 2097152 || data_block_size % 128 != 0)
    return Error::invalid(fmt::format("data block size {} sectors is not a multiple of 128 in [128, 2097152]", data_block_size));
  auto p = std::make_unique<PoolMetadata>(dev, data_block_size, cache_blocks);
  const BlockNr meta_blocks = std::min<BlockNr>(dev.nr_blocks(), sm::kMetadataMaxBlocks);
  PDSIM_TRY_ASSIGN(p->meta_sm_, sm::MetadataSpaceMap::create(p->tm_, meta_blocks));
  PDSIM_TRY_ASSIGN(p->data_sm_, sm::DiskSpaceMap::create(p->tm_, 0));
  auto mapping = p->info();
  PDSIM_TRY_ASSIGN(p->root_, btree::create_empty(mapping));
  auto details = p->details_info();
  PDSIM_TRY_ASSIGN(p->details_root_, btree::create_empty(details));
  // The first superblock.
  PDSIM_TRY(p->data_sm_->commit());
  PDSIM_TRY(commit_transaction(p->tm_, superblock_validator(), {p->meta_sm_.get(), p->data_sm_.get()},
                               SuperblockLock::zero, [&](std::uint8_t* d, std::span<const SpaceMapRoot> roots) {
                                 Superblock sb;
                                 sb.metadata_sm_root = roots[0];
                                 sb.data_sm_root = roots[1];
                                 sb.data_mapping_root = p->root_;
                                 sb.device_details_root = p->details_root_;
                                 sb.data_block_size = data_block_size;
                                 sb.metadata_nr_blocks = meta_blocks;
                                 sb.pack(d);
                               }));
  PDSIM_TRY(p->begin_transaction());
  p->recompute_reserve();
  return p;
}

Result<std::unique_ptr<PoolMetadata>> PoolMetadata::open(BlockDevice& dev, std::optional<std::uint32_t> data_block_size,
                                                        bool read_only, std::size_t cache_blocks) {
  auto p = std::make_unique<PoolMetadata>(dev, data_block_size.value_or(0), cache_blocks);
  PDSIM_TRY_ASSIGN(Block raw, read_formatted_superblock(p->bm_, superblock_validator(), "metadata device"));
  Superblock sb = Superblock::unpack(raw.data());
  if (data_block_size && *data_block_size != sb.data_block_size)
    return Error::invalid(fmt::format("data block size {} does not match the superblock's {}", *data_block_size, sb.data_block_size));
  if (sb.incompat_flags != 0)
    return Error::invalid(fmt::format("superblock has unsupported incompatible features {:#x}", sb.incompat_flags));
  if (sb.compat_ro_flags != 0 && !read_only)
    return Error::invalid(fmt::format("superblock has unsupported read-only-compatible features {:#x}; open read-only", sb.compat_ro_flags));
  p->data_block_size_ = sb.data_block_size;
  PDSIM_TRY(p->open_space_maps(sb));
  PDSIM_TRY(p->begin_transaction());
  p->recompute_reserve();
  if (read_only) p->bm_.set_read_only(true);
  return p;
}

Status PoolMetadata::open_space_maps(const Superblock& sb) {
  PDSIM_TRY_ASSIGN(meta_sm_, sm::MetadataSpaceMap::open(tm_, sb.metadata_sm_root));
  PDSIM_TRY_ASSIGN(data_sm_, sm::DiskSpaceMap::open(tm_, sb.data_sm_root));
  return {};
}

Status PoolMetadata::begin_transaction() {
  PDSIM_TRY_ASSIGN(ReadRef r, bm_.read_lock(kSuperblockLocation, &superblock_validator()));
  Superblock sb = Superblock::unpack(r.data().data());
  time_ = sb.time;
  root_ = sb.data_mapping_root;
  details_root_ = sb.device_details_root;
  held_root_ = sb.held_root;
  trans_id_ = sb.trans_id;
  flags_ = sb.flags;
  data_block_size_ = sb.data_block_size;
  return {};
}

void PoolMetadata::recompute_reserve() {
  auto n = meta_sm_->nr_blocks();
  metadata_reserve_ = n.ok() ? std::min<BlockNr>(4096, *n / 10) : 0;
}

Result<BlockNr> PoolMetadata::metadata_nr_free() {
  PDSIM_TRY_ASSIGN(BlockNr free, meta_sm_->nr_free());
  return free > metadata_reserve_ ? free - metadata_reserve_ : 0;
}

// ---- device records ----

Result<PoolMetadata::DeviceRecord*> PoolMetadata::record_for(std::uint64_t id) {
  for (auto& r : records_)
    if (r.id == id) return &r;
  auto di = details_info();
  PDSIM_TRY_ASSIGN(auto v, btree::lookup(di, details_root_, std::span<const std::uint64_t>(&id, 1)));
  if (!v) return Error::no_data(fmt::format("no thin device {}", id));
  records_.push_front(DeviceRecord{id, DeviceDetails::unpack(v->data()), false, 0});
  return &records_.front();
}

Result<bool> PoolMetadata::device_exists(std::uint64_t id) {
  for (auto& r : records_)
    if (r.id == id) return true;
  auto di = details_info();
  PDSIM_TRY_ASSIGN(auto v, btree::lookup(di, details_root_, std::span<const std::uint64_t>(&id, 1)));
  return v.has_value();
}

Result<DeviceDetails> PoolMetadata::device_details(std::uint64_t id) {
  PDSIM_TRY_ASSIGN(DeviceRecord * r, record_for(id));
  return r->details;
}

Result<std::vector<std::uint64_t>> PoolMetadata::device_ids() {
  std::vector<std::uint64_t> ids;
  auto di = details_info();
  PDSIM_TRY(btree::walk(di, details_root_, [&](std::uint64_t k, btree::ValueSpan) -> Result<bool> {
    ids.push_back(k);
    return true;
  }));
  for (auto& r : records_) ids.push_back(r.id);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

Result<BlockNr> PoolMetadata::subtree_root(std::uint64_t id) {
  auto tl = tl_info();
  PDSIM_TRY_ASSIGN(auto v, btree::lookup(tl, root_, std::span<const std::uint64_t>(&id, 1)));
  if (!v) return Error::no_data(fmt::format("no mapping tree for thin device {}", id));
  return load_le<std::uint64_t>(v->data());
}

// ---- devices ----

Status PoolMetadata::create_thin(std::uint64_t id) {
  in_service_ = true;
  if (id > kMaxDeviceId) return Error::invalid(fmt::format("thin device id {} is above the maximum {}", id, kMaxDeviceId));
  PDSIM_TRY_ASSIGN(bool exists, device_exists(id));
  if (exists) return Error::invalid(fmt::format("thin device {} already exists", id));
  auto bl = bl_info();
  PDSIM_TRY_ASSIGN(BlockNr dev_root, btree::create_empty(bl));
  auto tl = tl_info();
  auto ins = btree::insert(tl, root_, std::span<const std::uint64_t>(&id, 1), btree::u64_value(dev_root));
  if (!ins) {
    Status undo = btree::del(bl, dev_root);
    if (!undo) return std::move(ins).error().with_context(fmt::format("create thin {} (cleanup failed too: {})", id, undo.error().to_string()));
    return std::move(ins).error();
  }
  root_ = ins->root;
  records_.push_front(DeviceRecord{id, DeviceDetails{0, trans_id_, time_, time_}, true, 0});
  return {};
}

Status PoolMetadata::create_snapshot(std::uint64_t id, std::uint64_t origin) {
  PDSIM_MARK("thin.snapshot");
  in_service_ = true;
  if (id > kMaxDeviceId) return Error::invalid(fmt::format("thin device id {} is above the maximum {}", id, kMaxDeviceId));
  PDSIM_TRY_ASSIGN(bool exists, device_exists(id));
  if (exists) return Error::invalid(fmt::format("thin device {} already exists", id));
  PDSIM_TRY_ASSIGN(BlockNr r, subtree_root(origin));
  PDSIM_TRY(tm_.inc(r));  // the snapshot shares the origin's whole mapping tree
  auto tl = tl_info();
  auto ins = btree::insert(tl, root_, std::span<const std::uint64_t>(&id, 1), btree::u64_value(r));
  if (!ins) {
    Status undo = tm_.dec(r);
    if (!undo) return std::move(ins).error().with_context(fmt::format("snapshot {} (cleanup failed too: {})", id, undo.error().to_string()));
    return std::move(ins).error();
  }
  root_ = ins->root;
  ++time_;
  records_.push_front(DeviceRecord{id, DeviceDetails{0, trans_id_, time_, time_}, true, 0});
  DeviceRecord* snap = &records_.front();
  PDSIM_TRY_ASSIGN(DeviceRecord * orig, record_for(origin));
  orig->details.snapshotted_time = time_;
  orig->changed = true;
  snap->details.mapped_blocks = orig->details.mapped_blocks;
  return {};
}

Status PoolMetadata::delete_device(std::uint64_t id) {
  in_service_ = true;
  PDSIM_TRY_ASSIGN(DeviceRecord * rec, record_for(id));
  if (rec->open_count > 1) return Error::busy(fmt::format("thin device {} is open", id));
  records_.remove_if([id](const DeviceRecord& r) { return r.id == id; });
  auto di = details_info();
  PDSIM_TRY_ASSIGN(details_root_, btree::remove(di, details_root_, std::span<const std::uint64_t>(&id, 1)));
  auto tl = tl_info();
  PDSIM_TRY_ASSIGN(root_, btree::remove(tl, root_, std::span<const std::uint64_t>(&id, 1)));
  return {};
}

// ---- mappings ----

Result<std::optional<BlockNr>> PoolMetadata::alloc_data_block() {
  in_service_ = true;
  return data_sm_->new_block();
}

Status PoolMetadata::insert_mapping(std::uint64_t id, std::uint64_t vblock, BlockNr data_block) {
  PDSIM_TRY_ASSIGN(DeviceRecord * rec, record_for(id));
  in_service_ = true;  // dm-thin calls these through an open device: a missing one changes nothing
  const std::uint64_t keys[2] = {id, vblock};
  auto mapping = info();
  PDSIM_TRY_ASSIGN(auto r, btree::insert(mapping, root_, keys, btree::u64_value(pack_block_time(data_block, time_))));
  root_ = r.root;
  if (r.inserted) ++rec->details.mapped_blocks;
  rec->changed = true;
  return {};
}

Result<std::optional<LookupResult>> PoolMetadata::find_block(std::uint64_t id, std::uint64_t vblock) {
  PDSIM_TRY_ASSIGN(DeviceRecord * rec, record_for(id));
  const std::uint64_t keys[2] = {id, vblock};
  auto mapping = info();
  PDSIM_TRY_ASSIGN(auto v, btree::lookup(mapping, root_, keys));
  if (!v) return std::optional<LookupResult>();
  const std::uint64_t bt = load_le<std::uint64_t>(v->data());
  return std::optional<LookupResult>(LookupResult{block_of(bt), rec->details.snapshotted_time > time_of(bt)});
}

Status PoolMetadata::remove_mapping(std::uint64_t id, std::uint64_t vblock) {
  PDSIM_TRY_ASSIGN(DeviceRecord * rec, record_for(id));
  const std::uint64_t keys[2] = {id, vblock};
  auto mapping = info();
  // btree::remove of an absent key shadows the path before it finds out, and the shadowed
  // originals are released: the transaction could then only be aborted. The kernel's interface
  // (dm_thin_remove_range) refuses an unmapped block without changing anything; so does this.
  PDSIM_TRY_ASSIGN(auto present, btree::lookup(mapping, root_, keys));
  if (!present) return Error::no_data(fmt::format("thin device {}: block {} is not mapped", id, vblock));
  in_service_ = true;  // a refusal above is a lookup: it does not put the pool in service
  PDSIM_TRY_ASSIGN(root_, btree::remove(mapping, root_, keys));
  --rec->details.mapped_blocks;
  rec->changed = true;
  return {};
}

Result<std::uint64_t> PoolMetadata::remove_range(std::uint64_t id, std::uint64_t begin, std::uint64_t end) {
  PDSIM_TRY_ASSIGN(DeviceRecord * rec, record_for(id));
  in_service_ = true;  // dm-thin calls these through an open device: a missing one changes nothing
  PDSIM_TRY_ASSIGN(BlockNr r, subtree_root(id));
  // Detach the subtree from the top tree; the extra reference makes the top view's delete a
  // plain decrement.
  PDSIM_TRY(tm_.inc(r));
  auto tl = tl_info();
  PDSIM_TRY_ASSIGN(root_, btree::remove(tl, root_, std::span<const std::uint64_t>(&id, 1)));
  auto bl = bl_info();
  std::uint64_t removed = 0;
  while (begin < end) {
    PDSIM_TRY_ASSIGN(auto next, btree::lookup_next(bl, r, std::span<const std::uint64_t>(&begin, 1)));
    if (!next || next->key >= end) break;
    begin = next->key;
    PDSIM_TRY_ASSIGN(auto res, btree::remove_leaves(bl, r, std::span<const std::uint64_t>(&begin, 1), end));
    r = res.root;
    removed += res.removed;
    if (res.removed == 0)
      return Error::corruption(fmt::format("thin device {}: block {} was found but could not be removed", id, begin));
  }
  rec->details.mapped_blocks -= removed;
  rec->changed = true;
  PDSIM_TRY_ASSIGN(auto ins, btree::insert(tl, root_, std::span<const std::uint64_t>(&id, 1), btree::u64_value(r)));
  root_ = ins.root;
  return removed;
}

Result<std::optional<std::uint64_t>> PoolMetadata::mapped_edge(std::uint64_t id, bool lowest) {
  PDSIM_TRY_ASSIGN(BlockNr r, subtree_root(id));
  auto bl = bl_info();
  PDSIM_TRY_ASSIGN(auto keys, lowest ? btree::find_lowest(bl, r) : btree::find_highest(bl, r));
  if (keys.empty()) return std::optional<std::uint64_t>();
  return std::optional<std::uint64_t>(keys.front());
}

Result<std::uint32_t> PoolMetadata::mapping_root_fanout(std::uint64_t id) {
  PDSIM_TRY_ASSIGN(BlockNr r, subtree_root(id));
  PDSIM_TRY_ASSIGN(ReadRef node, tm_.read_lock(r, &btree::node_validator()));
  const btree::NodeView n(node.data());
  return n.is_internal() ? n.nr_entries() : 0u;
}

Result<PoolMetadata::LeafNeighbourhood> PoolMetadata::mapping_leaf_neighbourhood(std::uint64_t id, std::uint64_t vblock) {
  PDSIM_TRY_ASSIGN(BlockNr b, subtree_root(id));
  LeafNeighbourhood out;
  std::vector<BlockNr> siblings;  // under the last internal node passed
  for (unsigned depth = 0;; ++depth) {
    if (depth >= 64) return Error::corruption(fmt::format("thin {}: mapping tree deeper than 64 levels", id));
    PDSIM_TRY_ASSIGN(ReadRef node, tm_.read_lock(b, &btree::node_validator()));
    const btree::NodeView n(node.data());
    if (n.is_leaf()) {
      out.max_entries = n.max_entries();
      if (n.nr_entries() > 0) {
        out.first_key = n.key(0);
        out.last_key = n.key(n.nr_entries() - 1);
      }
      break;
    }
    if (n.nr_entries() == 0) return Error::corruption(fmt::format("thin {}: empty internal node {}", id, b));
    const long at = std::max<long>(0, n.lower_bound(vblock));
    const auto i = static_cast<std::size_t>(at);
    siblings.clear();
    if (i > 0) siblings.push_back(n.value64(i - 1));
    out.self = siblings.size();
    siblings.push_back(n.value64(i));
    if (i + 1 < n.nr_entries()) siblings.push_back(n.value64(i + 1));
    b = n.value64(i);
  }
  for (const BlockNr s : siblings) {
    PDSIM_TRY_ASSIGN(ReadRef node, tm_.read_lock(s, &btree::node_validator()));
    out.counts.push_back(btree::NodeView(node.data()).nr_entries());
  }
  return out;
}

Result<std::optional<std::pair<std::uint64_t, BlockNr>>> PoolMetadata::next_mapping(std::uint64_t id, std::uint64_t vblock) {
  using Found = std::optional<std::pair<std::uint64_t, BlockNr>>;
  PDSIM_TRY(record_for(id));  // dm-thin looks up through an open device: a missing one is no_data
  const std::uint64_t keys[2] = {id, vblock};
  auto mapping = info();
  PDSIM_TRY_ASSIGN(auto e, btree::lookup_next(mapping, root_, keys));
  if (!e) return Found();
  return Found(std::pair<std::uint64_t, BlockNr>(e->key, block_of(load_le<std::uint64_t>(e->value.data()))));
}

Status PoolMetadata::walk_mappings(std::uint64_t id,
                                   const std::function<Result<bool>(std::uint64_t, std::uint64_t)>& fn) {
  PDSIM_TRY_ASSIGN(BlockNr r, subtree_root(id));
  auto bl = bl_info();
  return btree::walk(bl, r, [&](std::uint64_t k, btree::ValueSpan v) { return fn(k, load_le<std::uint64_t>(v.data())); });
}

// ---- pool ----

Status PoolMetadata::set_transaction_id(std::uint64_t current, std::uint64_t next) {
  in_service_ = true;
  if (current != trans_id_)
    return Error::invalid(fmt::format("transaction id mismatch: pool has {}, caller said {}", trans_id_, current));
  trans_id_ = next;
  return {};
}

Status PoolMetadata::write_details() {
  auto di = details_info();
  for (auto it = records_.begin(); it != records_.end();) {
    if (!it->changed) {
      ++it;
      continue;
    }
    btree::Value v(DeviceDetails::kSize);
    it->details.pack(v.data());
    PDSIM_TRY_ASSIGN(auto r, btree::insert(di, details_root_, std::span<const std::uint64_t>(&it->id, 1), v));
    details_root_ = r.root;
    if (it->open_count == 0) {
      it = records_.erase(it);
    } else {
      it->changed = false;
      ++it;
    }
  }
  return {};
}

Status PoolMetadata::commit_steps() {
  PDSIM_ASSERT(bm_.locked_blocks() == 0, "pool metadata committed with blocks still locked");
  PDSIM_TRY(write_details());
  PDSIM_TRY(data_sm_->commit());
  return commit_transaction(tm_, superblock_validator(), {meta_sm_.get(), data_sm_.get()}, SuperblockLock::keep_contents,
                            [&](std::uint8_t* d, std::span<const SpaceMapRoot> roots) {
                              Superblock sb = Superblock::unpack(d);
                              sb.time = time_;
                              sb.data_mapping_root = root_;
                              sb.device_details_root = details_root_;
                              sb.held_root = held_root_;
                              sb.trans_id = trans_id_;
                              sb.flags = flags_;
                              if (restored_version_) sb.version = *restored_version_;
                              sb.metadata_sm_root = roots[0];
                              sb.data_sm_root = roots[1];
                              sb.pack(d);
                            });
}

Status PoolMetadata::commit() {
  if (!in_service_) return {};
  if (load_) return Error::invalid(fmt::format("commit while thin device {} is still loading", load_->id));
  PDSIM_TRY(commit_steps());
  ++commits_;
  return begin_transaction();
}

Status PoolMetadata::abort() {
  in_service_ = true;
  load_.reset();
  // The kernel's abort: no device flush (core/tm/metadata_store.h says why that is safe here only).
  PDSIM_TRY(abort_transaction(tm_, bm_.device(), AbortFlush::kernel_no_flush));
  PDSIM_TRY_ASSIGN(Block raw, read_formatted_superblock(bm_, superblock_validator(), "metadata device"));
  Superblock sb = Superblock::unpack(raw.data());
  PDSIM_TRY(open_space_maps(sb));
  // As the kernel: the roots revert; time, trans_id, flags and the device records keep their
  // in-core values (a commit never follows an abort in dm-thin).
  root_ = sb.data_mapping_root;
  details_root_ = sb.device_details_root;
  held_root_ = sb.held_root;
  return {};
}

Status PoolMetadata::resize_data(BlockNr new_nr_blocks) {
  PDSIM_MARK("thin.resize_data");
  in_service_ = true;
  PDSIM_TRY_ASSIGN(BlockNr cur, data_sm_->nr_blocks());
  if (new_nr_blocks < cur)
    return Error::invalid(fmt::format("cannot reduce the data device from {} to {} blocks", cur, new_nr_blocks));
  if (new_nr_blocks == cur) return {};
  return data_sm_->extend(new_nr_blocks - cur);
}

Status PoolMetadata::resize_metadata(BlockNr new_nr_blocks) {
  PDSIM_MARK("thin.resize_metadata");
  in_service_ = true;
  new_nr_blocks = std::min<BlockNr>(new_nr_blocks, sm::kMetadataMaxBlocks);
  if (new_nr_blocks > bm_.nr_blocks())
    return Error::invalid(fmt::format("metadata device has {} blocks, cannot grow the space map to {}", bm_.nr_blocks(), new_nr_blocks));
  PDSIM_TRY_ASSIGN(BlockNr cur, meta_sm_->nr_blocks());
  if (new_nr_blocks < cur)
    return Error::invalid(fmt::format("cannot reduce size of space map from {} to {} blocks", cur, new_nr_blocks));
  if (new_nr_blocks == cur) return {};
  PDSIM_TRY(meta_sm_->extend(new_nr_blocks - cur));
  recompute_reserve();
  return {};
}

Status PoolMetadata::reserve_metadata_snap() {
  in_service_ = true;
  if (held_root_ != 0) return Error::busy(fmt::format("a metadata snapshot is already held at block {}", held_root_));
  PDSIM_TRY(commit_steps());
  // Take a second reference on the superblock so that the shadow must copy it.
  PDSIM_TRY(meta_sm_->inc(kSuperblockLocation));
  auto sh = tm_.shadow_block(kSuperblockLocation, &superblock_validator());
  if (!sh) {
    Status undo = meta_sm_->dec(kSuperblockLocation);
    if (!undo) return std::move(sh).error().with_context(fmt::format("metadata snapshot (undo failed too: {})", undo.error().to_string()));
    return std::move(sh).error();
  }
  const BlockNr h = sh->block.location();
  std::uint8_t* d = sh->block.data().data();
  std::fill(d + sb::data_sm_root, d + sb::data_sm_root + 2 * kSpaceMapRootField, std::uint8_t{0});
  const Superblock copy = Superblock::unpack(d);
  sh->block.release();
  PDSIM_TRY(tm_.inc(copy.data_mapping_root));
  PDSIM_TRY(tm_.inc(copy.device_details_root));
  held_root_ = h;
  return {};
}

Status PoolMetadata::release_metadata_snap() {
  in_service_ = true;
  if (held_root_ == 0) return Error::invalid("no metadata snapshot is held");
  PDSIM_TRY_ASSIGN(ReadRef r, bm_.read_lock(held_root_, &superblock_validator()));
  const Superblock copy = Superblock::unpack(r.data().data());
  r.release();
  const BlockNr held = held_root_;
  held_root_ = 0;
  auto mapping = info();
  PDSIM_TRY(btree::del(mapping, copy.data_mapping_root));
  auto di = details_info();
  PDSIM_TRY(btree::del(di, copy.device_details_root));
  return meta_sm_->dec(held);
}

Status PoolMetadata::set_needs_check() {
  flags_ |= kNeedsCheckFlag;
  PDSIM_TRY_ASSIGN(WriteRef w, bm_.write_lock(kSuperblockLocation, &superblock_validator()));
  store_le<std::uint32_t>(w.data().data() + sb::flags, flags_);
  return {};
}

// What `thin_check --clear-needs-check-flag` does once the metadata checked clean: the flag is
// cleared in the superblock, in place, and made durable.
Status PoolMetadata::clear_needs_check() {
  flags_ &= ~kNeedsCheckFlag;
  {
    PDSIM_TRY_ASSIGN(WriteRef w, bm_.write_lock(kSuperblockLocation, &superblock_validator()));
    store_le<std::uint32_t>(w.data().data() + sb::flags, flags_);
  }
  return bm_.flush();
}

Result<std::uint64_t> PoolMetadata::mapped_count(std::uint64_t id) {
  PDSIM_TRY_ASSIGN(DeviceDetails d, device_details(id));
  return d.mapped_blocks;
}

namespace {

class PdsimThinEngine final : public seam::ThinEngine {
 public:
  [[nodiscard]] std::string_view name() const override { return "pdsim"; }
  [[nodiscard]] Result<std::unique_ptr<seam::ThinMetadata>> format(BlockDevice& dev, std::uint32_t data_block_size,
                                                                   std::size_t cache_blocks) override {
    PDSIM_TRY_ASSIGN(auto md, PoolMetadata::format(dev, data_block_size, cache_blocks));
    return std::unique_ptr<seam::ThinMetadata>(std::move(md));
  }
  [[nodiscard]] Result<std::unique_ptr<seam::ThinMetadata>> open(BlockDevice& dev,
                                                                 std::optional<std::uint32_t> data_block_size,
                                                                 bool read_only, std::size_t cache_blocks) override {
    PDSIM_TRY_ASSIGN(auto md, PoolMetadata::open(dev, data_block_size, read_only, cache_blocks));
    return std::unique_ptr<seam::ThinMetadata>(std::move(md));
  }
};

}  // namespace

seam::ThinEngine& pdsim_thin_engine() {
  static PdsimThinEngine engine;
  return engine;
}

}  // namespace pdsim::thin
