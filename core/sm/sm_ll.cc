// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/common/marks.h"
#include "core/common/assert.h"
#include "core/sm/sm_ll.h"

#include <limits>

#include <algorithm>

#include <fmt/format.h>

#include "core/common/seed_bugs.h"

namespace pdsim::sm {

namespace {
constexpr std::uint32_t kOverflowValueSize = 4;

std::array<std::uint8_t, 4> pack_count(std::uint32_t n) {
  std::array<std::uint8_t, 4> v{};
  store_le<std::uint32_t>(v.data(), n);
  return v;
}
}  // namespace

LowLevel::LowLevel(TransactionManager& tm, std::unique_ptr<IndexStore> index, BlockNr nr_blocks, BlockNr nr_allocated,
                   BlockNr ref_count_root)
    : tm_(&tm), index_(std::move(index)), nr_blocks_(nr_blocks), nr_allocated_(nr_allocated), ref_count_root_(ref_count_root) {}

LowLevel LowLevel::clone() const { return LowLevel(*tm_, index_->clone(), nr_blocks_, nr_allocated_, ref_count_root_); }

Status LowLevel::check_block(BlockNr b) const {
  if (b >= nr_blocks_)
    return Error::invalid(fmt::format("block {} is beyond the space map ({} blocks)", b, nr_blocks_));
  return {};
}

btree::Info LowLevel::overflow_info() {
  return btree::Info{tm_, 1, btree::plain_value_type(kOverflowValueSize)};
}

// ---- lookups ----

Result<std::uint32_t> LowLevel::lookup_bitmap(BlockNr b) {
  PDSIM_TRY(check_block(b));
  PDSIM_TRY_ASSIGN(IndexEntry ie, index_->load(b / kEntriesPerBitmap));
  PDSIM_TRY_ASSIGN(ReadRef bm, tm_->read_lock(ie.blocknr, &bitmap_validator()));
  return bitmap_get(bm.data().data(), static_cast<std::uint32_t>(b % kEntriesPerBitmap));
}

Result<std::uint32_t> LowLevel::overflow_lookup(BlockNr b) {
  auto info = overflow_info();
  const std::uint64_t key = b;
  PDSIM_TRY_ASSIGN(auto v, btree::lookup(info, ref_count_root_, std::span<const std::uint64_t>(&key, 1)));
  if (!v) return Error::corruption(fmt::format("block {} has bitmap count 3 but the overflow btree is missing an entry", b));
  return load_le<std::uint32_t>(v->data());
}

Result<std::uint32_t> LowLevel::lookup(BlockNr b) {
  PDSIM_TRY_ASSIGN(std::uint32_t v, lookup_bitmap(b));
  if (v < 3) return v;
  return overflow_lookup(b);
}

Result<std::optional<BlockNr>> LowLevel::find_free_block(BlockNr begin, BlockNr end) {
  end = std::min(end, nr_blocks_);
  if (begin >= end) return std::optional<BlockNr>();
  const std::uint64_t first = begin / kEntriesPerBitmap;
  const std::uint64_t last = (end - 1) / kEntriesPerBitmap;
  for (std::uint64_t i = first; i <= last; ++i) {
    PDSIM_TRY_ASSIGN(IndexEntry ie, index_->load(i));
    if (ie.nr_free == 0) continue;
    PDSIM_TRY_ASSIGN(ReadRef bm, tm_->read_lock(ie.blocknr, &bitmap_validator()));
    const std::uint8_t* data = bm.data().data();
    std::uint32_t pos = i == first ? static_cast<std::uint32_t>(begin % kEntriesPerBitmap) : 0;
    pos = std::max(pos, ie.none_free_before);
    const std::uint32_t stop = i == last ? static_cast<std::uint32_t>((end - 1) % kEntriesPerBitmap) + 1 : kEntriesPerBitmap;
    while (pos < stop) {
      if (pos % 32 == 0 && bitmap_word_full(data, pos)) {
        pos += 32;
        continue;
      }
      if (bitmap_get(data, pos) == 0) {
        if (i != first || (pos == 0 && i > 0)) PDSIM_MARK("sm.alloc_enters_next_bitmap");
        return std::optional<BlockNr>(i * kEntriesPerBitmap + pos);
      }
      ++pos;
    }
  }
  return std::optional<BlockNr>();
}

Result<std::optional<BlockNr>> find_common_free_block(LowLevel& committed, LowLevel& current, BlockNr begin) {
  // Two passes: from the cursor to the end, then from the start (space freed in earlier
  // transactions). A block must also be free in the committed view, so that nothing the last
  // commit references is reused before the next commit.
  for (int pass = 0; pass < 2; ++pass) {
    BlockNr from = pass == 0 ? begin : 0;
    for (;;) {
      PDSIM_TRY_ASSIGN(std::optional<BlockNr> b, current.find_free_block(from, current.nr_blocks()));
      if (!b) break;
      if (*b >= committed.nr_blocks()) return b;
      PDSIM_TRY_ASSIGN(std::uint32_t old_count, committed.lookup(*b));
      if (old_count == 0) return b;
      from = *b + 1;
    }
  }
  return std::optional<BlockNr>();
}

// ---- the overflow btree ----

Status LowLevel::overflow_insert(BlockNr b, std::uint32_t count) {
  PDSIM_MARK("sm.overflow_insert");
  auto info = overflow_info();
  const std::uint64_t key = b;
  auto v = pack_count(count);
  PDSIM_TRY_ASSIGN(auto r, btree::insert(info, ref_count_root_, std::span<const std::uint64_t>(&key, 1), v));
  ref_count_root_ = r.root;
  return {};
}

Status LowLevel::overflow_remove(BlockNr b) {
  PDSIM_MARK("sm.overflow_remove");
  auto info = overflow_info();
  const std::uint64_t key = b;
  PDSIM_TRY_ASSIGN(BlockNr root, btree::remove(info, ref_count_root_, std::span<const std::uint64_t>(&key, 1)));
  ref_count_root_ = root;
  return {};
}

Result<std::uint32_t> LowLevel::overflow_inc(BlockNr b) {
  auto info = overflow_info();
  PDSIM_TRY_ASSIGN(btree::LeafRef leaf, btree::shadow_to_leaf(info, ref_count_root_, b));
  ref_count_root_ = leaf.root;
  btree::NodeEdit node(leaf.leaf.data());
  std::uint8_t* p = node.value_ptr_mut(leaf.index);
  const std::uint32_t old = load_le<std::uint32_t>(p);
  const std::uint32_t now = old + 1;
  store_le<std::uint32_t>(p, now);
  return now;
}

Result<std::uint32_t> LowLevel::overflow_dec(BlockNr b) {
  auto info = overflow_info();
  PDSIM_TRY_ASSIGN(btree::LeafRef leaf, btree::shadow_to_leaf(info, ref_count_root_, b));
  ref_count_root_ = leaf.root;
  btree::NodeEdit node(leaf.leaf.data());
  if (leaf.index >= node.nr_entries() || node.key(leaf.index) != b)
    return Error::corruption(fmt::format("block {} has bitmap count 3 but the overflow btree is missing an entry", b));
  std::uint8_t* p = node.value_ptr_mut(leaf.index);
  const std::uint32_t old = load_le<std::uint32_t>(p);
  if (old != 3) {
    store_le<std::uint32_t>(p, old - 1);
    return old;
  }
  leaf.leaf.release();
  PDSIM_TRY(overflow_remove(b));
  return old;
}

// ---- count changes ----

Status LowLevel::mutate(BlockNr begin, BlockNr end, Op op) {
  if (begin > end || end > nr_blocks_)
    return Error::invalid(fmt::format("block range [{}, {}) is beyond the space map ({} blocks)", begin, end, nr_blocks_));
  while (begin < end) {
    const std::uint64_t index = begin / kEntriesPerBitmap;
    const BlockNr batch_end = std::min<BlockNr>(end, (index + 1) * kEntriesPerBitmap);
    if (begin == batch_end - 1 && batch_end % kEntriesPerBitmap == 0) PDSIM_MARK("sm.count_last_entry_of_bitmap");
    PDSIM_TRY(mutate_bitmap(index, begin, batch_end, op));
    begin = batch_end;
  }
  return {};
}

// One bitmap's batch. The bitmap is shadowed once; it is unlocked around every overflow-btree
// operation, because that may allocate and so re-enter the space map (which may need this very
// bitmap), and re-locked (it is already a shadow) for the next entry. The index entry is saved
// only when the whole batch succeeded, as the kernel does.
Status LowLevel::mutate_bitmap(std::uint64_t index, BlockNr begin, BlockNr end, Op op) {
  PDSIM_ASSERT(begin < end && begin / kEntriesPerBitmap == index && (end - 1) / kEntriesPerBitmap == index,
               "a bitmap batch must lie within its one bitmap");
  PDSIM_TRY_ASSIGN(IndexEntry ie, index_->load(index));
  PDSIM_TRY_ASSIGN(TransactionManager::Shadow sh, tm_->shadow_block(ie.blocknr, &bitmap_validator()));
  ie.blocknr = sh.block.location();
  std::optional<WriteRef> bm(std::move(sh.block));
  for (BlockNr b = begin; b < end; ++b) {
    const auto e = static_cast<std::uint32_t>(b % kEntriesPerBitmap);
    if (!bm) {
      PDSIM_TRY_ASSIGN(WriteRef again, tm_->block_manager().write_lock(ie.blocknr, &bitmap_validator()));
      bm.emplace(std::move(again));
    }
    std::uint8_t* data = bm->data().data();
    const std::uint32_t old = bitmap_get(data, e);
    if (op == Op::inc) {
      switch (old) {
        case 0:
          bitmap_set(data, e, 1);
          ++nr_allocated_;
          --ie.nr_free;
          if (ie.none_free_before == e) ++ie.none_free_before;
          break;
        case 1: bitmap_set(data, e, 2); break;
        case 2:
          bitmap_set(data, e, 3);  // written before the unlock and the overflow insert
          bm.reset();
          PDSIM_TRY(overflow_insert(b, 3));
          break;
        default:
          bm.reset();
          PDSIM_TRY(overflow_inc(b));
          break;
      }
    } else {
      switch (old) {
        case 0:
          if (!bug_on(Bug::g)) return Error::invalid(fmt::format("unable to decrement block {}: reference count would go below zero", b));
          // Seed bug (g): 0 - 1 in unsigned arithmetic, stored as any count above 2 is (bitmap 3
          // plus an overflow entry), and accounted as an allocation (0 -> non-zero).
          bitmap_set(data, e, 3);
          ++nr_allocated_;
          --ie.nr_free;
          if (ie.none_free_before == e) ++ie.none_free_before;
          bm.reset();
          PDSIM_TRY(overflow_insert(b, UINT32_MAX));
          break;
        case 1:
          bitmap_set(data, e, 0);
          --nr_allocated_;
          ++ie.nr_free;
          ie.none_free_before = std::min(ie.none_free_before, e);
          break;
        case 2: bitmap_set(data, e, 1); break;
        default: {
          bm.reset();
          PDSIM_TRY_ASSIGN(std::uint32_t count, overflow_dec(b));
          if (count == 3) {  // the overflow entry went first, then the bitmap says 2
            PDSIM_TRY_ASSIGN(WriteRef again, tm_->block_manager().write_lock(ie.blocknr, &bitmap_validator()));
            bm.emplace(std::move(again));
            bitmap_set(bm->data().data(), e, 2);
          }
          break;
        }
      }
    }
  }
  bm.reset();
  return index_->save(index, ie);
}

Status LowLevel::inc(BlockNr begin, BlockNr end) { return mutate(begin, end, Op::inc); }
Status LowLevel::dec(BlockNr begin, BlockNr end) { return mutate(begin, end, Op::dec); }

Status LowLevel::set_count(BlockNr b, std::uint32_t count) {
  PDSIM_TRY(check_block(b));
  const std::uint64_t index = b / kEntriesPerBitmap;
  const auto e = static_cast<std::uint32_t>(b % kEntriesPerBitmap);
  PDSIM_TRY_ASSIGN(IndexEntry ie, index_->load(index));
  PDSIM_TRY_ASSIGN(TransactionManager::Shadow sh, tm_->shadow_block(ie.blocknr, &bitmap_validator()));
  ie.blocknr = sh.block.location();
  std::uint8_t* data = sh.block.data().data();
  std::uint32_t old = bitmap_get(data, e);
  if (old == 3) {
    sh.block.release();
    PDSIM_TRY_ASSIGN(old, overflow_lookup(b));
    PDSIM_TRY_ASSIGN(WriteRef again, tm_->block_manager().write_lock(ie.blocknr, &bitmap_validator()));
    sh.block = std::move(again);
    data = sh.block.data().data();
  }
  if (count <= 2) {
    bitmap_set(data, e, count);
    sh.block.release();
    if (old > 2) PDSIM_TRY(overflow_remove(b));
  } else {
    bitmap_set(data, e, 3);
    sh.block.release();
    PDSIM_TRY(overflow_insert(b, count));
  }
  if (old == 0 && count != 0) {
    ++nr_allocated_;
    --ie.nr_free;
    if (ie.none_free_before == e) ++ie.none_free_before;
  } else if (old != 0 && count == 0) {
    --nr_allocated_;
    ++ie.nr_free;
    ie.none_free_before = std::min(ie.none_free_before, e);
  }
  return index_->save(index, ie);
}

Status LowLevel::extend(BlockNr extra) {
  PDSIM_MARK("sm.ll_extend");
  const BlockNr old_blocks = nr_blocks_;
  // Sizes that would wrap (nr_blocks near 2^64) are refused before any arithmetic on them: the
  // bitmap count below wrapped to a space map with no bitmaps.
  if (extra > std::numeric_limits<BlockNr>::max() - old_blocks - kEntriesPerBitmap)
    return Error::invalid(fmt::format("space map too large: {} + {} blocks", old_blocks, extra));
  const BlockNr new_blocks = old_blocks + extra;
  const std::uint64_t old_bitmaps = (old_blocks + kEntriesPerBitmap - 1) / kEntriesPerBitmap;
  const std::uint64_t new_bitmaps = (new_blocks + kEntriesPerBitmap - 1) / kEntriesPerBitmap;
  if (new_bitmaps > index_->max_bitmaps())
    return Error::invalid(fmt::format("space map too large: {} blocks need {} bitmaps, the index holds {}", new_blocks,
                                      new_bitmaps, index_->max_bitmaps()));
  // First, so an allocator confined to the new area can use it. Seed bug (e) raised it only after
  // the loop, so the metadata map's bootstrap allocator found no block for the first new bitmap.
  const bool late = bug_on(Bug::e);
  if (!late) nr_blocks_ = new_blocks;
  for (std::uint64_t i = old_bitmaps; i < new_bitmaps; ++i) {
    PDSIM_TRY_ASSIGN(WriteRef bm, tm_->new_block(&bitmap_validator()));
    IndexEntry ie{bm.location(), kEntriesPerBitmap, 0};
    bm.release();
    PDSIM_TRY(index_->save(i, ie));
  }
  if (late) [[unlikely]] nr_blocks_ = new_blocks;
  return {};
}

// ---- MetadataIndex ----

Result<std::unique_ptr<MetadataIndex>> MetadataIndex::create(TransactionManager& tm) {
  PDSIM_TRY_ASSIGN(WriteRef b, tm.new_block(&index_validator()));
  auto idx = std::make_unique<MetadataIndex>(tm, b.location());
  idx->changed_ = true;  // a new index block must be written at the first commit
  return idx;
}

Result<std::unique_ptr<MetadataIndex>> MetadataIndex::open(TransactionManager& tm, BlockNr root) {
  PDSIM_TRY_ASSIGN(ReadRef b, tm.read_lock(root, &index_validator()));
  auto idx = std::make_unique<MetadataIndex>(tm, root);
  std::copy(b.data().begin(), b.data().end(), idx->entries_.begin());
  return idx;
}

Result<IndexEntry> MetadataIndex::load(std::uint64_t index) {
  if (index >= kMetadataIndexMax)
    return Error::invalid(fmt::format("metadata space map: bitmap {} is beyond the index ({} entries)", index, kMetadataIndexMax));
  return IndexEntry::unpack(entries_.data() + kBitmapHeaderSize + kIndexEntrySize * index);
}

Status MetadataIndex::save(std::uint64_t index, const IndexEntry& ie) {
  if (index >= kMetadataIndexMax)
    return Error::invalid(fmt::format("metadata space map: bitmap {} is beyond the index ({} entries)", index, kMetadataIndexMax));
  ie.pack(entries_.data() + kBitmapHeaderSize + kIndexEntrySize * index);
  changed_ = true;
  return {};
}

Status MetadataIndex::commit() {
  if (!changed_) return {};
  // Shadowing may allocate and decrement through the space map, which may save index entries
  // again: copy the in-core block only after the shadow exists.
  PDSIM_TRY_ASSIGN(TransactionManager::Shadow sh, tm_->shadow_block(root_, &index_validator()));
  root_ = sh.block.location();
  std::copy(entries_.begin() + kBitmapHeaderSize, entries_.end(), sh.block.data().begin() + kBitmapHeaderSize);
  changed_ = false;
  return {};
}

// ---- DiskIndex ----

btree::Info DiskIndex::info() { return btree::Info{tm_, 1, btree::plain_value_type(kIndexEntrySize)}; }

Result<std::unique_ptr<DiskIndex>> DiskIndex::create(TransactionManager& tm) {
  btree::Info i{&tm, 1, btree::plain_value_type(kIndexEntrySize)};
  PDSIM_TRY_ASSIGN(BlockNr root, btree::create_empty(i));
  return std::make_unique<DiskIndex>(tm, root);
}

Status DiskIndex::write_back(Slot& s) {
  std::array<std::uint8_t, kIndexEntrySize> v{};
  s.entry.pack(v.data());
  auto i = info();
  PDSIM_TRY_ASSIGN(auto r, btree::insert(i, root_, std::span<const std::uint64_t>(&s.index, 1), v));
  root_ = r.root;
  s.dirty = false;
  return {};
}

Result<IndexEntry> DiskIndex::load(std::uint64_t index) {
  Slot& s = slots_[slot_of(index)];
  if (s.valid && s.index == index) return s.entry;
  if (s.valid && s.dirty) PDSIM_TRY(write_back(s));
  auto i = info();
  PDSIM_TRY_ASSIGN(auto v, btree::lookup(i, root_, std::span<const std::uint64_t>(&index, 1)));
  if (!v) return Error::corruption(fmt::format("disk space map: index entry for bitmap {} is missing", index));
  s = Slot{true, false, index, IndexEntry::unpack(v->data())};
  return s.entry;
}

Status DiskIndex::save(std::uint64_t index, const IndexEntry& ie) {
  Slot& s = slots_[slot_of(index)];
  if (s.valid && s.index != index && s.dirty) PDSIM_TRY(write_back(s));
  s = Slot{true, true, index, ie};
  changed_ = true;
  return {};
}

Status DiskIndex::commit() {
  // Slot order fixes the order of the btree inserts and so of the metadata allocations. Unlike
  // the kernel (which returns only the last write-back's status), the first error is returned.
  for (Slot& s : slots_)
    if (s.valid && s.dirty) PDSIM_TRY(write_back(s));
  changed_ = false;
  return {};
}

}  // namespace pdsim::sm
