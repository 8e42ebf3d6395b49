// SPDX-License-Identifier: GPL-2.0-or-later
// The kernel engine (kernel/): images cross over between the kernel's code and ours, a kernel BUG
// becomes an engine_bug error instead of killing the process, and the kernel's
// dm_cache_metadata_abort alone leaves in-core state our engine's seam does not allow.
#include <gtest/gtest.h>

#include "core/cache/cache_metadata.h"
#include "core/check/thin_input.h"
#include "core/thin/pool_metadata.h"
#include "kernel/kernel_engine.h"
#include "sim/sim_disk.h"

namespace pdsim {
namespace {

constexpr std::uint32_t kDataBlockSize = 128;

// A small pool with two devices, a snapshot and a few hundred mappings, committed.
void fill(seam::ThinMetadata& md) {
  ASSERT_TRUE(md.resize_data(4096).ok());
  ASSERT_TRUE(md.create_thin(1).ok());
  for (std::uint64_t v = 0; v < 600; ++v) {
    auto b = md.alloc_data_block();
    ASSERT_TRUE(b.ok() && b->has_value());
    ASSERT_TRUE(md.insert_mapping(1, v * 3, **b).ok());
  }
  ASSERT_TRUE(md.create_snapshot(2, 1).ok());
  ASSERT_TRUE(md.remove_range(1, 100, 400).ok());
  ASSERT_TRUE(md.commit().ok());
}

void expect_contents(seam::ThinMetadata& md) {
  auto ids = md.device_ids();
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, (std::vector<std::uint64_t>{1, 2}));
  auto n1 = md.mapped_count(1);
  auto n2 = md.mapped_count(2);
  ASSERT_TRUE(n1.ok() && n2.ok());
  EXPECT_EQ(*n1, 500u);  // 600 minus the 100 keys 102..399 step 3 (v*3 in [100, 400))
  EXPECT_EQ(*n2, 600u);
  auto hit = md.find_block(2, 300);
  ASSERT_TRUE(hit.ok());
  ASSERT_TRUE(hit->has_value());
  EXPECT_TRUE((*hit)->shared);
  auto miss = md.find_block(1, 300);
  ASSERT_TRUE(miss.ok());
  EXPECT_FALSE(miss->has_value());
}

TEST(KernelEngine, IsBuilt) {
  ASSERT_TRUE(kernel::available()) << kernel::source_description();
}

TEST(KernelEngine, AnImageTheKernelCommitsOpensInOursAndChecksClean) {
  if (!kernel::available()) GTEST_SKIP() << "no kernel engine in this build";
  sim::SimDisk disk(2048, 1);
  {
    auto md = kernel::thin_engine().format(disk, kDataBlockSize, 64);
    ASSERT_TRUE(md.ok()) << md.error().to_string();
    fill(**md);
  }
  auto report = check::check_thin(disk);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->clean());
  auto ours = thin::pdsim_thin_engine().open(disk, kDataBlockSize, false, 64);
  ASSERT_TRUE(ours.ok()) << ours.error().to_string();
  expect_contents(**ours);
}

TEST(KernelEngine, AnImageOurEngineCommitsOpensInTheKernels) {
  if (!kernel::available()) GTEST_SKIP() << "no kernel engine in this build";
  sim::SimDisk disk(2048, 1);
  {
    auto md = thin::pdsim_thin_engine().format(disk, kDataBlockSize, 64);
    ASSERT_TRUE(md.ok()) << md.error().to_string();
    fill(**md);
  }
  auto k = kernel::thin_engine().open(disk, kDataBlockSize, false, 64);
  ASSERT_TRUE(k.ok()) << k.error().to_string();
  expect_contents(**k);
  // And the kernel can go on from it: a commit on top checks clean.
  ASSERT_TRUE((*k)->create_thin(7).ok());
  ASSERT_TRUE((*k)->commit().ok());
  k->reset();
  auto report = check::check_thin(disk);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->clean());
}

TEST(KernelEngine, DroppingAnInstanceWritesNothing) {
  if (!kernel::available()) GTEST_SKIP() << "no kernel engine in this build";
  sim::SimDisk disk(2048, 1);
  auto md = kernel::thin_engine().format(disk, kDataBlockSize, 8);
  ASSERT_TRUE(md.ok());
  fill(**md);
  ASSERT_TRUE((*md)->create_thin(9).ok());
  for (std::uint64_t v = 0; v < 400; ++v) ASSERT_TRUE((*md)->insert_mapping(9, v, v).ok());
  const auto writes_before = disk.counters().writes;
  md->reset();  // a crash: the kernel's destroy would write every dirty buffer
  EXPECT_EQ(disk.counters().writes, writes_before);
}

TEST(KernelEngine, ACacheImageTheKernelCommitsOpensInOurs) {
  if (!kernel::available()) GTEST_SKIP() << "no kernel engine in this build";
  for (std::uint32_t version : {1u, 2u}) {
    sim::SimDisk disk(1024, 1);
    {
      auto md = kernel::cache_engine().format(disk, 64, version);
      ASSERT_TRUE(md.ok()) << md.error().to_string();
      ASSERT_TRUE((*md)->resize(1000).ok());
      for (std::uint32_t c = 0; c < 1000; c += 7) ASSERT_TRUE((*md)->insert_mapping(c, 5000 + c).ok());
      ASSERT_TRUE((*md)->set_dirty(14, true).ok());
      ASSERT_TRUE((*md)->commit(true).ok());
    }
    auto ours = cache::pdsim_cache_engine().open(disk, 64);
    ASSERT_TRUE(ours.ok()) << ours.error().to_string();
    EXPECT_EQ((*ours)->cache_blocks(), 1000u);
    auto m = (*ours)->lookup(14);
    ASSERT_TRUE(m.ok() && m->has_value());
    EXPECT_EQ((*m)->oblock, 5014u);
    EXPECT_TRUE((*m)->dirty);
    auto none = (*ours)->lookup(15);
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(none->has_value());
  }
}

}  // namespace
}  // namespace pdsim
