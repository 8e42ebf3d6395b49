// SPDX-License-Identifier: GPL-2.0-or-later
#include "fuzz/image_mutator.h"

#include <algorithm>
#include <array>
#include <optional>
#include <vector>

#include "core/array/array.h"
#include "core/block/checksum.h"
#include "core/btree/node.h"
#include "core/cache/cache_format.h"
#include "core/common/endian.h"
#include "core/pack/block_kind.h"
#include "core/sm/sm_format.h"
#include "core/thin/thin_format.h"
#include "fuzz/sparse_image.h"
#include "sim/rng.h"

namespace pdsim::fuzz {
namespace {

using Block = std::array<std::uint8_t, kBlockSize>;

struct Field {
  std::size_t offset;
  std::size_t width;  // 4 or 8
};

// A space-map root (32 bytes in a 128-byte field): nr_blocks, nr_allocated, bitmap_root,
// ref_count_root.
void add_sm_root(std::vector<Field>& f, std::size_t at) {
  for (std::size_t i = 0; i < 4; ++i) f.push_back({at + 8 * i, 8});
}

std::vector<Field> thin_superblock_fields() {
  namespace sb = thin::sb;
  std::vector<Field> f = {{sb::flags, 4},          {sb::blocknr, 8},           {sb::magic, 8},
                          {sb::version, 4},        {sb::time, 4},              {sb::trans_id, 8},
                          {sb::held_root, 8},      {sb::data_mapping_root, 8}, {sb::device_details_root, 8},
                          {sb::data_block_size, 4}, {sb::metadata_block_size, 4}, {sb::metadata_nr_blocks, 8},
                          {sb::compat_flags, 4},   {sb::compat_ro_flags, 4},   {sb::incompat_flags, 4}};
  add_sm_root(f, sb::data_sm_root);
  add_sm_root(f, sb::metadata_sm_root);
  return f;
}

std::vector<Field> cache_superblock_fields() {
  namespace sb = cache::sb;
  std::vector<Field> f = {{sb::flags, 4},           {sb::blocknr, 8},          {sb::magic, 8},
                          {sb::version, 4},         {sb::policy_name, 4},      {sb::policy_name + 12, 4},
                          {sb::policy_hint_size, 4}, {sb::mapping_root, 8},     {sb::hint_root, 8},
                          {sb::discard_root, 8},    {sb::discard_block_size, 8}, {sb::discard_nr_blocks, 8},
                          {sb::data_block_size, 4}, {sb::metadata_block_size, 4}, {sb::cache_blocks, 4},
                          {sb::compat_flags, 4},    {sb::compat_ro_flags, 4},  {sb::incompat_flags, 4},
                          {sb::policy_version, 4},  {sb::dirty_root, 8}};
  add_sm_root(f, sb::metadata_sm_root);
  return f;
}

class Mutator {
 public:
  Mutator(sim::Image& image, unsigned seed) : image_(image), rng_(seed) {}

  // One edit; false when the image holds no block a mutation applies to.
  bool mutate() {
    std::vector<std::pair<BlockNr, pack::BlockKind>> blocks;
    Block b{};
    for (BlockNr n = 0; n < image_.nr_blocks(); ++n) {
      if (!image_.get(n)) continue;
      image_.read(n, b);
      if (auto kind = pack::classify_block(b)) blocks.emplace_back(n, *kind);
    }
    if (blocks.empty()) return false;
    const auto [at, kind] = blocks[rng_.below(blocks.size())];
    image_.read(at, b);
    if (rng_.below(16) == 0) return copy_block(b, at, kind);
    switch (kind) {
      case pack::BlockKind::btree_node: edit_node(b); break;
      case pack::BlockKind::sm_bitmap: edit_bitmap(b); break;
      case pack::BlockKind::sm_index: edit_index(b); break;
      case pack::BlockKind::array_block: edit_array(b); break;
      case pack::BlockKind::thin_superblock: edit_field(b, pick(thin_superblock_fields())); break;
      case pack::BlockKind::cache_superblock: edit_field(b, pick(cache_superblock_fields())); break;
      case pack::BlockKind::era_superblock: edit_field(b, {8, 8}); break;
    }
    stamp_checksum(b, pack::salt_of(kind));
    image_.write(at, b);
    return true;
  }

 private:
  Field pick(const std::vector<Field>& fields) { return fields[rng_.below(fields.size())]; }

  // A value for a field that held `old`: mostly boundaries, sometimes anything.
  std::uint64_t value(std::uint64_t old, std::size_t width) {
    const std::uint64_t n = image_.nr_blocks();
    const std::uint64_t max = width == 4 ? 0xffffffffu : ~std::uint64_t{0};
    const std::array<std::uint64_t, 14> choices = {0,     1,     2,    old - 1, old + 1, old * 2,  old / 2,
                                                   n - 1, n,     n + 1, max,     max - 1, std::uint64_t{1} << 31,
                                                   rng_.below(n)};
    std::uint64_t v = rng_.below(8) == 0 ? rng_.next() : choices[rng_.below(choices.size())];
    if (width == 8 && rng_.below(8) == 0) v = std::uint64_t{1} << (32 + rng_.below(32));
    return v & max;
  }

  void edit_field(Block& b, Field f) {
    if (f.width == 4) {
      store_le<std::uint32_t>(b.data() + f.offset,
                              static_cast<std::uint32_t>(value(load_le<std::uint32_t>(b.data() + f.offset), 4)));
    } else {
      store_le<std::uint64_t>(b.data() + f.offset, value(load_le<std::uint64_t>(b.data() + f.offset), 8));
    }
  }

  void edit_node(Block& b) {
    namespace off = btree::off;
    const std::uint32_t nr = load_le<std::uint32_t>(b.data() + off::nr_entries);
    const std::uint32_t max = load_le<std::uint32_t>(b.data() + off::max_entries);
    const std::uint32_t vsize = load_le<std::uint32_t>(b.data() + off::value_size);
    const bool sane = max > 0 && vsize > 0 && vsize <= btree::kMaxValueSize &&
                      btree::kNodeHeaderSize + std::size_t{max} * (8 + vsize) <= kBlockSize && nr <= max;
    const std::uint64_t what = rng_.below(10);
    if (!sane || what < 2) {
      const std::array<Field, 5> header = {{{off::flags, 4}, {off::nr_entries, 4}, {off::max_entries, 4},
                                            {off::value_size, 4}, {off::blocknr, 8}}};
      return edit_field(b, header[rng_.below(header.size())]);
    }
    if (nr == 0) return edit_field(b, {off::nr_entries, 4});
    const std::size_t i = rng_.below(nr);
    const std::size_t key = btree::kNodeHeaderSize + 8 * i;
    const std::size_t val = btree::kNodeHeaderSize + 8 * std::size_t{max} + std::size_t{vsize} * i;
    if (what < 5) return edit_field(b, {key, 8});
    if (what == 5 && nr > 1) {  // two keys swapped: out of order
      const std::size_t j = btree::kNodeHeaderSize + 8 * rng_.below(nr);
      std::swap_ranges(b.begin() + static_cast<std::ptrdiff_t>(key), b.begin() + static_cast<std::ptrdiff_t>(key + 8),
                       b.begin() + static_cast<std::ptrdiff_t>(j));
      return;
    }
    // A value: its first u64 (a child, a data block and time, a subtree root, a device's
    // mapped count), or a u32 inside it (a details time field).
    if (vsize >= 8 && rng_.below(4) != 0) return edit_field(b, {val, 8});
    edit_field(b, {val + 4 * rng_.below(vsize / 4 == 0 ? 1 : vsize / 4), 4});
  }

  void edit_bitmap(Block& b) {
    const std::size_t entries = (kBlockSize - sm::kBitmapHeaderSize) * 4;
    const std::size_t e = rng_.below(entries);
    std::uint8_t& byte = b[sm::kBitmapHeaderSize + e / 4];
    const unsigned shift = static_cast<unsigned>((e % 4) * 2);
    byte = static_cast<std::uint8_t>((byte & ~(3u << shift)) | (rng_.below(4) << shift));
  }

  void edit_index(Block& b) {
    // Index entries after a 16-byte header: block (u64), nr_free (u32), none_free_before (u32).
    const std::size_t entries = (kBlockSize - 16) / sm::kIndexEntrySize;
    // Mostly the first few: a small pool uses only them.
    const std::size_t e = rng_.below(4) != 0 ? rng_.below(4) : rng_.below(entries);
    const std::size_t at = 16 + e * sm::kIndexEntrySize;
    const std::array<Field, 3> fields = {{{at, 8}, {at + 8, 4}, {at + 12, 4}}};
    edit_field(b, fields[rng_.below(fields.size())]);
  }

  void edit_array(Block& b) {
    namespace off = array::off;
    const std::uint32_t nr = load_le<std::uint32_t>(b.data() + off::nr_entries);
    const std::uint32_t vsize = load_le<std::uint32_t>(b.data() + off::value_size);
    if (rng_.below(3) == 0 || nr == 0 || vsize == 0 || array::kArrayHeaderSize + std::size_t{nr} * vsize > kBlockSize) {
      const std::array<Field, 4> header = {{{off::max_entries, 4}, {off::nr_entries, 4}, {off::value_size, 4},
                                            {off::blocknr, 8}}};
      return edit_field(b, header[rng_.below(header.size())]);
    }
    const std::size_t at = array::kArrayHeaderSize + std::size_t{vsize} * rng_.below(nr);
    edit_field(b, {at, vsize >= 8 ? std::size_t{8} : std::size_t{4}});
  }

  // The block copied over another location: a shared or misplaced block. Half the time its
  // block-number field is made to say the new place, so it gets past that check too.
  bool copy_block(Block& b, BlockNr from, pack::BlockKind kind) {
    const BlockNr to = rng_.below(image_.nr_blocks());
    if (to == from) return true;
    if (rng_.below(2) == 0) {
      const std::size_t field = kind == pack::BlockKind::array_block ? array::off::blocknr : std::size_t{8};
      store_le<std::uint64_t>(b.data() + field, to);
      stamp_checksum(b, pack::salt_of(kind));
    }
    image_.write(to, b);
    return true;
  }

  sim::Image& image_;
  sim::Rng rng_;
};

}  // namespace

std::size_t mutate_image(std::uint8_t* data, std::size_t size, std::size_t max_size, unsigned seed) {
  sim::Image image = decode_image({data, size});
  Mutator m(image, seed);
  // One to three edits: a single field is often caught at once; a few together get further.
  const unsigned edits = 1 + seed % 3;
  for (unsigned i = 0; i < edits; ++i)
    if (!m.mutate()) return size;
  const std::vector<std::uint8_t> out = encode_image(image);
  if (out.size() > max_size) return size;
  std::copy(out.begin(), out.end(), data);
  return out.size();
}

}  // namespace pdsim::fuzz
