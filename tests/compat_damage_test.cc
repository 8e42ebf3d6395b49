// SPDX-License-Identifier: GPL-2.0-or-later
// Damage and real kernel images, judged by both thin_check 0.9 and pdsim check: pdsim must report
// every damage thin_check reports (and the ones it misses); kernel images must dump exactly as
// thin_dump dumps them and check clean.
#include <gtest/gtest.h>

#include <tuple>

#include <cstdio>
#include <fstream>

#include <fmt/format.h>

#include "core/block/checksum.h"
#include "core/sm/sm_format.h"
#include "core/thin/thin_format.h"
#include "sim/image.h"
#include "testing/test_util.h"

#ifndef PDSIM_BINARY
#error "PDSIM_BINARY must name the pdsim program"
#endif
#ifndef PDSIM_FIXTURE_DIR
#error "PDSIM_FIXTURE_DIR must name shared/fixtures/kernel-metadata"
#endif

namespace pdsim {
namespace {

using Cmd = testing::CommandResult;

Cmd run(const std::string& cmd) { return testing::run_command(cmd); }

const char* kThinA =
    "<superblock uuid=\"\" time=\"1\" transaction=\"5\" flags=\"0\" version=\"2\" data_block_size=\"128\" nr_data_blocks=\"1024\">\n"
    "  <device dev_id=\"1\" mapped_blocks=\"4\" transaction=\"0\" creation_time=\"0\" snap_time=\"1\">\n"
    "    <single_mapping origin_block=\"0\" data_block=\"10\" time=\"0\"/>\n"
    "    <range_mapping origin_begin=\"5\" data_begin=\"20\" length=\"3\" time=\"1\"/>\n"
    "  </device>\n"
    "  <device dev_id=\"2\" mapped_blocks=\"1\" transaction=\"3\" creation_time=\"1\" snap_time=\"1\">\n"
    "    <single_mapping origin_block=\"7\" data_block=\"10\" time=\"0\"/>\n"
    "  </device>\n"
    "</superblock>\n";

class Damage : public ::testing::Test {
 protected:
  testing::TempDir dir;
  std::string img = dir.file("meta.bin");
  sim::Image image{1};
  thin::Superblock sb;

  void SetUp() override {
    ASSERT_EQ(run("command -v thin_check").rc, 0) << "thin-provisioning-tools is not installed";
    std::ofstream(dir.file("a.xml")) << kThinA;
    ASSERT_EQ(run(fmt::format("truncate -s 16M '{}'", img)).rc, 0);
    ASSERT_EQ(run(fmt::format("{} restore -i '{}' -o '{}'", PDSIM_BINARY, dir.file("a.xml"), img)).rc, 0);
    auto loaded = sim::Image::load(img);
    ASSERT_TRUE(loaded.ok());
    image = std::move(loaded).value();
    sb = thin::Superblock::unpack(image.get(0)->data());
  }
  Block block(BlockNr b) {
    Block out{};
    image.read(b, BlockSpan(out));
    return out;
  }
  void put(BlockNr b, const Block& data) {
    image.write(b, ConstBlockSpan(data));
    ASSERT_TRUE(image.save(img).ok());
  }
  BlockNr metadata_bitmap() {
    const auto root = sm::RootFields::unpack(sb.metadata_sm_root);
    Block index = block(root.bitmap_root);
    return sm::IndexEntry::unpack(index.data() + 16).blocknr;
  }
  // thin_check and pdsim check both fail; pdsim names the block when given.
  void expect_both_report(std::optional<BlockNr> where, const std::string& what) {
    EXPECT_EQ(run(fmt::format("thin_check -q '{}'", img)).rc, 1) << what << ": thin_check missed it";
    Cmd ours = run(fmt::format("{} check '{}'", PDSIM_BINARY, img));
    EXPECT_EQ(ours.rc, 1) << what << ": pdsim check missed it";
    if (where) {
      EXPECT_NE(ours.out.find(fmt::format("[block {}]", *where)), std::string::npos) << what << "\n" << ours.out;
    }
  }
  void flip(BlockNr b) {
    Block d = block(b);
    d[200] ^= 0x40;
    put(b, d);
  }
  void set_metadata_count(BlockNr b, std::uint32_t v) {
    const BlockNr bm = metadata_bitmap();
    Block d = block(bm);
    sm::bitmap_set(d.data(), static_cast<std::uint32_t>(b), v);
    stamp_checksum(BlockSpan(d), salt::sm_bitmap);
    put(bm, d);
  }
};

TEST_F(Damage, CleanImageChecksCleanByBoth) {
  EXPECT_EQ(run(fmt::format("thin_check -q '{}'", img)).rc, 0);
  EXPECT_EQ(run(fmt::format("{} check -q '{}'", PDSIM_BINARY, img)).rc, 0);
}

TEST_F(Damage, FlippedSuperblock) {
  flip(0);
  expect_both_report(0, "superblock byte flipped");
}
TEST_F(Damage, FlippedMappingRoot) {
  flip(sb.data_mapping_root);
  expect_both_report(sb.data_mapping_root, "mapping root flipped");
}
TEST_F(Damage, FlippedDetailsRoot) {
  flip(sb.device_details_root);
  expect_both_report(sb.device_details_root, "details root flipped");
}
TEST_F(Damage, FlippedMetadataIndex) {
  const BlockNr idx = sm::RootFields::unpack(sb.metadata_sm_root).bitmap_root;
  flip(idx);
  expect_both_report(idx, "metadata index flipped");
}
TEST_F(Damage, FlippedMetadataBitmap) {
  const BlockNr bm = metadata_bitmap();
  flip(bm);
  expect_both_report(bm, "metadata bitmap flipped");
}
TEST_F(Damage, FlippedDataIndexNode) {
  const BlockNr idx = sm::RootFields::unpack(sb.data_sm_root).bitmap_root;
  flip(idx);
  expect_both_report(idx, "data index node flipped");
}
TEST_F(Damage, LeakedMetadataBlock) {
  set_metadata_count(40, 1);  // free block 40 marked used
  expect_both_report(40, "leaked metadata block");
}
TEST_F(Damage, UnderCountedMetadataBlock) {
  set_metadata_count(sb.data_mapping_root, 0);
  expect_both_report(sb.data_mapping_root, "in-use block with count 0");
}
TEST_F(Damage, OverCountedMetadataBlock) {
  set_metadata_count(sb.data_mapping_root, 2);
  expect_both_report(sb.data_mapping_root, "in-use block with count 2");
}
// Superblock fields thin_check 0.9 passes (issue 15): pdsim check rejects a version other than 1
// or 2, a data block size dm-thin cannot use and a compat_ro feature; an unknown flag is non-fatal.
TEST_F(Damage, SuperblockFieldsThinCheckPasses) {
  const Block original = block(0);
  auto with = [&](std::size_t offset, std::uint32_t value) {
    Block d = original;
    store_le<std::uint32_t>(d.data() + offset, value);
    stamp_checksum(BlockSpan(d), salt::thin_superblock);
    put(0, d);
  };
  for (const auto& [offset, value, what] : {std::tuple{std::size_t{40}, 3u, "version 3"},
                                           std::tuple{std::size_t{336}, 100u, "data_block_size 100"},
                                           std::tuple{std::size_t{356}, 1u, "compat_ro_flags 1"}}) {
    with(offset, value);
    EXPECT_EQ(run(fmt::format("thin_check -q '{}'", img)).rc, 0) << what << ": thin_check 0.9 now rejects it?";
    Cmd ours = run(fmt::format("{} check '{}'", PDSIM_BINARY, img));
    EXPECT_EQ(ours.rc, 1) << what << "\n" << ours.out;
  }
  with(4, 4);  // flag bit 2
  EXPECT_EQ(run(fmt::format("{} check '{}'", PDSIM_BINARY, img)).rc, 1);
  EXPECT_EQ(run(fmt::format("{} check --ignore-non-fatal-errors '{}'", PDSIM_BINARY, img)).rc, 0);
  put(0, original);
}

TEST_F(Damage, WrongDataBlockCountIsCaughtByPdsimAlone) {
  // thin_check 0.9 does not compare data-block counts (verification.md §5.1).
  const auto droot = sm::RootFields::unpack(sb.data_sm_root);
  Block index = block(droot.bitmap_root);
  // The data index btree's single leaf: value 0 (16 bytes) after 168 keys.
  const BlockNr data_bitmap = load_le<std::uint64_t>(index.data() + 32 + 8 * 168);
  Block d = block(data_bitmap);
  sm::bitmap_set(d.data(), 30, 1);  // unmapped data block 30 counted
  stamp_checksum(BlockSpan(d), salt::sm_bitmap);
  put(data_bitmap, d);
  EXPECT_EQ(run(fmt::format("thin_check -q '{}'", img)).rc, 0) << "thin_check 0.9 now checks data counts?";
  Cmd ours = run(fmt::format("{} check '{}'", PDSIM_BINARY, img));
  EXPECT_EQ(ours.rc, 1);
  EXPECT_NE(ours.out.find("block 30"), std::string::npos) << ours.out;
}

// Kernel-written images: pdsim dump equals thin_dump, check is clean (data counts included).
class KernelImages : public ::testing::TestWithParam<const char*> {};

TEST_P(KernelImages, DumpEqualsThinDumpAndCheckIsClean) {
  testing::TempDir dir;
  const std::string raw = dir.file("k.bin");
  ASSERT_EQ(run(fmt::format("xz -dc '{}/{}.bin.xz' > '{}'", PDSIM_FIXTURE_DIR, GetParam(), raw)).rc, 0);
  Cmd theirs = run(fmt::format("thin_dump '{}'", raw));
  ASSERT_EQ(theirs.rc, 0);
  Cmd ours = run(fmt::format("{} dump '{}'", PDSIM_BINARY, raw));
  ASSERT_EQ(ours.rc, 0);
  EXPECT_EQ(ours.out, theirs.out);
  Cmd check = run(fmt::format("{} check '{}'", PDSIM_BINARY, raw));
  EXPECT_EQ(check.rc, 0) << check.out;
}

INSTANTIATE_TEST_SUITE_P(Clean, KernelImages,
                         ::testing::Values("tmeta_with_empty_roots", "tmeta_with_shared_internal_root",
                                           "tmeta_with_shared_internals_and_leaves", "tmeta_device_id_reuse"));

TEST(KernelImagesCorrupted, CheckNamesTheDamageAndTheSnapshotStillDumps) {
  testing::TempDir dir;
  const std::string raw = dir.file("k.bin");
  ASSERT_EQ(run(fmt::format("xz -dc '{}/corrupted_tmeta_with_metadata_snap.bin.xz' > '{}'", PDSIM_FIXTURE_DIR, raw)).rc, 0);
  Cmd check = run(fmt::format("{} check '{}'", PDSIM_BINARY, raw));
  EXPECT_EQ(check.rc, 1);
  EXPECT_NE(check.out.find("[block "), std::string::npos) << check.out;
  EXPECT_NE(run(fmt::format("{} dump '{}'", PDSIM_BINARY, raw)).rc, 0);
  Cmd theirs = run(fmt::format("thin_dump -m '{}'", raw));
  Cmd ours = run(fmt::format("{} dump -m '{}'", PDSIM_BINARY, raw));
  ASSERT_EQ(ours.rc, 0);
  EXPECT_EQ(ours.out, theirs.out);
}

}  // namespace
}  // namespace pdsim
