// SPDX-License-Identifier: GPL-2.0-or-later
// The image comparison behind the differential scenarios (scenarios/differential/image_diff.h):
// equal images agree; bytes nothing reads (the superblock's space-map root tails) are ignored; a
// byte nothing dumps or counts is a bytes divergence; equal dumps over other blocks are an
// allocation or bytes divergence, never a logical one; a different dump is logical. And the
// differential scenarios themselves catch a seed bug switched on in pdsim's engine.
#include <gtest/gtest.h>

#include <sstream>

#include "core/block/checksum.h"
#include "core/common/endian.h"
#include "core/common/seed_bugs.h"
#include "core/thin/pool_metadata.h"
#include "core/thin/thin_format.h"
#include "kernel/kernel_engine.h"
#include "scenarios/differential/differential.h"
#include "scenarios/differential/image_diff.h"
#include "sim/sim_disk.h"

namespace pdsim::scenarios {
namespace {

// A committed pool on a fresh disk: device 1 with `n` mappings, then `extra` creates and deletes
// of device 2, each committed (they leave the dump as it was and move blocks around).
sim::Image pool(std::uint64_t n, int extra = 0) {
  sim::SimDisk disk(1024, 1);
  auto md = thin::PoolMetadata::format(disk, 128);
  EXPECT_TRUE(md.ok());
  EXPECT_TRUE((*md)->resize_data(10000).ok());
  EXPECT_TRUE((*md)->create_thin(1).ok());
  for (std::uint64_t v = 0; v < n; ++v) {
    auto b = (*md)->alloc_data_block();
    EXPECT_TRUE(b.ok() && b->has_value());
    EXPECT_TRUE((*md)->insert_mapping(1, v * 7, **b).ok());
  }
  EXPECT_TRUE((*md)->commit().ok());
  for (int i = 0; i < extra; ++i) {
    EXPECT_TRUE((*md)->create_thin(2).ok());
    EXPECT_TRUE((*md)->commit().ok());
    EXPECT_TRUE((*md)->delete_device(2).ok());
    EXPECT_TRUE((*md)->commit().ok());
  }
  return disk.current();
}

// Image `img` with superblock bytes [at, at + bytes.size()) replaced and the checksum redone.
sim::Image patch_superblock(const sim::Image& img, std::size_t at, const std::vector<std::uint8_t>& bytes) {
  Block sb = *img.get(0);
  std::copy(bytes.begin(), bytes.end(), sb.begin() + static_cast<long>(at));
  store_le<std::uint32_t>(sb.data(), block_checksum(sb, salt::thin_superblock));
  sim::Image out = img;
  out.write(0, sb);
  return out;
}

TEST(ImageDiff, EqualImagesAgree) { EXPECT_FALSE(compare_images(MetadataKind::thin, pool(300), "a", pool(300), "b")); }

TEST(ImageDiff, TheSpaceMapRootTailsAreNotCompared) {
  const sim::Image a = pool(300);
  const sim::Image b = patch_superblock(a, 100, std::vector<std::uint8_t>(80, 0xa5));
  EXPECT_FALSE(compare_images(MetadataKind::thin, a, "a", b, "b"));
}

TEST(ImageDiff, AByteNothingDumpsOrCountsIsABytesDivergence) {
  const sim::Image a = pool(300);
  const sim::Image b = patch_superblock(a, thin::sb::compat_flags, {1, 0, 0, 0});
  const auto d = compare_images(MetadataKind::thin, a, "a", b, "b");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->level, DiffLevel::bytes) << d->what;
  EXPECT_NE(d->what.find("metadata block 0"), std::string::npos) << d->what;
}

TEST(ImageDiff, EqualDumpsOverOtherBlocksAreNotALogicalDivergence) {
  const auto d = compare_images(MetadataKind::thin, pool(300), "a", pool(300, 3), "b");
  ASSERT_TRUE(d);
  EXPECT_NE(d->level, DiffLevel::logical) << d->what;
}

TEST(ImageDiff, ADifferentDumpIsALogicalDivergence) {
  const auto d = compare_images(MetadataKind::thin, pool(300), "a", pool(301), "b");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->level, DiffLevel::logical) << d->what;
  EXPECT_NE(d->what.find("dump"), std::string::npos) << d->what;
}

// Seed bug (b), the space map's recursive operations applied LIFO instead of FIFO, changes which
// blocks pdsim's engine allocates: the differential sees it against the kernel within 8 seeds.
TEST(DifferentialScenarios, CatchASeedBugInPdsimsEngine) {
  ASSERT_TRUE(kernel::available()) << kernel::source_description();
  RunOptions opts;  // the peer: the kernel's code
  std::ostringstream sink;
  const Scenario sc = differential_thin_scenario();
  for (std::uint64_t seed = 1; seed <= 8; ++seed) EXPECT_TRUE(sc.run(seed, opts, sink).passed) << "seed " << seed;
  int caught = 0;
  {
    ScopedBugs on({Bug::b});
    for (std::uint64_t seed = 1; seed <= 8; ++seed) caught += sc.run(seed, opts, sink).passed ? 0 : 1;
  }
  EXPECT_GT(caught, 0);
}

}  // namespace
}  // namespace pdsim::scenarios
