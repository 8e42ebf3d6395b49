// SPDX-License-Identifier: GPL-2.0-or-later
// Pack files end to end: the kernel fixtures unpack to exactly their raw images (and our encoder
// reproduces upstream's byte-code for every block in them); random engine pools round-trip
// through pack and unpack; packing is deterministic.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/pack/block_kind.h"
#include "core/pack/pack.h"
#include "core/thin/pool_metadata.h"
#include "sim/image.h"
#include "sim/rng.h"
#include "tests/pack_test_util.h"
#include "testing/test_util.h"

#ifndef PDSIM_FIXTURE_DIR
#error "PDSIM_FIXTURE_DIR must name shared/fixtures/kernel-metadata"
#endif

namespace pdsim {
namespace {

using testing::Bytes;

#define ASSERT_OK(expr)                                                    \
  do {                                                                     \
    const auto& r_ = (expr);                                               \
    ASSERT_TRUE(r_.ok()) << #expr << ": " << r_.error().to_string();       \
  } while (false)

std::string fixture(const std::string& name, const std::string& ext) {
  return std::string(PDSIM_FIXTURE_DIR) + "/" + name + ext;
}

Bytes read_file(const std::string& path) {
  auto r = pack::read_whole_file(path);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().to_string());
  return r.ok() ? std::move(r).value() : Bytes{};
}

struct FixtureCase {
  const char* name;
  const char* sha256;  // of the raw image, from the fixtures' README
};

class PackFixture : public ::testing::TestWithParam<FixtureCase> {};

TEST_P(PackFixture, UnpacksToExactlyTheRawImage) {
  testing::TempDir dir;
  const std::string out = dir.file("unpacked.bin"), raw = dir.file("raw.bin");
  auto stats = pack::unpack_file(fixture(GetParam().name, ".pack"), out);
  ASSERT_OK(stats);
  EXPECT_EQ(stats->nr_blocks, 1024u);
  auto sum = testing::run_command("sha256sum '" + out + "'");
  ASSERT_EQ(sum.rc, 0);
  EXPECT_EQ(sum.out.substr(0, 64), GetParam().sha256);
  ASSERT_EQ(std::system(("xz -dc '" + fixture(GetParam().name, ".bin.xz") + "' > '" + raw + "'").c_str()), 0);
  EXPECT_EQ(read_file(out), read_file(raw));

  // The in-memory device the tools read through holds the same blocks.
  auto dev = pack::open_input_image(fixture(GetParam().name, ".pack"));
  ASSERT_OK(dev);
  const Bytes raw_bytes = read_file(raw);
  ASSERT_EQ((*dev)->nr_blocks() * kBlockSize, raw_bytes.size());
  Block b{};
  for (BlockNr i = 0; i < (*dev)->nr_blocks(); ++i) {
    ASSERT_OK((*dev)->read(i, b));
    ASSERT_TRUE(std::equal(b.begin(), b.end(), raw_bytes.begin() + static_cast<std::ptrdiff_t>(i * kBlockSize))) << i;
  }
  EXPECT_EQ((*dev)->write(0, b).error().kind(), ErrorKind::read_only);
}

// Every entry of upstream's pack, re-encoded by us, gives upstream's byte-code byte for byte.
TEST_P(PackFixture, OurEncoderReproducesUpstreamByteCode) {
  const Bytes file = read_file(fixture(GetParam().name, ".pack"));
  ASSERT_GE(file.size(), pack::kHeaderSize);
  std::size_t pos = pack::kHeaderSize, entries = 0;
  while (pos < file.size()) {
    const std::uint64_t len = load_le<std::uint64_t>(file.data() + pos);
    const Bytes payload = testing::zlib_inflate(file.data() + pos + 8, len);
    pos += 8 + len;
    pack::SpanSource src(payload);
    while (!*src.at_end()) {
      std::uint8_t nr[8];
      ASSERT_OK(src.read(nr, 8));
      const std::uint64_t start = src.consumed();
      Block block{};
      ASSERT_OK(pack::decode_block(src, block));
      const Bytes upstream(payload.begin() + static_cast<std::ptrdiff_t>(start),
                           payload.begin() + static_cast<std::ptrdiff_t>(src.consumed()));
      const auto kind = pack::classify_block(block);
      ASSERT_TRUE(kind.has_value());
      Bytes ours;
      pack::encode_block(block, *kind, ours);
      ASSERT_EQ(ours, upstream) << "block " << load_le<std::uint64_t>(nr) << " (" << pack::to_string(*kind) << ")";
      ++entries;
    }
  }
  EXPECT_GT(entries, 10u);
}

INSTANTIATE_TEST_SUITE_P(
    Kernel, PackFixture,
    ::testing::Values(
        FixtureCase{"tmeta_with_empty_roots", "376f6973b639a13080054bf70f67875e0eadaf3254cab244be4fe076e1a10afe"},
        FixtureCase{"tmeta_with_shared_internal_root", "b2eaf66e5787d7e2a4c31d61395238c3438cd4afe5c6dd40748522eaa1bf51fd"},
        FixtureCase{"tmeta_with_shared_internals_and_leaves",
                    "d8307856a4c2977a62dbfb43fd7c912ffb9b9383bf8691bc0aee9b769ddcbc47"},
        FixtureCase{"tmeta_device_id_reuse", "fbc395ec2c6887954df54ae94b87d7894b007d612f3502fab5e4a9a827a7e9a5"},
        FixtureCase{"corrupted_tmeta_with_metadata_snap",
                    "4cf5a5f903df69055a3426fa3788d138e5dff7930d23b8e0a9728f2b5f7c7401"}),
    [](const auto& p) { return std::string(p.param.name); });

// ---- Engine pools ---------------------------------------------------------------------------------

// A random pool from our engine (thins, snapshots, mappings, removals, commits, a metadata
// snapshot), plus blocks the engine never writes: noise with no valid checksum (must come back
// as zeros) and valid blocks of the other kinds (cache, era, array: must come back as they are).
sim::Image random_pool(std::uint64_t seed) {
  sim::Rng rng(seed);
  const BlockNr nr_blocks = 2048 + rng.below(2048);
  sim::ImageDevice dev{sim::Image(nr_blocks)};
  auto run = [&]() -> Status {
    PDSIM_TRY_ASSIGN(auto pool, thin::PoolMetadata::format(dev, 128));
    PDSIM_TRY(pool->resize_data(100000));
    PDSIM_TRY(pool->commit());
    std::vector<std::uint64_t> ids;
    for (int step = 0; step < 3000; ++step) {
      const auto dice = rng.below(100);
      if (ids.empty() || dice < 2) {
        ids.push_back(ids.size() + 1);
        PDSIM_TRY(pool->create_thin(ids.back()));
      } else if (dice < 4) {
        const std::uint64_t origin = ids[rng.below(ids.size())];
        ids.push_back(ids.size() + 1);
        PDSIM_TRY(pool->create_snapshot(ids.back(), origin));
      } else if (dice < 85) {
        PDSIM_TRY_ASSIGN(auto data, pool->alloc_data_block());
        if (!data) continue;
        PDSIM_TRY(pool->insert_mapping(ids[rng.below(ids.size())], rng.below(5000), *data));
      } else if (dice < 95) {
        const std::uint64_t b = rng.below(5000);
        PDSIM_TRY_ASSIGN(auto removed, pool->remove_range(ids[rng.below(ids.size())], b, b + rng.below(50)));
        (void)removed;
      } else {
        PDSIM_TRY(pool->commit());
      }
      if (step == 1500) PDSIM_TRY(pool->reserve_metadata_snap());
    }
    return pool->commit();
  };
  auto s = run();
  EXPECT_TRUE(s.ok()) << s.error().to_string();
  sim::Image img = dev.image();
  const std::uint32_t salts[] = {salt::cache_superblock, 146538381u, salt::array_block, salt::sm_index};
  for (int i = 0; i < 8; ++i) {
    Block noise{};
    for (auto& byte : noise) byte = static_cast<std::uint8_t>(rng.next());
    img.write(nr_blocks - 2 - static_cast<BlockNr>(i), noise);
  }
  for (std::size_t i = 0; i < std::size(salts); ++i)
    img.write(nr_blocks - 20 - i, testing::valid_block(static_cast<std::uint8_t>(i), salts[i]));
  img.write(nr_blocks - 1, testing::valid_block(99, salt::array_block));  // the last block counts too
  return img;
}

Bytes pack_to_memory(BlockDevice& dev, pack::PackStats* stats = nullptr) {
  Bytes out;
  auto r = pack::write_pack(dev, [&](std::span<const std::uint8_t> b) {
    out.insert(out.end(), b.begin(), b.end());
    return Status{};
  });
  EXPECT_TRUE(r.ok()) << r.error().to_string();
  if (r.ok() && stats != nullptr) *stats = *r;
  return out;
}

class PackRoundTrip : public ::testing::TestWithParam<std::uint64_t> {};

TEST_P(PackRoundTrip, EnginePoolUnpacksByteIdentical) {
  const sim::Image img = random_pool(GetParam());
  sim::ImageDevice dev{img};
  pack::PackStats stats;
  const Bytes file = pack_to_memory(dev, &stats);
  auto back = pack::load_pack(file);
  ASSERT_OK(back);
  ASSERT_EQ((*back)->nr_blocks(), img.nr_blocks());
  std::uint64_t packed = 0, zeroed = 0;
  Block want{}, got{};
  for (BlockNr b = 0; b < img.nr_blocks(); ++b) {
    img.read(b, want);
    ASSERT_OK((*back)->read(b, got));
    if (pack::classify_block(want)) {
      ++packed;
      ASSERT_EQ(got, want) << "block " << b;
    } else {
      zeroed += sim::is_zero(want) ? 0u : 1u;
      ASSERT_TRUE(sim::is_zero(got)) << "block " << b << " has no valid checksum and must unpack as zeros";
    }
  }
  EXPECT_EQ(stats.blocks, packed);
  EXPECT_EQ(zeroed, 8u) << "the noise blocks";
  EXPECT_GT(packed, 50u);

  // Through files too, as `pdsim pack` / `pdsim unpack` do it.
  testing::TempDir dir;
  const std::string p = dir.file("pool.pack"), out = dir.file("pool.bin");
  ASSERT_OK(pack::write_pack_file(dev, p));
  EXPECT_FALSE(std::filesystem::exists(p + ".partial"));
  EXPECT_EQ(read_file(p), file);
  ASSERT_OK(pack::unpack_file(p, out));
  auto unpacked = sim::Image::load(out);
  ASSERT_OK(unpacked);
  for (BlockNr b = 0; b < img.nr_blocks(); ++b) {
    img.read(b, want);
    if (!pack::classify_block(want)) want.fill(0);
    unpacked->read(b, got);
    ASSERT_EQ(got, want) << "block " << b;
  }
}

TEST_P(PackRoundTrip, PackingIsDeterministic) {
  const sim::Image img = random_pool(GetParam());
  sim::ImageDevice a{img}, b{img};
  const Bytes first = pack_to_memory(a);
  EXPECT_EQ(pack_to_memory(b), first);
  // Packing what a pack unpacks to gives the same pack again.
  auto back = pack::load_pack(first);
  ASSERT_OK(back);
  EXPECT_EQ(pack_to_memory(**back), first);
  // And a different image gives different bytes (the comparison can fail).
  sim::Image other = img;
  Block blk{};
  other.read(0, blk);
  blk[200] ^= 1;
  stamp_checksum(blk, salt::thin_superblock);
  other.write(0, blk);
  sim::ImageDevice c{other};
  EXPECT_NE(pack_to_memory(c), first);
}

INSTANTIATE_TEST_SUITE_P(Seeds, PackRoundTrip, ::testing::Values(1u, 2u, 3u, 4u));

// More than 1024 recognised blocks: several records, each within the limit.
TEST(PackWriter, SplitsRecordsAt1024Entries) {
  sim::Image img(3000);
  for (BlockNr b = 0; b < 2500; ++b) img.write(b, testing::valid_block(static_cast<std::uint8_t>(b), salt::sm_bitmap));
  sim::ImageDevice dev{img};
  pack::PackStats stats;
  const Bytes file = pack_to_memory(dev, &stats);
  EXPECT_EQ(stats.blocks, 2500u);
  EXPECT_EQ(stats.records, 3u);
  auto back = pack::load_pack(file);
  ASSERT_OK(back);
  Block got{};
  ASSERT_OK((*back)->read(2499, got));
  EXPECT_EQ(got, testing::valid_block(static_cast<std::uint8_t>(2499), salt::sm_bitmap));
}

}  // namespace
}  // namespace pdsim
