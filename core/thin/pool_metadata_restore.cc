// SPDX-License-Identifier: GPL-2.0-or-later
// PoolMetadata, building a pool from a dump: device details and mappings as given (restore_*),
// and the bulk load of one device at a time (begin_load, load_range, end_load), packed bottom-up
// by btree::Builder while the mappings come in order.
#include "core/thin/pool_metadata.h"

#include <fmt/format.h>

namespace pdsim::thin {

// ---- restore ----

Status PoolMetadata::restore_details(std::uint64_t id, const DeviceDetails& details) {
  in_service_ = true;
  PDSIM_TRY_ASSIGN(DeviceRecord * rec, record_for(id));
  rec->details = details;
  rec->changed = true;
  return {};
}

Status PoolMetadata::restore_range(std::uint64_t id, std::uint64_t vbegin, BlockNr data_begin, std::uint64_t length,
                                   std::uint32_t time) {
  in_service_ = true;
  PDSIM_TRY(data_sm_->inc(data_begin, data_begin + length));
  auto mapping = info();
  std::array<std::uint8_t, 8> v{};
  for (std::uint64_t i = 0; i < length; ++i) {
    const std::uint64_t keys[2] = {id, vbegin + i};
    store_le<std::uint64_t>(v.data(), pack_block_time(data_begin + i, time));
    PDSIM_TRY_ASSIGN(auto r, btree::insert(mapping, root_, keys, v));
    root_ = r.root;
    if (!r.inserted) return Error::invalid(fmt::format("thin device {}: overlapping mappings: block {} is mapped twice", id, vbegin + i));
  }
  return {};
}

// ---- bulk restore ----

Status PoolMetadata::begin_load(std::uint64_t id) {
  in_service_ = true;
  if (load_) return Error::invalid(fmt::format("thin device {} is still loading", load_->id));
  if (id > kMaxDeviceId) return Error::invalid(fmt::format("thin device id {} is above the maximum {}", id, kMaxDeviceId));
  PDSIM_TRY_ASSIGN(bool exists, device_exists(id));
  if (exists) return Error::invalid(fmt::format("thin device {} already exists", id));
  load_ = std::make_unique<Load>(Load{id, bl_info(), std::nullopt});
  load_->builder.emplace(load_->info);
  return {};
}

// Puts the built subtree into the top-level tree and registers the device.
Status PoolMetadata::install_loaded(Load& load) {
  PDSIM_TRY_ASSIGN(BlockNr dev_root, load.builder->finish());
  load.builder.reset();
  auto tl = tl_info();
  PDSIM_TRY_ASSIGN(auto ins, btree::insert(tl, root_, std::span<const std::uint64_t>(&load.id, 1), btree::u64_value(dev_root)));
  root_ = ins.root;
  records_.push_front(DeviceRecord{load.id, DeviceDetails{0, trans_id_, time_, time_}, true, 0});
  return {};
}

Status PoolMetadata::load_range(std::uint64_t vbegin, BlockNr data_begin, std::uint64_t length, std::uint32_t time) {
  if (!load_) return Error::invalid("load_range without begin_load");
  if (length == 0) return {};
  btree::Builder* b = load_->builder ? &*load_->builder : nullptr;
  if (b != nullptr && b->last_key() && vbegin <= *b->last_key()) {
    // Out of order: finish the bulk part and insert from here on.
    PDSIM_TRY(install_loaded(*load_));
    b = nullptr;
  }
  if (b == nullptr) return restore_range(load_->id, vbegin, data_begin, length, time);
  PDSIM_TRY(data_sm_->inc(data_begin, data_begin + length));
  std::array<std::uint8_t, 8> v{};
  for (std::uint64_t i = 0; i < length; ++i) {
    store_le<std::uint64_t>(v.data(), pack_block_time(data_begin + i, time));
    PDSIM_TRY(b->push(vbegin + i, v));
  }
  return {};
}

Status PoolMetadata::end_load(const DeviceDetails& details) {
  if (!load_) return Error::invalid("end_load without begin_load");
  const std::uint64_t id = load_->id;
  if (load_->builder) PDSIM_TRY(install_loaded(*load_));
  load_.reset();
  return restore_details(id, details);
}

}  // namespace pdsim::thin
