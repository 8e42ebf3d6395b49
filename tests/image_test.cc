// SPDX-License-Identifier: GPL-2.0-or-later
#include "sim/image.h"

#include <gtest/gtest.h>

#include "testing/test_util.h"

namespace pdsim::sim {
namespace {

using pdsim::testing::pattern_block;

TEST(Image, UnwrittenBlocksReadAsZeros) {
  Image img(10);
  Block b;
  b.fill(0xAA);
  img.read(7, BlockSpan(b));
  EXPECT_TRUE(is_zero(ConstBlockSpan(b)));
  EXPECT_EQ(img.written_blocks(), 0u);
}

TEST(Image, CopiesAreCopyOnWrite) {
  Image a(1000);
  a.write(3, ConstBlockSpan(pattern_block(1)));
  Image b = a;
  b.write(3, ConstBlockSpan(pattern_block(2)));
  b.write(900, ConstBlockSpan(pattern_block(3)));
  Block out;
  a.read(3, BlockSpan(out));
  EXPECT_EQ(out, pattern_block(1));
  EXPECT_EQ(a.get(900), nullptr);
  b.read(3, BlockSpan(out));
  EXPECT_EQ(out, pattern_block(2));
  // Untouched blocks are shared, not copied.
  a.write(500, ConstBlockSpan(pattern_block(4)));
  Image c = a;
  EXPECT_EQ(c.get(500).get(), a.get(500).get());
}

TEST(Image, ContentEqualityTreatsZeroBlocksAsUnwritten) {
  Image a(8), b(8);
  a.write(2, ConstBlockSpan(Block{}));
  EXPECT_TRUE(a.same_content(b));
  EXPECT_EQ(a.digest(), b.digest());
  b.write(2, ConstBlockSpan(pattern_block(1)));
  EXPECT_FALSE(a.same_content(b));
  EXPECT_NE(a.digest(), b.digest());
}

TEST(Image, DigestDependsOnPlacement) {
  Image a(8), b(8);
  a.write(1, ConstBlockSpan(pattern_block(5)));
  b.write(2, ConstBlockSpan(pattern_block(5)));
  EXPECT_NE(a.digest(), b.digest());
}

TEST(Image, SaveAndLoadRoundTrip) {
  pdsim::testing::TempDir dir;
  Image a(40);
  a.write(0, ConstBlockSpan(pattern_block(1)));
  a.write(39, ConstBlockSpan(pattern_block(2)));
  ASSERT_TRUE(a.save(dir.file("img")).ok());
  auto b = Image::load(dir.file("img"));
  ASSERT_TRUE(b.ok()) << b.error().to_string();
  EXPECT_EQ(b->nr_blocks(), 40u);
  EXPECT_TRUE(a.same_content(*b));
  EXPECT_FALSE(Image::load(dir.file("missing")).ok());
}

TEST(ImageDevice, WritesAreDurableAndBoundsChecked) {
  ImageDevice dev(Image(4));
  ASSERT_TRUE(dev.write(1, ConstBlockSpan(pattern_block(9))).ok());
  Block out;
  ASSERT_TRUE(dev.read(1, BlockSpan(out)).ok());
  EXPECT_EQ(out, pattern_block(9));
  EXPECT_FALSE(dev.read(4, BlockSpan(out)).ok());
  EXPECT_FALSE(dev.write(4, ConstBlockSpan(out)).ok());
}

}  // namespace
}  // namespace pdsim::sim
