// SPDX-License-Identifier: GPL-2.0-or-later
// The metadata-store protocol (core/tm/metadata_store.h): the superblock validator, the commit
// steps and the two abort options.
#include "core/tm/metadata_store.h"

#include <gtest/gtest.h>

#include <memory>

#include "core/block/block_manager.h"
#include "core/cache/cache_metadata.h"
#include "core/common/endian.h"
#include "core/io/forwarding_device.h"
#include "core/sm/metadata_space_map.h"
#include "core/thin/pool_metadata.h"
#include "sim/sim_disk.h"

namespace pdsim {
namespace {

constexpr std::uint64_t kMagic = 0x1122334455667788ull;
constexpr std::size_t kTxnOffset = 32;

const Validator& test_validator() {
  static const SuperblockValidator v({"test superblock", 0x51a7u, 8, 16, kMagic});
  return v;
}

class CountingDevice final : public ForwardingDevice {
 public:
  using ForwardingDevice::ForwardingDevice;
  [[nodiscard]] Status flush() override {
    ++flushes;
    return ForwardingDevice::flush();
  }
  int flushes = 0;
};

struct Store {
  explicit Store(BlockDevice& dev) : bm(dev, 16), tm(bm) {}
  Status format() {
    PDSIM_TRY_ASSIGN(meta, sm::MetadataSpaceMap::create(tm, bm.nr_blocks()));
    return commit(1);
  }
  Status commit(std::uint64_t txn) {
    return commit_transaction(tm, test_validator(), {meta.get()}, SuperblockLock::zero,
                              [&](std::uint8_t* d, std::span<const SpaceMapRoot> roots) {
                                store_le<std::uint64_t>(d + 16, kMagic);
                                store_le<std::uint64_t>(d + kTxnOffset, txn);
                                std::copy(roots[0].begin(), roots[0].end(), d + 64);
                              });
  }
  BlockManager bm;
  TransactionManager tm;
  std::unique_ptr<sm::MetadataSpaceMap> meta;
};

TEST(MetadataStore, CommitWritesASuperblockItsValidatorAccepts) {
  sim::SimDisk disk(64, 1);
  Store s(disk);
  ASSERT_TRUE(s.format());
  ASSERT_TRUE(s.commit(7));
  BlockManager fresh(disk, 4);
  auto sb = read_superblock(fresh, test_validator());
  ASSERT_TRUE(sb) << sb.error().message();
  EXPECT_EQ(load_le<std::uint64_t>(sb->data() + kTxnOffset), 7u);
}

TEST(MetadataStore, ValidatorNamesABadMagicAndABadBlockNumber) {
  Block b{};
  store_le<std::uint64_t>(b.data() + 8, 0);
  store_le<std::uint64_t>(b.data() + 16, kMagic ^ 1);
  Status s = test_validator().check(b, 0);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("test superblock at block 0: bad magic"), std::string::npos) << s.error().message();
  store_le<std::uint64_t>(b.data() + 16, kMagic);
  s = test_validator().check(b, 3);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message().find("blocknr field says 0"), std::string::npos) << s.error().message();
}

TEST(MetadataStore, AnUnformattedDeviceIsNamedNotAChecksumError) {
  sim::SimDisk disk(16, 1);
  BlockManager bm(disk, 4);
  auto sb = read_formatted_superblock(bm, test_validator(), "test device");
  ASSERT_FALSE(sb);
  EXPECT_EQ(sb.error().message(), "test device is not formatted: block 0 is all zeros");
}

// The rule flushes the device before the superblock is read back; dm-thin's abort does not.
TEST(MetadataStore, AbortFlushesTheDeviceUnlessTheKernelOptionIsNamed) {
  sim::SimDisk disk(64, 1);
  CountingDevice dev(disk);
  Store s(dev);
  ASSERT_TRUE(s.format());
  const int before = dev.flushes;
  ASSERT_TRUE(abort_transaction(s.tm, dev, AbortFlush::flush_device));
  EXPECT_EQ(dev.flushes, before + 1);
  ASSERT_TRUE(abort_transaction(s.tm, dev, AbortFlush::kernel_no_flush));
  EXPECT_EQ(dev.flushes, before + 1);
}

// Where each store uses which: the thin pool keeps the kernel's no-flush abort, the cache flushes.
TEST(MetadataStore, ThePoolAbortsWithoutAFlushAndTheCacheWithOne) {
  sim::SimDisk thin_disk(256, 1);
  CountingDevice thin_dev(thin_disk);
  auto pool = thin::PoolMetadata::format(thin_dev, 128);
  ASSERT_TRUE(pool) << pool.error().message();
  ASSERT_TRUE((*pool)->create_thin(0));
  int before = thin_dev.flushes;
  ASSERT_TRUE((*pool)->abort());
  EXPECT_EQ(thin_dev.flushes, before);

  sim::SimDisk cache_disk(256, 1);
  CountingDevice cache_dev(cache_disk);
  auto cache = cache::CacheMetadata::format(cache_dev, 64, 2);
  ASSERT_TRUE(cache) << cache.error().message();
  before = cache_dev.flushes;
  ASSERT_TRUE((*cache)->abort());
  EXPECT_EQ(cache_dev.flushes, before + 1);
}

}  // namespace
}  // namespace pdsim
