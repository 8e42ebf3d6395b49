// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/check/check.h"
#include "core/check/context.h"

#include <gtest/gtest.h>

#include <string>

#include "sim/image.h"
#include "tests/check_image_builder.h"

namespace pdsim::check {
namespace {

using namespace pdsim::testing::std_img;
using pdsim::testing::StandardImage;

Report run(const sim::Image& img, const Input& in) {
  sim::ImageDevice dev(img);
  auto r = check(dev, in);
  EXPECT_TRUE(r.ok()) << r.error().to_string();
  return r.ok() ? std::move(r).value() : Report{};
}

std::string dump(const Report& rep) {
  std::string s;
  for (const auto& p : rep.problems) s += to_string(p) + "\n";
  return s;
}

void flip_byte(sim::Image& img, BlockNr b, std::size_t offset) {
  Block blk;
  img.read(b, BlockSpan(blk));
  blk[offset] ^= 0x40;
  img.write(b, ConstBlockSpan(blk));
}

TEST(Check, CleanStandardImageReportsNothing) {
  StandardImage s;
  const Report rep = run(s.image(), s.in);
  EXPECT_TRUE(rep.clean()) << dump(rep);
  EXPECT_FALSE(rep.walk_incomplete);
  // Distinct nodes: 3 (single) + 6 (mapping) + 1 (array root) + 3 sm btree leaves (2, 4, 5).
  EXPECT_EQ(rep.btree_nodes, 13u);
  EXPECT_EQ(rep.array_blocks, 2u);
  EXPECT_EQ(rep.mappings, 300u);  // leaves 13, 14, 15 once each
  ASSERT_EQ(rep.trees.size(), 3u);
  EXPECT_EQ(rep.trees[0].bottom_entries, 200u);
  EXPECT_EQ(rep.trees[1].bottom_entries, 800u);  // 4 devices x 200, sharing counted per owner
  ASSERT_EQ(rep.trees[1].top.size(), 4u);
  for (const auto& e : rep.trees[1].top) EXPECT_EQ(e.bottom_entries, 200u) << e.key;
}

TEST(Check, KernelNrFreeConventionForTheDataMapIsAlsoAccepted) {
  StandardImage s;
  s.data.tools_nr_free = false;
  s.write_space_maps();
  const Report rep = run(s.image(), s.in);
  EXPECT_TRUE(rep.clean()) << dump(rep);
}

TEST(Check, FlippedByteIsABadChecksum) {
  StandardImage s;
  sim::Image img = s.image();
  flip_byte(img, kLeafHigh, 1000);
  const Report rep = run(img, s.in);
  EXPECT_TRUE(rep.has(ProblemKind::bad_checksum, kLeafHigh)) << dump(rep);
  EXPECT_TRUE(rep.walk_incomplete);
}

TEST(Check, FlippedByteInBitmapAndIndexBlock) {
  StandardImage s;
  sim::Image img = s.image();
  flip_byte(img, kMetaIndex, 100);
  flip_byte(img, kDataBitmap1, 2000);
  const Report rep = run(img, s.in);
  EXPECT_TRUE(rep.has(ProblemKind::bad_checksum, kMetaIndex)) << dump(rep);
  EXPECT_TRUE(rep.has(ProblemKind::bad_checksum, kDataBitmap1)) << dump(rep);
}

TEST(Check, MisplacedBlockIsABadBlocknr) {
  StandardImage s;
  sim::Image img = s.image();
  // A valid node written at the wrong place: copy of leaf 13 over leaf 8's slot.
  Block blk;
  img.read(kLeafLow, BlockSpan(blk));
  img.write(kSingleLeafA, ConstBlockSpan(blk));
  const Report rep = run(img, s.in);
  EXPECT_TRUE(rep.has(ProblemKind::bad_blocknr, kSingleLeafA)) << dump(rep);
}

TEST(Check, KeysOutOfOrder) {
  StandardImage s;
  Block& leaf = s.b.at(kLeafLow);
  // swap keys 1 and 2
  std::swap_ranges(leaf.begin() + 40, leaf.begin() + 48, leaf.begin() + 48);
  const Report rep = run(s.image(), s.in);
  EXPECT_TRUE(rep.has(ProblemKind::key_order, kLeafLow)) << dump(rep);
}

TEST(Check, ChildKeysOutsideParentRange) {
  StandardImage s;
  // Leaf 9 holds 100..199 under parent key 100; make the parent say 150.
  s.b.node64(kSingleRoot, false, {{0, kSingleLeafA}, {150, kSingleLeafB}});
  const Report rep = run(s.image(), s.in);
  EXPECT_TRUE(rep.has(ProblemKind::key_order, kSingleLeafB)) << dump(rep);
}

TEST(Check, NrEntriesAboveMax) {
  StandardImage s;
  store_le<std::uint32_t>(s.b.at(kLeafLow).data() + 16, 300);
  const Report rep = run(s.image(), s.in);
  EXPECT_TRUE(rep.has(ProblemKind::bad_node, kLeafLow)) << dump(rep);
}

TEST(Check, WrongValueSizeAndFlags) {
  StandardImage s;
  store_le<std::uint32_t>(s.b.at(kSingleLeafA).data() + 4, 3);  // internal and leaf
  // Array root with a 16-byte leaf: consistent header, wrong for the tree.
  s.b.node(kArrayRoot, true, 16, {0}, {std::vector<std::uint8_t>(16, 0)});
  const Report rep = run(s.image(), s.in);
  EXPECT_TRUE(rep.has(ProblemKind::bad_node, kSingleLeafA)) << dump(rep);
  EXPECT_TRUE(rep.has(ProblemKind::value_size_mismatch, kArrayRoot)) << dump(rep);
}

TEST(Check, UnequalLeafDepth) {
  StandardImage s;
  // Root 7 -> (leaf 8, internal 20 -> leaf 9): leaves at depths 1 and 2.
  s.b.node64(kFirstFree, false, {{100, kSingleLeafB}});
  s.b.node64(kSingleRoot, false, {{0, kSingleLeafA}, {100, kFirstFree}});
  s.meta.counts[kFirstFree] = 1;
  s.write_space_maps();
  const Report rep = run(s.image(), s.in);
  EXPECT_TRUE(rep.has(ProblemKind::unequal_depth, kSingleRoot)) << dump(rep);
}

TEST(Check, UnderfilledNonRootNodeIsNonFatal) {
  StandardImage s;
  s.b.node64(kSingleLeafB, true, {{100, 1}, {101, 2}});
  const Report rep = run(s.image(), s.in);
  ASSERT_TRUE(rep.has(ProblemKind::bad_fill, kSingleLeafB)) << dump(rep);
  EXPECT_FALSE(rep.has_fatal()) << dump(rep);
}

TEST(Check, LeakedMetadataBlock) {
  StandardImage s;
  s.meta.counts[kFirstFree + 5] = 1;
  s.write_space_maps();
  const Report rep = run(s.image(), s.in);
  ASSERT_EQ(rep.problems.size(), 1u) << dump(rep);
  EXPECT_TRUE(rep.has(ProblemKind::leak, kFirstFree + 5)) << dump(rep);
  EXPECT_EQ(rep.problems[0].severity, Severity::non_fatal);
}

TEST(Check, UnderCountedSharedBlock) {
  StandardImage s;
  s.meta.counts[kLeafShared] = 1;  // referenced by 11 and 12
  s.write_space_maps();
  const Report rep = run(s.image(), s.in);
  ASSERT_EQ(rep.problems.size(), 1u) << dump(rep);
  EXPECT_TRUE(rep.has(ProblemKind::under_count, kLeafShared));
  EXPECT_TRUE(rep.has_fatal());
}

TEST(Check, OverCountedBlock) {
  StandardImage s;
  s.meta.counts[kLeafLow] = 2;
  s.write_space_maps();
  const Report rep = run(s.image(), s.in);
  ASSERT_EQ(rep.problems.size(), 1u) << dump(rep);
  EXPECT_TRUE(rep.has(ProblemKind::over_count, kLeafLow));
}

TEST(Check, MetadataOverflowCountWrong) {
  StandardImage s;
  s.meta.counts[kSubShared] = 4;  // really 3 (overflow value 4)
  s.write_space_maps();
  const Report rep = run(s.image(), s.in);
  EXPECT_TRUE(rep.has(ProblemKind::over_count, kSubShared)) << dump(rep);
}

TEST(Check, DataBlockCountsWrong) {
  StandardImage s;
  s.data.counts[50] = 1;      // really 2
  s.data.counts[16320] = 2;   // really 1, in the second bitmap
  s.data.counts[17000] = 1;   // unmapped
  s.data.counts[5] = 4;       // really 3 (overflow)
  s.write_space_maps();
  const Report rep = run(s.image(), s.in);
  EXPECT_EQ(rep.problems.size(), 4u) << dump(rep);
  EXPECT_TRUE(rep.has(ProblemKind::under_count, 50)) << dump(rep);
  EXPECT_TRUE(rep.has(ProblemKind::over_count, 16320)) << dump(rep);
  EXPECT_TRUE(rep.has(ProblemKind::leak, 17000)) << dump(rep);
  EXPECT_TRUE(rep.has(ProblemKind::over_count, 5)) << dump(rep);
  for (const auto& p : rep.problems) EXPECT_EQ(p.space, Space::data);
}

TEST(Check, NrFreeWrong) {
  StandardImage s;
  Block& ib = s.b.at(kMetaIndex);  // metadata index entry 0's nr_free, re-stamped by the builder
  store_le<std::uint32_t>(ib.data() + 16 + 8, load_le<std::uint32_t>(ib.data() + 16 + 8) + 1);
  const Report rep = run(s.image(), s.in);
  ASSERT_TRUE(rep.has(ProblemKind::bad_index_summary, kMetaBitmap)) << dump(rep);
  EXPECT_TRUE(rep.has_fatal());  // more free than there is
}

TEST(Check, NrFreeTooLowIsNonFatal) {
  StandardImage s;
  Block& leaf = s.b.at(kDataIndex);  // disk index btree leaf: values after 168 keys
  const std::size_t v1 = 32 + 8 * 168 + 16 * 1;
  store_le<std::uint32_t>(leaf.data() + v1 + 8, load_le<std::uint32_t>(leaf.data() + v1 + 8) - 7);
  const Report rep = run(s.image(), s.in);
  ASSERT_TRUE(rep.has(ProblemKind::bad_index_summary, kDataBitmap1)) << dump(rep);
  EXPECT_FALSE(rep.has_fatal()) << dump(rep);
}

TEST(Check, NoneFreeBeforeTooHighIsAccepted) {
  StandardImage s;
  Block& ib = s.b.at(kMetaIndex);
  store_le<std::uint32_t>(ib.data() + 16 + 12, 40);  // blocks 20..39 are free: harmless
  EXPECT_TRUE(run(s.image(), s.in).clean());
  store_le<std::uint32_t>(ib.data() + 16 + 12, 20000);  // past the bitmap: garbage
  const Report rep = run(s.image(), s.in);
  EXPECT_TRUE(rep.has(ProblemKind::bad_index_summary, kMetaBitmap)) << dump(rep);
}

TEST(Check, NrAllocatedWrong) {
  StandardImage s;
  s.in.metadata_sm_root.nr_allocated -= 1;
  s.in.data_sm_root->nr_allocated += 2;
  const Report rep = run(s.image(), s.in);
  EXPECT_EQ(rep.problems.size(), 2u) << dump(rep);
  ASSERT_TRUE(rep.has(ProblemKind::bad_nr_allocated)) << dump(rep);
  for (const auto& p : rep.problems) {
    EXPECT_EQ(p.kind, ProblemKind::bad_nr_allocated);
    EXPECT_EQ(p.severity, p.message.rfind("data space map", 0) == 0 ? Severity::non_fatal : Severity::fatal)
        << p.message;
  }
}

TEST(Check, OverflowEntryMissingForValue3Block) {
  StandardImage s;
  // Empty the metadata overflow leaf: block 11 keeps bitmap value 3.
  s.b.node(kMetaOverflow, true, 4, {}, {});
  const Report rep = run(s.image(), s.in);
  ASSERT_EQ(rep.problems.size(), 1u) << dump(rep);
  EXPECT_TRUE(rep.has(ProblemKind::missing_overflow, kSubShared));
}

TEST(Check, OverflowEntryForABlockWhoseBitmapIsNot3) {
  StandardImage s;
  std::vector<std::uint8_t> three(4), five(4);
  store_le<std::uint32_t>(three.data(), 3);
  store_le<std::uint32_t>(five.data(), 5);
  s.b.node(kMetaOverflow, true, 4, {kSubShared, kLeafLow}, {three, five});
  const Report rep = run(s.image(), s.in);
  EXPECT_TRUE(rep.has(ProblemKind::bad_overflow, kLeafLow)) << dump(rep);
}

TEST(Check, ReferencePastNrBlocks) {
  StandardImage s;
  s.b.node64(kArrayRoot, true, {{0, kArrayBlock0}, {1, 500}});  // metadata block 500 >= 64
  // and a mapping to data block 25000 >= 20000 (leaf 15, entry 50)
  Block& leaf = s.b.at(kLeafHigh);
  store_le<std::uint64_t>(leaf.data() + 32 + 8 * 252 + 8 * 50, std::uint64_t{25000} << 24);
  s.data.counts.erase(16100 + 250);
  s.write_space_maps();
  const Report rep = run(s.image(), s.in);
  EXPECT_TRUE(rep.has(ProblemKind::out_of_range, kArrayRoot)) << dump(rep);
  EXPECT_TRUE(rep.has(ProblemKind::out_of_range, kLeafHigh)) << dump(rep);
  EXPECT_TRUE(rep.has(ProblemKind::leak, kArrayBlock1)) << dump(rep);
}

TEST(Check, CycleIsReportedAndTerminates) {
  StandardImage s;
  // Leaf 13's parent 11 gets a third child pointing back to 11 itself... as an internal node.
  s.b.node64(kSubShared, false, {{0, kLeafLow}, {100, kLeafShared}, {300, kSubShared}});
  s.meta.counts[kSubShared] = 4;
  s.write_space_maps();
  const Report rep = run(s.image(), s.in);
  EXPECT_TRUE(rep.has(ProblemKind::cycle, kSubShared)) << dump(rep);
}

TEST(Check, DeepCycleThroughTwoNodes) {
  StandardImage s;
  // 7 -> 20 -> 21 -> 20 ...
  s.b.node64(kFirstFree, false, {{0, kFirstFree + 1}});
  s.b.node64(kFirstFree + 1, false, {{0, kFirstFree}});
  s.b.node64(kSingleRoot, false, {{0, kFirstFree}});
  const Report rep = run(s.image(), s.in);
  EXPECT_TRUE(rep.has(ProblemKind::cycle, kFirstFree + 1)) << dump(rep);
}

TEST(Check, CrossLinkedBlock) {
  StandardImage s;
  // The array tree points at a mapping leaf as an array block.
  s.b.node64(kArrayRoot, true, {{0, kArrayBlock0}, {1, kLeafLow}});
  const Report rep = run(s.image(), s.in);
  EXPECT_TRUE(rep.has(ProblemKind::cross_linked, kLeafLow)) << dump(rep);
}

TEST(Check, ArrayNotDense) {
  StandardImage s;
  s.b.array_block(kArrayBlock0, 8, 100);  // not the last, yet not full
  const Report rep = run(s.image(), s.in);
  EXPECT_TRUE(rep.has(ProblemKind::bad_array_block, kArrayBlock0)) << dump(rep);
}

TEST(Check, ZeroAndGarbageBlocksDoNotCrash) {
  StandardImage s;
  sim::Image img = s.image();
  img.write(kSubOther, ConstBlockSpan(Block{}));  // zeroed node
  Block junk;
  for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<std::uint8_t>(i * 131 + 7);
  img.write(kMetaBitmap, ConstBlockSpan(junk));
  img.write(kDataIndex, ConstBlockSpan(junk));
  const Report rep = run(img, s.in);
  EXPECT_TRUE(rep.has(ProblemKind::bad_checksum, kSubOther)) << dump(rep);
  EXPECT_TRUE(rep.has(ProblemKind::bad_checksum, kMetaBitmap)) << dump(rep);
  EXPECT_TRUE(rep.has(ProblemKind::bad_checksum, kDataIndex)) << dump(rep);
}

TEST(Check, GarbageWithValidChecksumsDoesNotCrash) {
  // Every block of the device: pseudo-random bytes, stamped as a btree node at its own place,
  // with a sane-looking header; roots and space maps point into it.
  testing::ImageBuilder b(64);
  std::uint64_t x = 0x9E3779B97F4A7C15ull;
  for (BlockNr blk = 0; blk < 64; ++blk) {
    Block& d = b.block(blk, testing::BlockType::btree);
    for (auto& byte : d) {
      x ^= x << 13; x ^= x >> 7; x ^= x << 17;
      byte = static_cast<std::uint8_t>(x);
    }
    store_le<std::uint32_t>(d.data() + 4, blk % 2 == 0 ? 1u : 2u);
    store_le<std::uint32_t>(d.data() + 16, static_cast<std::uint32_t>(x % 260));
    store_le<std::uint32_t>(d.data() + 20, 252);
    store_le<std::uint32_t>(d.data() + 24, 8);
    for (std::size_t i = 0; i < 252; ++i) {  // child pointers mostly in range
      store_le<std::uint64_t>(d.data() + 32 + 8 * 252 + 8 * i, (x >> (i % 50)) % 70);
    }
  }
  Input in;
  in.metadata_nr_blocks = 64;
  in.metadata_sm_root = {64, 10, 3, 4};
  in.data_sm_root = SpaceMapRoot{1u << 30, 5, 6, 7};
  in.trees = {TreeSpec{"t1", 8, 1, 8, ValueRefs::none}, TreeSpec{"t2", 9, 3, 8, ValueRefs::data_block_time},
              TreeSpec{"t3", 10, 1, 8, ValueRefs::metadata_block, 8}};
  const Report rep = run(b.image(), in);
  EXPECT_FALSE(rep.problems.empty());
}

// Random byte damage to the builder's blocks, re-stamped so that it passes checksums and reaches
// the parsers: the checker must terminate without crashing, and report something whenever the
// image changed in a way it reads. (Run under the sanitizer build too.)
TEST(Check, RandomValidlyStampedDamageNeverCrashes) {
  std::uint64_t x = 12345;
  auto next = [&] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  const BlockNr blocks[] = {kMetaIndex, kMetaOverflow, kMetaBitmap, kDataIndex, kDataOverflow, kDataBitmap0,
                            kSingleRoot, kSingleLeafA, kTop, kSubShared, kSubOther, kLeafLow, kLeafShared,
                            kLeafHigh, kArrayRoot, kArrayBlock0};
  for (int iter = 0; iter < 300; ++iter) {
    StandardImage s;
    for (int n = 0; n < 4; ++n) {
      Block& blk = s.b.at(blocks[next() % std::size(blocks)]);
      // Mostly headers and the first keys/values/pointers, where damage matters most.
      const std::size_t off = next() % 2 == 0 ? next() % 64 : 32 + 8 * 252 + next() % 256;
      blk[off] = static_cast<std::uint8_t>(next());
    }
    sim::ImageDevice dev(s.image());
    auto r = check(dev, s.in);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
  }
}

TEST(Check, RootPastTheDevice) {
  StandardImage s;
  s.in.trees[0].root = 1000;
  const Report rep = run(s.image(), s.in);
  EXPECT_TRUE(rep.has(ProblemKind::out_of_range, 1000)) << dump(rep);
  EXPECT_TRUE(rep.has(ProblemKind::leak, kSingleRoot)) << dump(rep);
}

}  // namespace
}  // namespace pdsim::check

namespace pdsim::check {
namespace {

// Issue 15: a superblock's claimed sizes must not decide the checker's memory. A data space map
// claiming 2^28 blocks on a 4 MiB metadata device took 1.05 GB (a dense count of every block);
// it is counted in a hash map now, as is a metadata device past the kernel's 16 GiB.
TEST(CheckMemory, DenseCountsAreBoundedByWhatTheMetadataCanReference) {
  const BlockNr small_device = 1024;  // 4 MiB
  EXPECT_FALSE(detail::RefCounts(BlockNr{1} << 28, detail::Context::data_dense_cap(small_device)).dense());
  EXPECT_TRUE(detail::RefCounts(BlockNr{1} << 18, detail::Context::data_dense_cap(small_device)).dense());
  EXPECT_TRUE(detail::RefCounts(BlockNr{1} << 22, detail::Context::kMetadataDenseCap).dense());
  EXPECT_FALSE(detail::RefCounts(BlockNr{1} << 28, detail::Context::kMetadataDenseCap).dense());
  // Sparse counting counts the same.
  detail::RefCounts sparse(BlockNr{1} << 28, 16);
  sparse.add(5);
  sparse.add(5);
  sparse.add((BlockNr{1} << 28) - 1);
  EXPECT_EQ(sparse.get(5), 2u);
  EXPECT_EQ(sparse.get((BlockNr{1} << 28) - 1), 1u);
  EXPECT_EQ(sparse.get(6), 0u);
}

}  // namespace
}  // namespace pdsim::check
