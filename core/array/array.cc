// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/common/marks.h"
#include "core/array/array.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "core/block/checksum.h"
#include "core/common/assert.h"
#include "core/common/seed_bugs.h"
#include "core/common/endian.h"

namespace pdsim::array {
namespace {

class ArrayBlockValidator final : public HeaderValidator {
 public:
  ArrayBlockValidator() : HeaderValidator("array block", salt::array_block, off::blocknr) {}
  [[nodiscard]] Status check(ConstBlockSpan data, BlockNr b) const override {
    PDSIM_TRY(HeaderValidator::check(data, b));
    const auto value_size = load_le<std::uint32_t>(data.data() + off::value_size);
    const auto max = load_le<std::uint32_t>(data.data() + off::max_entries);
    const auto nr = load_le<std::uint32_t>(data.data() + off::nr_entries);
    if (value_size == 0) return Error::corruption(fmt::format("array block {}: value_size is 0", b));
    if (max != entries_per_block(value_size))
      return Error::corruption(fmt::format("array block {}: max_entries {} is not {} for value_size {}", b, max,
                                           entries_per_block(value_size), value_size));
    if (nr > max) return Error::corruption(fmt::format("array block {}: nr_entries {} exceeds max_entries {}", b, nr, max));
    return {};
  }
};

// A view of an array block's header and values.
struct ABlock {
  std::uint8_t* d;
  [[nodiscard]] std::uint32_t max() const { return load_le<std::uint32_t>(d + off::max_entries); }
  [[nodiscard]] std::uint32_t nr() const { return load_le<std::uint32_t>(d + off::nr_entries); }
  [[nodiscard]] std::uint32_t value_size() const { return load_le<std::uint32_t>(d + off::value_size); }
  void set_nr(std::uint32_t n) { store_le<std::uint32_t>(d + off::nr_entries, n); }
  [[nodiscard]] std::uint8_t* value(std::uint32_t i) { return d + kArrayHeaderSize + static_cast<std::size_t>(value_size()) * i; }
};

std::uint32_t elem_size(const Info& info) { return info.element.size; }
std::uint32_t per_block(const Info& info) { return entries_per_block(elem_size(info)); }

Status inc_elements(const Info& info, const std::uint8_t* p, std::size_t n) {
  if (!info.element.inc || n == 0) return {};
  return info.element.inc(ValueSpan(p, n * elem_size(info)), n);
}
Status dec_elements(const Info& info, const std::uint8_t* p, std::size_t n) {
  if (!info.element.dec || n == 0) return {};
  return info.element.dec(ValueSpan(p, n * elem_size(info)), n);
}

// Appends copies of `fill` to a block up to `new_nr` entries, taking one reference per element.
Status fill_to(const Info& info, ABlock blk, std::uint32_t new_nr, ValueSpan fill) {
  PDSIM_ASSERT(new_nr <= blk.max(), "array block filled past its capacity");
  PDSIM_ASSERT(fill.size() == elem_size(info), "array fill value of the wrong size");
  for (std::uint32_t i = blk.nr(); i < new_nr; ++i) {
    std::memcpy(blk.value(i), fill.data(), fill.size());
    PDSIM_TRY(inc_elements(info, fill.data(), 1));
  }
  blk.set_nr(new_nr);
  return {};
}

Result<std::optional<BlockNr>> lookup_block(Info& info, BlockNr root, std::uint64_t block_index) {
  PDSIM_TRY_ASSIGN(auto v, btree::lookup(info.btree, root, std::span<const std::uint64_t>(&block_index, 1)));
  if (!v) return std::optional<BlockNr>();
  return std::optional<BlockNr>(load_le<std::uint64_t>(v->data()));
}

Status insert_block(Info& info, BlockNr& root, std::uint64_t block_index, BlockNr b) {
  std::array<std::uint8_t, 8> v{};
  store_le<std::uint64_t>(v.data(), b);
  PDSIM_TRY_ASSIGN(auto r, btree::insert(info.btree, root, std::span<const std::uint64_t>(&block_index, 1), v));
  root = r.root;
  return {};
}

// Allocates a new array block holding `nr` copies of `fill`, and inserts it at block_index.
Status new_block(Info& info, BlockNr& root, std::uint64_t block_index, std::uint32_t nr, ValueSpan fill) {
  PDSIM_TRY_ASSIGN(WriteRef w, info.tm->new_block(&array_block_validator()));
  ABlock blk{w.data().data()};
  store_le<std::uint32_t>(blk.d + off::max_entries, per_block(info));
  store_le<std::uint32_t>(blk.d + off::value_size, elem_size(info));
  PDSIM_TRY(fill_to(info, blk, nr, fill));
  const BlockNr b = w.location();
  PDSIM_TRY(insert_block(info, root, block_index, b));
  return {};
}

// Shadows array block `block_index` and re-points the btree at the copy (§6.3).
Result<WriteRef> shadow_block(Info& info, BlockNr& root, std::uint64_t block_index) {
  PDSIM_TRY_ASSIGN(std::optional<BlockNr> b, lookup_block(info, root, block_index));
  if (!b) return Error::no_data(fmt::format("array block index {} is not present", block_index));
  PDSIM_TRY_ASSIGN(TransactionManager::Shadow sh, info.tm->shadow_block(*b, &array_block_validator()));
  ABlock blk{sh.block.data().data()};
  if (sh.inc_children) PDSIM_TRY(inc_elements(info, blk.value(0), blk.nr()));
  if (sh.block.location() != *b) {
    // The shadow already dropped the btree's reference to *b, and the insert below will drop it
    // again (the pointer type's dec on overwrite): take one back first, so the net is -1 once.
    // Seed bug (i) skipped this increment.
    if (!bug_on(Bug::i)) PDSIM_TRY(info.tm->inc(*b));
    PDSIM_TRY(insert_block(info, root, block_index, sh.block.location()));
  }
  return std::move(sh.block);
}

Status remove_block(Info& info, BlockNr& root, std::uint64_t block_index) {
  PDSIM_TRY_ASSIGN(BlockNr r, btree::remove(info.btree, root, std::span<const std::uint64_t>(&block_index, 1)));
  root = r;
  return {};
}

}  // namespace

const Validator& array_block_validator() {
  static const ArrayBlockValidator v;
  return v;
}

Info make_info(TransactionManager& tm, btree::ValueType element) {
  Info info;
  info.tm = &tm;
  info.element = element;
  btree::ValueType ptr;
  ptr.size = 8;
  TransactionManager* t = &tm;
  ptr.inc = [t](ValueSpan values, std::size_t n) -> Status {
    for (std::size_t i = 0; i < n; ++i) PDSIM_TRY(t->inc(load_le<std::uint64_t>(values.data() + 8 * i)));
    return {};
  };
  ptr.dec = [t, element](ValueSpan values, std::size_t n) -> Status {
    for (std::size_t i = 0; i < n; ++i) {
      const BlockNr b = load_le<std::uint64_t>(values.data() + 8 * i);
      PDSIM_TRY_ASSIGN(std::uint32_t count, t->ref(b));
      if (count == 1 && element.dec) {
        // The last reference: the block's elements lose their holder.
        PDSIM_TRY_ASSIGN(ReadRef r, t->read_lock(b, &array_block_validator()));
        const auto nr = load_le<std::uint32_t>(r.data().data() + off::nr_entries);
        PDSIM_TRY(element.dec(ValueSpan(r.data().data() + kArrayHeaderSize, static_cast<std::size_t>(nr) * element.size), nr));
      }
      PDSIM_TRY(t->dec(b));
    }
    return {};
  };
  ptr.equal = [](ValueSpan a, ValueSpan b) { return std::equal(a.begin(), a.end(), b.begin(), b.end()); };
  info.btree = btree::Info{&tm, 1, ptr};
  return info;
}

Result<BlockNr> create_empty(Info& info) { return btree::create_empty(info.btree); }

Status resize(Info& info, BlockNr& root, std::uint32_t old_size, std::uint32_t new_size, ValueSpan fill) {
  PDSIM_MARK("array.resize");
  if (fill.size() != elem_size(info))
    return Error::invalid(fmt::format("array resize: default value of {} bytes for {}-byte elements", fill.size(), elem_size(info)));
  if (old_size == new_size) return {};
  const std::uint32_t max = per_block(info);
  const std::uint32_t f_old = old_size / max, t_old = old_size % max;
  const std::uint32_t f_new = new_size / max, t_new = new_size % max;

  if (new_size > old_size) {
    if (f_new > f_old) {
      std::uint32_t next = f_old;
      if (t_old > 0) {
        PDSIM_MARK("array.grow_fills_partial_tail");
        PDSIM_TRY_ASSIGN(WriteRef w, shadow_block(info, root, f_old));
        PDSIM_TRY(fill_to(info, ABlock{w.data().data()}, max, fill));
        next = f_old + 1;  // the old tail is now full: full blocks exist up to f_old inclusive
        // Seed bug (j): the new full blocks started at the tail's own index, replacing it.
        if (bug_on(Bug::j)) [[unlikely]] next = f_old;
      }
      for (std::uint32_t i = next; i < f_new; ++i) PDSIM_TRY(new_block(info, root, i, max, fill));
      if (t_new > 0) PDSIM_TRY(new_block(info, root, f_new, t_new, fill));
    } else if (t_old > 0) {
      PDSIM_MARK("array.grow_within_tail");
      PDSIM_TRY_ASSIGN(WriteRef w, shadow_block(info, root, f_old));
      PDSIM_TRY(fill_to(info, ABlock{w.data().data()}, t_new, fill));
    } else {
      PDSIM_TRY(new_block(info, root, f_new, t_new, fill));
    }
    return {};
  }

  // Shrink: drop every block past the new length, then trim the new tail.
  const std::uint32_t blocks_new = f_new + (t_new > 0 ? 1 : 0);
  const std::uint32_t blocks_old = f_old + (t_old > 0 ? 1 : 0);
  if (blocks_new < blocks_old) PDSIM_MARK("array.shrink_drops_blocks");
  for (std::uint32_t i = blocks_new; i < blocks_old; ++i) PDSIM_TRY(remove_block(info, root, i));
  if (t_new > 0) {
    PDSIM_TRY_ASSIGN(WriteRef w, shadow_block(info, root, f_new));
    ABlock blk{w.data().data()};
    const std::uint32_t had = blk.nr();
    if (had > t_new) {
      PDSIM_MARK("array.shrink_trims_partial_tail");
      PDSIM_TRY(dec_elements(info, blk.value(t_new), had - t_new));
    }
    blk.set_nr(std::min(had, t_new));
  }
  return {};
}

Result<std::optional<Value>> get(Info& info, BlockNr root, std::uint32_t index) {
  const std::uint32_t max = per_block(info);
  PDSIM_TRY_ASSIGN(std::optional<BlockNr> b, lookup_block(info, root, index / max));
  if (!b) return std::optional<Value>();
  PDSIM_TRY_ASSIGN(ReadRef r, info.tm->read_lock(*b, &array_block_validator()));
  ABlock blk{const_cast<std::uint8_t*>(r.data().data())};
  if (blk.value_size() != elem_size(info))
    return Error::corruption(fmt::format("array block {}: value_size {} but the array holds {}-byte values", *b, blk.value_size(), elem_size(info)));
  if (index % max >= blk.nr()) return std::optional<Value>();
  const std::uint8_t* p = blk.value(index % max);
  return std::optional<Value>(Value(p, p + elem_size(info)));
}

Status set(Info& info, BlockNr& root, std::uint32_t index, ValueSpan value) {
  if (value.size() != elem_size(info))
    return Error::invalid(fmt::format("array set: value of {} bytes for {}-byte elements", value.size(), elem_size(info)));
  const std::uint32_t max = per_block(info);
  PDSIM_TRY_ASSIGN(WriteRef w, shadow_block(info, root, index / max));
  ABlock blk{w.data().data()};
  if (index % max >= blk.nr()) return Error::no_data(fmt::format("array index {} is beyond the array", index));
  std::uint8_t* p = blk.value(index % max);
  // With no equal(), every set counts as a change (the kernel's rule).
  const bool same = info.element.equal && info.element.equal(ValueSpan(p, value.size()), value);
  if (info.element.dec && !same) {
    PDSIM_TRY(dec_elements(info, p, 1));
    PDSIM_TRY(inc_elements(info, value.data(), 1));
  }
  std::memcpy(p, value.data(), value.size());
  return {};
}

Result<BlockNr> create_from(Info& info, std::uint32_t size, const std::function<Result<Value>(std::uint32_t)>& fn) {
  PDSIM_TRY_ASSIGN(BlockNr root, create_empty(info));
  const std::uint32_t max = per_block(info);
  for (std::uint32_t block_index = 0; static_cast<std::uint64_t>(block_index) * max < size; ++block_index) {
    const std::uint32_t first = block_index * max;
    const std::uint32_t n = std::min(max, size - first);
    PDSIM_TRY_ASSIGN(WriteRef w, info.tm->new_block(&array_block_validator()));
    ABlock blk{w.data().data()};
    store_le<std::uint32_t>(blk.d + off::max_entries, max);
    store_le<std::uint32_t>(blk.d + off::value_size, elem_size(info));
    for (std::uint32_t i = 0; i < n; ++i) {
      PDSIM_TRY_ASSIGN(Value v, fn(first + i));
      if (v.size() != elem_size(info)) return Error::invalid("array create_from: element of the wrong size");
      std::memcpy(blk.value(i), v.data(), v.size());
      PDSIM_TRY(inc_elements(info, v.data(), 1));
    }
    blk.set_nr(n);
    PDSIM_TRY(insert_block(info, root, block_index, w.location()));
  }
  return root;
}

Status walk(Info& info, BlockNr root, const std::function<Result<bool>(std::uint32_t, ValueSpan)>& fn) {
  const std::uint32_t max = per_block(info);
  return btree::walk(info.btree, root, [&](std::uint64_t key, ValueSpan v) -> Result<bool> {
    const BlockNr b = load_le<std::uint64_t>(v.data());
    PDSIM_TRY_ASSIGN(ReadRef r, info.tm->read_lock(b, &array_block_validator()));
    ABlock blk{const_cast<std::uint8_t*>(r.data().data())};
    for (std::uint32_t i = 0; i < blk.nr(); ++i) {
      PDSIM_TRY_ASSIGN(bool more, fn(static_cast<std::uint32_t>(key) * max + i, ValueSpan(blk.value(i), elem_size(info))));
      if (!more) return false;
    }
    return true;
  });
}

Status del(Info& info, BlockNr root) { return btree::del(info.btree, root); }

}  // namespace pdsim::array
