// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/common/crc32c.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <vector>

#include "core/block/checksum.h"
#include "sim/rng.h"

namespace pdsim {
namespace {

TEST(Crc32c, StandardCheckValue) {
  const char* s = "123456789";
  EXPECT_EQ(crc32c_raw(0xFFFFFFFFu, s, 9) ^ 0xFFFFFFFFu, 0xE3069283u);
  EXPECT_EQ(crc32c_portable(0xFFFFFFFFu, s, 9) ^ 0xFFFFFFFFu, 0xE3069283u);
  if (crc32c_hardware_available()) {
    EXPECT_EQ(crc32c_hardware(0xFFFFFFFFu, s, 9) ^ 0xFFFFFFFFu, 0xE3069283u);
  }
}

TEST(Crc32c, RawOfZeroBlockTail) {
  std::vector<std::uint8_t> zeros(4092, 0);
  EXPECT_EQ(crc32c_raw(0xFFFFFFFFu, zeros.data(), zeros.size()), 0x58CDA791u);
  EXPECT_EQ(crc32c_portable(0xFFFFFFFFu, zeros.data(), zeros.size()), 0x58CDA791u);
}

TEST(Crc32c, HardwareMatchesPortableAtEveryLengthAndAlignment) {
  if (!crc32c_hardware_available()) {
    // No SSE4.2 on this CPU: the dispatcher must have chosen the portable path.
    EXPECT_EQ(crc32c_implementation(), "portable");
    return;
  }
  sim::Rng rng(7);
  std::vector<std::uint8_t> buf(4096 + 16);
  rng.fill(std::span<std::uint8_t>(buf));
  for (std::size_t off = 0; off < 8; ++off)
    for (std::size_t len : {0u, 1u, 3u, 7u, 8u, 9u, 15u, 63u, 64u, 511u, 4092u, 4096u})
      ASSERT_EQ(crc32c_hardware(0x12345678u, buf.data() + off, len), crc32c_portable(0x12345678u, buf.data() + off, len))
          << "offset " << off << " length " << len;
}

TEST(Crc32c, IncrementalEqualsOneShot) {
  const char* s = "persistent-data";
  auto whole = crc32c_raw(0xFFFFFFFFu, s, std::strlen(s));
  auto part = crc32c_raw(crc32c_raw(0xFFFFFFFFu, s, 5), s + 5, std::strlen(s) - 5);
  EXPECT_EQ(whole, part);
}

struct SaltCase {
  std::uint32_t salt;
  std::uint32_t zero_checksum;
};

class SaltedZeroBlock : public ::testing::TestWithParam<SaltCase> {};

// ondisk-format.md §3.2: the checksum of a block whose checked bytes are all zero, per salt.
TEST_P(SaltedZeroBlock, MatchesSpecTable) {
  Block b{};
  EXPECT_EQ(block_checksum(ConstBlockSpan(b), GetParam().salt), GetParam().zero_checksum);
  stamp_checksum(BlockSpan(b), GetParam().salt);
  EXPECT_EQ(stored_checksum(ConstBlockSpan(b)), GetParam().zero_checksum);
  // The checksum field itself is not covered: stamping again gives the same value.
  EXPECT_EQ(block_checksum(ConstBlockSpan(b), GetParam().salt), GetParam().zero_checksum);
}

INSTANTIATE_TEST_SUITE_P(Spec, SaltedZeroBlock,
                         ::testing::Values(SaltCase{salt::thin_superblock, 1490015127u},
                                           SaltCase{salt::cache_superblock, 1480881848u},
                                           SaltCase{salt::btree_node, 1489796738u},
                                           SaltCase{salt::sm_index, 1490015567u},
                                           SaltCase{salt::sm_bitmap, 1489898266u},
                                           SaltCase{salt::array_block, 2068726238u}));

TEST(Checksum, CoversEveryByteAfterTheField) {
  Block b{};
  auto base = block_checksum(ConstBlockSpan(b), salt::btree_node);
  for (std::size_t i : {4u, 100u, 4095u}) {
    Block c = b;
    c[i] ^= 1;
    EXPECT_NE(block_checksum(ConstBlockSpan(c), salt::btree_node), base) << "byte " << i;
  }
}

}  // namespace
}  // namespace pdsim
