// SPDX-License-Identifier: GPL-2.0-or-later
// Test-only: lays out persistent-data metadata by hand, byte by byte from ondisk-format.md, so
// the checker can be tested before (and independently of) the engine. Every block is stamped
// (blocknr + checksum with its type's salt) when image() is called, so a test can change a
// block's contents "validly" through the builder, or damage the stamped Image afterwards.
#pragma once

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "core/block/checksum.h"
#include "core/check/check.h"
#include "core/common/endian.h"
#include "sim/image.h"

namespace pdsim::testing {

enum class BlockType { raw, btree, sm_index, bitmap, array, thin_superblock };

class ImageBuilder {
 public:
  explicit ImageBuilder(BlockNr nr_blocks) : nr_blocks_(nr_blocks) {}

  // The block's bytes (zeroed on first use); stamped as `type` by image().
  Block& block(BlockNr b, BlockType type) {
    auto& slot = blocks_[b];
    slot.first = type;
    return slot.second;
  }
  Block& at(BlockNr b) { return blocks_.at(b).second; }
  void erase(BlockNr b) { blocks_.erase(b); }

  // A btree node; values are value_size bytes each.
  void node(BlockNr b, bool leaf, std::uint32_t value_size, const std::vector<std::uint64_t>& keys,
            const std::vector<std::vector<std::uint8_t>>& values) {
    Block& blk = block(b, BlockType::btree);
    blk.fill(0);
    const auto max = static_cast<std::uint32_t>(3 * (((kBlockSize - 32) / (8 + value_size)) / 3));
    store_le<std::uint32_t>(blk.data() + 4, leaf ? 2u : 1u);
    store_le<std::uint32_t>(blk.data() + 16, static_cast<std::uint32_t>(keys.size()));
    store_le<std::uint32_t>(blk.data() + 20, max);
    store_le<std::uint32_t>(blk.data() + 24, value_size);
    for (std::size_t i = 0; i < keys.size(); ++i) {
      store_le<std::uint64_t>(blk.data() + 32 + 8 * i, keys[i]);
      std::copy(values[i].begin(), values[i].end(), blk.data() + 32 + 8 * max + value_size * i);
    }
  }
  void node64(BlockNr b, bool leaf, const std::vector<std::pair<std::uint64_t, std::uint64_t>>& kv) {
    std::vector<std::uint64_t> keys;
    std::vector<std::vector<std::uint8_t>> values;
    for (const auto& [k, v] : kv) {
      keys.push_back(k);
      values.push_back(le64(v));
    }
    node(b, leaf, 8, keys, values);
  }
  void array_block(BlockNr b, std::uint32_t value_size, std::uint32_t nr_entries) {
    Block& blk = block(b, BlockType::array);
    blk.fill(0);
    store_le<std::uint32_t>(blk.data() + 4, static_cast<std::uint32_t>((kBlockSize - 24) / value_size));
    store_le<std::uint32_t>(blk.data() + 8, nr_entries);
    store_le<std::uint32_t>(blk.data() + 12, value_size);
  }

  static std::vector<std::uint8_t> le64(std::uint64_t v) {
    std::vector<std::uint8_t> out(8);
    store_le<std::uint64_t>(out.data(), v);
    return out;
  }
  static void set_bitmap(Block& blk, std::uint64_t e, unsigned v) {
    std::uint8_t& byte = blk[16 + e / 4];
    const unsigned shift = static_cast<unsigned>(2 * (e % 4));
    byte = static_cast<std::uint8_t>(byte & ~(3u << shift));
    // bit 2*(e%4) is the HIGH bit of the 2-bit value (ondisk-format.md §5.3).
    byte = static_cast<std::uint8_t>(byte | (((v >> 1) & 1u) << shift) | ((v & 1u) << (shift + 1)));
  }

  struct SpaceMapLayout {
    std::uint64_t nr_blocks = 0;
    std::map<BlockNr, std::uint32_t> counts;  // non-zero counts
    BlockNr index = 0;                        // index block (metadata) / index btree leaf (disk)
    BlockNr overflow_root = 0;
    std::vector<BlockNr> bitmap_blocks;
    bool tools_nr_free = false;  // nr_free of a partial last bitmap counted below nr_blocks only
  };
  // Writes bitmaps, overflow leaf and index; returns the 32-byte root. metadata: index block;
  // otherwise a one-leaf index btree.
  check::SpaceMapRoot space_map(const SpaceMapLayout& sm, bool metadata) {
    constexpr std::uint64_t per = check::kEntriesPerBitmap;
    std::vector<std::uint64_t> okeys;
    std::vector<std::vector<std::uint8_t>> ovalues;
    std::vector<std::uint8_t> entries;  // 16 bytes each
    std::uint64_t allocated = 0;
    for (std::size_t i = 0; i < sm.bitmap_blocks.size(); ++i) {
      Block& bm = block(sm.bitmap_blocks[i], BlockType::bitmap);
      bm.fill(0);
      const std::uint64_t first = i * per;
      const std::uint64_t here = std::min(per, sm.nr_blocks - first);
      std::uint32_t used = 0;
      std::uint32_t nfb = static_cast<std::uint32_t>(per);
      for (std::uint64_t e = 0; e < per; ++e) {
        auto it = sm.counts.find(first + e);
        const std::uint32_t c = it == sm.counts.end() ? 0 : it->second;
        if (c == 0) {
          if (nfb == per) nfb = static_cast<std::uint32_t>(e);
          continue;
        }
        ++used;
        set_bitmap(bm, e, c >= 3 ? 3 : c);
        if (c >= 3) {
          okeys.push_back(first + e);
          std::vector<std::uint8_t> v(4);
          store_le<std::uint32_t>(v.data(), c);
          ovalues.push_back(v);
        }
      }
      allocated += used;
      const std::uint64_t free = (sm.tools_nr_free ? here : per) - used;
      std::vector<std::uint8_t> e(16);
      store_le<std::uint64_t>(e.data(), sm.bitmap_blocks[i]);
      store_le<std::uint32_t>(e.data() + 8, static_cast<std::uint32_t>(free));
      store_le<std::uint32_t>(e.data() + 12, nfb);
      entries.insert(entries.end(), e.begin(), e.end());
    }
    node(sm.overflow_root, true, 4, okeys, ovalues);
    if (metadata) {
      Block& ib = block(sm.index, BlockType::sm_index);
      ib.fill(0);
      std::copy(entries.begin(), entries.end(), ib.data() + 16);
    } else {
      std::vector<std::uint64_t> keys;
      std::vector<std::vector<std::uint8_t>> values;
      for (std::size_t i = 0; i < sm.bitmap_blocks.size(); ++i) {
        keys.push_back(i);
        values.emplace_back(entries.begin() + static_cast<std::ptrdiff_t>(16 * i),
                            entries.begin() + static_cast<std::ptrdiff_t>(16 * i + 16));
      }
      node(sm.index, true, 16, keys, values);
    }
    return {sm.nr_blocks, allocated, sm.index, sm.overflow_root};
  }

  // Stamps every block (blocknr at its type's offset, then the checksum) into a fresh Image.
  [[nodiscard]] sim::Image image() const {
    sim::Image img(nr_blocks_);
    for (const auto& [b, slot] : blocks_) {
      Block blk = slot.second;
      switch (slot.first) {
        case BlockType::raw: break;
        case BlockType::btree:
          store_le<std::uint64_t>(blk.data() + 8, b);
          stamp_checksum(BlockSpan(blk), salt::btree_node);
          break;
        case BlockType::sm_index:
          store_le<std::uint64_t>(blk.data() + 8, b);
          stamp_checksum(BlockSpan(blk), salt::sm_index);
          break;
        case BlockType::bitmap:
          store_le<std::uint64_t>(blk.data() + 8, b);
          stamp_checksum(BlockSpan(blk), salt::sm_bitmap);
          break;
        case BlockType::thin_superblock:
          store_le<std::uint64_t>(blk.data() + 8, b);
          stamp_checksum(BlockSpan(blk), salt::thin_superblock);
          break;
        case BlockType::array:
          store_le<std::uint64_t>(blk.data() + 16, b);
          stamp_checksum(BlockSpan(blk), salt::array_block);
          break;
      }
      img.write(b, ConstBlockSpan(blk));
    }
    return img;
  }

 private:
  BlockNr nr_blocks_;
  std::map<BlockNr, std::pair<BlockType, Block>> blocks_;
};

// Fixed block numbers of the standard image (see make_standard()).
namespace std_img {
inline constexpr BlockNr kSuper = 0, kMetaIndex = 1, kMetaOverflow = 2, kMetaBitmap = 3, kDataIndex = 4,
                         kDataOverflow = 5, kDataBitmap0 = 6, kSingleRoot = 7, kSingleLeafA = 8,
                         kSingleLeafB = 9, kTop = 10, kSubShared = 11, kSubOther = 12, kLeafLow = 13,
                         kLeafShared = 14, kLeafHigh = 15, kArrayRoot = 16, kArrayBlock0 = 17,
                         kArrayBlock1 = 18, kDataBitmap1 = 19, kFirstFree = 20;
inline constexpr BlockNr kMetaBlocks = 64;
inline constexpr BlockNr kDataBlocks = 20000;  // two data bitmaps, the second partial
}  // namespace std_img

// A valid image exercising every structure:
//  * metadata sm: index 1, overflow leaf 2, bitmap 3 (kernel nr_free convention);
//  * disk sm: index btree leaf 4, overflow leaf 5, bitmaps 6 and 19 (tools nr_free convention);
//  * "single": 1-level tree, internal root 7 over leaves 8 (keys 0..99) and 9 (100..199);
//  * "mapping": 2-level thin-like tree, top leaf 10: devs 1, 2, 4 -> subtree 11 (count 3, so a
//    metadata overflow entry), dev 3 -> subtree 12. 11 = internal over leaves 13 (keys 0..99 ->
//    data 0..99) and 14 (100..199 -> data 0..99); 12 = internal over 14 (shared leaf) and 15
//    (200..299 -> data 0..9 then 16310..16399, across the data bitmap boundary).
//    Data counts: 0..9 -> 3 (overflow), 10..99 -> 2, 16310..16399 -> 1.
//  * "array": dm-array of 8-byte values, root leaf 16 -> blocks 17 (full, 509) and 18 (10).
struct StandardImage {
  ImageBuilder b{std_img::kMetaBlocks};
  check::Input in;
  ImageBuilder::SpaceMapLayout meta, data;

  StandardImage() {
    using namespace std_img;
    b.block(kSuper, BlockType::raw).fill(0x5A);  // not read by the generic checker
    std::vector<std::pair<std::uint64_t, std::uint64_t>> kv;
    auto leaf = [&](BlockNr blk, std::uint64_t first_key, auto value_of) {
      kv.clear();
      for (std::uint64_t k = first_key; k < first_key + 100; ++k) kv.emplace_back(k, value_of(k));
      b.node64(blk, true, kv);
    };
    leaf(kSingleLeafA, 0, [](std::uint64_t k) { return k * 7; });
    leaf(kSingleLeafB, 100, [](std::uint64_t k) { return k * 7; });
    b.node64(kSingleRoot, false, {{0, kSingleLeafA}, {100, kSingleLeafB}});

    auto bt = [](std::uint64_t d, std::uint64_t t) { return (d << 24) | t; };
    leaf(kLeafLow, 0, [&](std::uint64_t k) { return bt(k, 0); });
    leaf(kLeafShared, 100, [&](std::uint64_t k) { return bt(k - 100, 1); });
    leaf(kLeafHigh, 200, [&](std::uint64_t k) { return bt(k < 210 ? k - 200 : 16100 + k, 2); });
    b.node64(kSubShared, false, {{0, kLeafLow}, {100, kLeafShared}});
    b.node64(kSubOther, false, {{100, kLeafShared}, {200, kLeafHigh}});
    b.node64(kTop, true, {{1, kSubShared}, {2, kSubShared}, {3, kSubOther}, {4, kSubShared}});

    b.node64(kArrayRoot, true, {{0, kArrayBlock0}, {1, kArrayBlock1}});
    b.array_block(kArrayBlock0, 8, 509);
    b.array_block(kArrayBlock1, 8, 10);

    meta.nr_blocks = kMetaBlocks;
    meta.index = kMetaIndex;
    meta.overflow_root = kMetaOverflow;
    meta.bitmap_blocks = {kMetaBitmap};
    for (BlockNr blk = 0; blk < kFirstFree; ++blk) meta.counts[blk] = 1;
    meta.counts[kSubShared] = 3;
    meta.counts[kLeafShared] = 2;

    data.nr_blocks = kDataBlocks;
    data.index = kDataIndex;
    data.overflow_root = kDataOverflow;
    data.bitmap_blocks = {kDataBitmap0, kDataBitmap1};
    data.tools_nr_free = true;
    for (BlockNr d = 0; d < 10; ++d) data.counts[d] = 3;
    for (BlockNr d = 10; d < 100; ++d) data.counts[d] = 2;
    for (BlockNr d = 16310; d < 16400; ++d) data.counts[d] = 1;

    in.metadata_nr_blocks = kMetaBlocks;
    in.extra_metadata_refs = {kSuper};
    in.trees = {
        check::TreeSpec{"single", kSingleRoot, 1, 8, check::ValueRefs::none},
        check::TreeSpec{"mapping", kTop, 2, 8, check::ValueRefs::data_block_time, 0, true},
        check::TreeSpec{"array", kArrayRoot, 1, 8, check::ValueRefs::metadata_block, 8},
    };
    write_space_maps();
  }

  // (Re)writes both space maps from meta/data counts; call after changing them.
  void write_space_maps() {
    in.metadata_sm_root = b.space_map(meta, true);
    in.data_sm_root = b.space_map(data, false);
  }
  [[nodiscard]] sim::Image image() const { return b.image(); }

  // Turns the image into a thin pool: drops the "single" and "array" trees, adds a device-details
  // leaf (devices 1..4, mapped_blocks 200 each) at kFirstFree and a thin superblock at block 0
  // pointing at the details, the mapping tree and both space maps. Call write_thin_superblock()
  // again after changing the space maps.
  void make_thin() {
    using namespace std_img;
    for (BlockNr blk : {kSingleRoot, kSingleLeafA, kSingleLeafB, kArrayRoot, kArrayBlock0, kArrayBlock1}) {
      b.erase(blk);
      meta.counts.erase(blk);
    }
    meta.counts[kFirstFree] = 1;
    set_details({{1, 200}, {2, 200}, {3, 200}, {4, 200}});
    write_space_maps();
  }
  void set_details(const std::vector<std::pair<std::uint64_t, std::uint64_t>>& dev_mapped) {
    std::vector<std::uint64_t> keys;
    std::vector<std::vector<std::uint8_t>> values;
    for (const auto& [dev, mapped] : dev_mapped) {
      keys.push_back(dev);
      std::vector<std::uint8_t> v(24, 0);
      store_le<std::uint64_t>(v.data(), mapped);
      values.push_back(v);
    }
    b.node(std_img::kFirstFree, true, 24, keys, values);
  }
  void write_thin_superblock(std::uint64_t magic = 27022010) {
    Block& sb = b.block(std_img::kSuper, BlockType::thin_superblock);
    sb.fill(0);
    store_le<std::uint64_t>(sb.data() + 32, magic);
    store_le<std::uint32_t>(sb.data() + 40, 2);
    auto root = [&](std::size_t off, const check::SpaceMapRoot& r) {
      store_le<std::uint64_t>(sb.data() + off, r.nr_blocks);
      store_le<std::uint64_t>(sb.data() + off + 8, r.nr_allocated);
      store_le<std::uint64_t>(sb.data() + off + 16, r.bitmap_root);
      store_le<std::uint64_t>(sb.data() + off + 24, r.ref_count_root);
    };
    root(64, *in.data_sm_root);
    root(192, in.metadata_sm_root);
    store_le<std::uint64_t>(sb.data() + 320, std_img::kTop);
    store_le<std::uint64_t>(sb.data() + 328, std_img::kFirstFree);
    store_le<std::uint32_t>(sb.data() + 336, 128);
    store_le<std::uint32_t>(sb.data() + 340, 8);
    store_le<std::uint64_t>(sb.data() + 344, std_img::kMetaBlocks);
  }
};

}  // namespace pdsim::testing
