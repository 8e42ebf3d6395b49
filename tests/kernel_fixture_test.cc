// SPDX-License-Identifier: GPL-2.0-or-later
// Real metadata images written by a Linux kernel (../shared/fixtures/kernel-metadata): our engine
// must read them exactly: superblock fields and checksum, space-map roots, every count.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "core/sm/disk_space_map.h"
#include "core/sm/metadata_space_map.h"
#include "core/thin/thin_format.h"
#include "sim/image.h"
#include "testing/test_util.h"

#ifndef PDSIM_FIXTURE_DIR
#error "PDSIM_FIXTURE_DIR must name shared/fixtures/kernel-metadata"
#endif

namespace pdsim {
namespace {

// Decompresses NAME.bin.xz into a temp dir and loads it.
sim::Image load_fixture(const std::string& name, testing::TempDir& dir) {
  const std::string src = std::string(PDSIM_FIXTURE_DIR) + "/" + name + ".bin.xz";
  const std::string dst = dir.file(name + ".bin");
  const std::string cmd = "xz -dc '" + src + "' > '" + dst + "'";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto img = sim::Image::load(dst);
  EXPECT_TRUE(img.ok()) << (img.ok() ? "" : img.error().to_string());
  return img.ok() ? std::move(img).value() : sim::Image(1);
}

class KernelFixture : public ::testing::TestWithParam<const char*> {};

TEST_P(KernelFixture, SuperblockAndSpaceMapsReadBack) {
  testing::TempDir dir;
  sim::ImageDevice dev(load_fixture(GetParam(), dir));
  ASSERT_EQ(dev.nr_blocks(), 1024u);
  BlockManager bm(dev, 256);
  auto sbr = bm.read_lock(0, &thin::superblock_validator());
  ASSERT_TRUE(sbr.ok()) << sbr.error().to_string();
  thin::Superblock sb = thin::Superblock::unpack(sbr->data().data());
  sbr->release();
  EXPECT_EQ(sb.magic, thin::kSuperblockMagic);
  EXPECT_EQ(sb.version, 2u);
  EXPECT_EQ(sb.metadata_block_size, 8u);
  EXPECT_EQ(sb.metadata_nr_blocks, 1024u);
  EXPECT_EQ(sb.incompat_flags, 0u);

  TransactionManager tm(bm);
  auto meta = sm::MetadataSpaceMap::open(tm, sb.metadata_sm_root);
  ASSERT_TRUE(meta.ok()) << meta.error().to_string();
  auto root = sm::RootFields::unpack(sb.metadata_sm_root);
  EXPECT_EQ(*(*meta)->nr_blocks(), 1024u);
  BlockNr nonzero = 0;
  for (BlockNr b = 0; b < 1024; ++b) {
    auto c = (*meta)->get_count(b);
    ASSERT_TRUE(c.ok()) << "block " << b << ": " << c.error().to_string();
    nonzero += *c > 0 ? 1u : 0u;
  }
  EXPECT_EQ(*(*meta)->get_count(0), 1u);  // the superblock
  EXPECT_EQ(root.nr_allocated, nonzero);

  auto data = sm::DiskSpaceMap::open(tm, sb.data_sm_root);
  ASSERT_TRUE(data.ok()) << data.error().to_string();
  auto droot = sm::RootFields::unpack(sb.data_sm_root);
  BlockNr dnonzero = 0;
  for (BlockNr b = 0; b < droot.nr_blocks; ++b) {
    auto c = (*data)->get_count(b);
    ASSERT_TRUE(c.ok()) << "data block " << b << ": " << c.error().to_string();
    dnonzero += *c > 0 ? 1u : 0u;
  }
  EXPECT_EQ(droot.nr_allocated, dnonzero);
}

INSTANTIATE_TEST_SUITE_P(Clean, KernelFixture,
                         ::testing::Values("tmeta_with_empty_roots", "tmeta_with_shared_internal_root",
                                           "tmeta_with_shared_internals_and_leaves", "tmeta_device_id_reuse"));

TEST(KernelFixtureCorrupted, LiveSuperblockStillValidates) {
  testing::TempDir dir;
  sim::ImageDevice dev(load_fixture("corrupted_tmeta_with_metadata_snap", dir));
  BlockManager bm(dev, 64);
  auto sbr = bm.read_lock(0, &thin::superblock_validator());
  ASSERT_TRUE(sbr.ok()) << sbr.error().to_string();
  thin::Superblock sb = thin::Superblock::unpack(sbr->data().data());
  EXPECT_NE(sb.held_root, 0u);  // the metadata snapshot the README says is intact
  sbr->release();
  auto held = bm.read_lock(sb.held_root, &thin::superblock_validator());
  ASSERT_TRUE(held.ok()) << held.error().to_string();
}

}  // namespace
}  // namespace pdsim
