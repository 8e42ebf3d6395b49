// SPDX-License-Identifier: GPL-2.0-or-later
// The checker on real kernel-written thin metadata (shared/fixtures/kernel-metadata).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/block/checksum.h"
#include "core/check/check.h"
#include "core/check/thin_input.h"
#include "sim/image.h"
#include "tests/check_image_builder.h"
#include "testing/test_util.h"

namespace pdsim::check {
namespace {

#ifndef PDSIM_FIXTURE_DIR
#error "PDSIM_FIXTURE_DIR must name shared/fixtures/kernel-metadata"
#endif

std::string fixture_dir() { return PDSIM_FIXTURE_DIR; }

std::string dump(const Report& rep) {
  std::string s;
  for (const auto& p : rep.problems) s += to_string(p) + "\n";
  return s;
}

class KernelFixture : public ::testing::TestWithParam<const char*> {
 protected:
  // Decompresses NAME.bin.xz into a temp dir and checks it.
  Report check_fixture(const std::string& name) {
    const std::string xz = fixture_dir() + "/" + name + ".bin.xz";
    if (!std::filesystem::exists(xz)) {
      skipped_ = true;
      return {};
    }
    const std::string raw = dir_.file(name + ".bin");
    const std::string cmd = "xz -dc '" + xz + "' > '" + raw + "'";
    if (std::system(cmd.c_str()) != 0) {
      skipped_ = true;
      return {};
    }
    auto img = sim::Image::load(raw);
    EXPECT_TRUE(img.ok());
    if (!img.ok()) return {};
    sim::ImageDevice dev(std::move(img).value());
    auto rep = check_thin(dev);
    EXPECT_TRUE(rep.ok()) << rep.error().to_string();
    return rep.ok() ? std::move(rep).value() : Report{};
  }
  pdsim::testing::TempDir dir_;
  bool skipped_ = false;
};

class CleanKernelFixture : public KernelFixture {};

TEST_P(CleanKernelFixture, ReportsNoProblems) {
  const Report rep = check_fixture(GetParam());
  ASSERT_FALSE(skipped_) << "fixture or xz not available: the fixtures are part of the test suite";
  EXPECT_TRUE(rep.clean()) << dump(rep);
  EXPECT_FALSE(rep.walk_incomplete);
  EXPECT_GT(rep.btree_nodes, 0u);
}

INSTANTIATE_TEST_SUITE_P(Kernel, CleanKernelFixture,
                         ::testing::Values("tmeta_with_empty_roots", "tmeta_with_shared_internal_root",
                                           "tmeta_with_shared_internals_and_leaves", "tmeta_device_id_reuse"));

TEST_F(KernelFixture, SharedInternalsAndLeavesCountsPerDevice) {
  const Report rep = check_fixture("tmeta_with_shared_internals_and_leaves");
  ASSERT_FALSE(skipped_) << "fixture or xz not available: the fixtures are part of the test suite";
  EXPECT_TRUE(rep.clean()) << dump(rep);
  ASSERT_EQ(rep.trees.size(), 2u);
  ASSERT_EQ(rep.trees[1].top.size(), 2u);
  EXPECT_EQ(rep.trees[1].top[0].bottom_entries, 65536u);
  EXPECT_EQ(rep.trees[1].top[1].bottom_entries, 65600u);
  // Shared leaves' mappings are counted once per distinct leaf.
  EXPECT_LT(rep.mappings, 65536u + 65600u);
}

TEST_F(KernelFixture, CorruptedFixtureReportsDamage) {
  const Report rep = check_fixture("corrupted_tmeta_with_metadata_snap");
  ASSERT_FALSE(skipped_) << "fixture or xz not available: the fixtures are part of the test suite";
  EXPECT_TRUE(rep.has_fatal()) << dump(rep);
  // The live mapping root (20) and details root (6) are zeroed; the snapshot (7) is intact.
  EXPECT_TRUE(rep.has(ProblemKind::bad_checksum, 20)) << dump(rep);
  EXPECT_TRUE(rep.has(ProblemKind::bad_checksum, 6)) << dump(rep);
  ASSERT_EQ(rep.trees.size(), 4u);
  EXPECT_EQ(rep.trees[2].name, "snapshot device details");
  EXPECT_EQ(rep.trees[2].top.size(), 1u);
  for (const auto& p : rep.problems) EXPECT_TRUE(p.block.has_value()) << to_string(p);
}

// thin-A of verification.md, restored by thin_restore when it is installed: the tools' known
// quirks (ondisk-format.md §5.2) are reported as non-fatal only; damage thin_check 0.9 misses
// (a data-block count) is caught.
TEST(ToolsImage, ThinAQuirksAreNonFatalAndDataCountsAreChecked) {
  ASSERT_EQ(std::system("command -v thin_restore > /dev/null 2>&1"), 0) << "thin_restore is not installed (./run-tests installs thin-provisioning-tools)";
  pdsim::testing::TempDir dir;
  const std::string xml = dir.file("a.xml"), bin = dir.file("a.bin");
  {
    FILE* f = std::fopen(xml.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(R"(<superblock uuid="" time="1" transaction="5" flags="0" version="2" data_block_size="128" nr_data_blocks="1024">
  <device dev_id="1" mapped_blocks="4" transaction="0" creation_time="0" snap_time="1">
    <single_mapping origin_block="0" data_block="10" time="0"/>
    <range_mapping origin_begin="5" data_begin="20" length="3" time="1"/>
  </device>
  <device dev_id="2" mapped_blocks="1" transaction="3" creation_time="1" snap_time="1">
    <single_mapping origin_block="7" data_block="10" time="0"/>
  </device>
</superblock>
)", f);
    std::fclose(f);
  }
  const std::string cmd = "truncate -s 64M '" + bin + "' && thin_restore -q -i '" + xml + "' -o '" + bin + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto img = sim::Image::load(bin);
  ASSERT_TRUE(img.ok());
  {
    sim::ImageDevice dev(img.value());
    auto rep = check_thin(dev);
    ASSERT_TRUE(rep.ok());
    EXPECT_FALSE(rep->has_fatal()) << dump(*rep);
    EXPECT_EQ(rep->mappings, 5u);
    for (const auto& p : rep->problems) {
      EXPECT_TRUE(p.kind == ProblemKind::bad_index_summary || p.kind == ProblemKind::bad_nr_allocated) << to_string(p);
    }
  }
  // Data bitmap (block 10): unmapped data block 30 given count 1 (the LOW bit, 2*(e%4)+1) -> a data leak.
  sim::Image damaged = img.value();
  Block blk;
  damaged.read(10, BlockSpan(blk));
  blk[16 + 30 / 4] = static_cast<std::uint8_t>(blk[16 + 30 / 4] | (1u << (2 * (30 % 4) + 1)));
  stamp_checksum(BlockSpan(blk), salt::sm_bitmap);
  damaged.write(10, ConstBlockSpan(blk));
  sim::ImageDevice dev(damaged);
  auto rep = check_thin(dev);
  ASSERT_TRUE(rep.ok());
  bool found = false;
  for (const auto& p : rep->problems) found = found || (p.kind == ProblemKind::leak && p.space == Space::data && p.block == 30u);
  EXPECT_TRUE(found) << dump(*rep);
}

Report run_thin(const sim::Image& img) {
  sim::ImageDevice dev(img);
  auto r = check_thin(dev);
  EXPECT_TRUE(r.ok());
  return r.ok() ? std::move(r).value() : Report{};
}

TEST(ThinInput, HandBuiltThinPoolIsClean) {
  pdsim::testing::StandardImage s;
  s.make_thin();
  s.write_thin_superblock();
  const Report rep = run_thin(s.image());
  EXPECT_TRUE(rep.clean()) << dump(rep);
  ASSERT_EQ(rep.trees.size(), 2u);
  EXPECT_EQ(rep.trees[0].name, "device details");
  EXPECT_EQ(rep.trees[1].bottom_entries, 800u);
}

TEST(ThinInput, MappedBlocksAndDeviceSetsAreCrossChecked) {
  pdsim::testing::StandardImage s;
  s.make_thin();
  s.set_details({{1, 200}, {2, 199}, {3, 200}, {5, 0}});  // 2 wrong, 4 missing, 5 extra
  s.write_thin_superblock();
  const Report rep = run_thin(s.image());
  EXPECT_EQ(rep.problems.size(), 3u) << dump(rep);
  EXPECT_TRUE(rep.has(ProblemKind::bad_mapped_blocks, pdsim::testing::std_img::kFirstFree)) << dump(rep);
  std::size_t device_set = 0;
  for (const auto& p : rep.problems) device_set += p.kind == ProblemKind::bad_device_set ? 1 : 0;
  EXPECT_EQ(device_set, 2u) << dump(rep);
}

TEST(ThinInput, BadMagicWithValidChecksumAndFlippedSuperblock) {
  pdsim::testing::StandardImage s;
  s.make_thin();
  s.write_thin_superblock(12345);
  Report rep = run_thin(s.image());
  ASSERT_EQ(rep.problems.size(), 1u) << dump(rep);
  EXPECT_TRUE(rep.has(ProblemKind::bad_superblock, 0));

  s.write_thin_superblock();
  sim::Image img = s.image();
  Block blk;
  img.read(0, BlockSpan(blk));
  blk[100] ^= 1;
  img.write(0, ConstBlockSpan(blk));
  rep = run_thin(img);
  ASSERT_EQ(rep.problems.size(), 1u) << dump(rep);
  EXPECT_TRUE(rep.has(ProblemKind::bad_checksum, 0));
}

TEST(ThinInput, AllZeroDeviceIsABadSuperblockChecksum) {
  const Report rep = run_thin(sim::Image(16));
  ASSERT_EQ(rep.problems.size(), 1u) << dump(rep);
  EXPECT_TRUE(rep.has(ProblemKind::bad_checksum, 0)) << dump(rep);
}

}  // namespace
}  // namespace pdsim::check
