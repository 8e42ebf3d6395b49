// SPDX-License-Identifier: GPL-2.0-or-later
// dm-cache metadata against Debian's thin-provisioning-tools 0.9 (cache_check, cache_dump,
// cache_restore): random caches our engine commits pass cache_check and cache_dump prints our
// model (allowing for 0.9's version-2 dirty bug); cache_restore images read back identically
// through pdsim cache-dump; our cache-restore passes cache_check; and wherever cache_check
// reports a damaged block, pdsim cache-check does too.
#include <gtest/gtest.h>

#include <algorithm>

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/block/checksum.h"
#include "core/cache/cache_format.h"
#include "core/cache/cache_metadata.h"
#include "core/check/cache_input.h"
#include "core/io/file_device.h"
#include "sim/image.h"
#include "tests/cache_model.h"
#include "testing/test_util.h"

#ifndef PDSIM_BINARY
#error "PDSIM_BINARY must name the pdsim program"
#endif

namespace pdsim::cache {
namespace {

using Cmd = pdsim::testing::CommandResult;
Cmd run(const std::string& cmd) { return pdsim::testing::run_command(cmd); }

#define ASSERT_OK(expr)                                              \
  do {                                                               \
    auto&& r_ = (expr);                                              \
    ASSERT_TRUE(r_.ok()) << #expr << ": " << r_.error().to_string(); \
  } while (false)

std::string first_diff(const std::string& a, const std::string& b) {
  std::istringstream x(a), y(b);
  std::string la, lb;
  for (int line = 1;; ++line) {
    const bool ga = static_cast<bool>(std::getline(x, la)), gb = static_cast<bool>(std::getline(y, lb));
    if (!ga && !gb) return "identical";
    if (la != lb || ga != gb) return fmt::format("line {}: '{}' vs '{}'", line, ga ? la : "<end>", gb ? lb : "<end>");
  }
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
}

void make_image(const std::string& path, BlockNr blocks) {
  ASSERT_EQ(run(fmt::format("rm -f '{0}'; truncate -s {1} '{0}'", path, blocks * kBlockSize)).rc, 0);
}

class EngineCaches : public ::testing::TestWithParam<std::tuple<std::uint32_t, std::uint64_t>> {};

TEST_P(EngineCaches, PassCacheCheckAndDumpAsTheModel) {
  ASSERT_EQ(run("command -v cache_check").rc, 0) << "thin-provisioning-tools is not installed";
  const auto [version, seed] = GetParam();
  pdsim::testing::TempDir dir;
  const std::string img = dir.file("cmeta.bin");
  make_image(img, 2048);
  auto dev = FileDevice::open(img, FileDevice::Mode::read_write);
  ASSERT_OK(dev);
  auto md = CacheMetadata::format(**dev, 128, version);
  ASSERT_OK(md);
  sim::Rng rng(seed * 977 + version);
  testing::CacheModel m;
  m.version = version;
  int checked = 0;
  for (int step = 0; step < 600; ++step) {
    if (rng.below(100) >= 6) {
      Status s = testing::random_op(**md, m, rng);
      ASSERT_TRUE(s.ok()) << s.error().to_string();
      continue;
    }
    const bool clean = rng.chance(1, 2);
    ASSERT_OK((*md)->commit(clean));
    ++checked;
    Cmd check = run(fmt::format("cache_check -q '{}'", img));
    ASSERT_EQ(check.rc, 0) << "cache_check rejected commit " << checked << " (clean " << clean << ")";
    Cmd dump = run(fmt::format("cache_dump '{}'", img));
    ASSERT_EQ(dump.rc, 0);
    ASSERT_TRUE(dump.out == m.xml(true)) << "cache_dump: " << first_diff(dump.out, m.xml(true));
    Cmd ours = run(fmt::format("{} cache-dump '{}'", PDSIM_BINARY, img));
    ASSERT_EQ(ours.rc, 0);
    ASSERT_TRUE(ours.out == m.xml()) << "pdsim cache-dump: " << first_diff(ours.out, m.xml());
    Cmd ours_check = run(fmt::format("{} cache-check '{}'", PDSIM_BINARY, img));
    ASSERT_EQ(ours_check.rc, 0) << ours_check.out;
    if (rng.chance(1, 3)) {  // close and reopen (the reopen clears the clean flag again)
      md->reset();
      md = CacheMetadata::open(**dev, 128);
      ASSERT_OK(md);
      ASSERT_EQ((*md)->clean_when_opened(), clean);
    }
  }
  EXPECT_GE(checked, 20);
}

INSTANTIATE_TEST_SUITE_P(Seeds, EngineCaches,
                         ::testing::Combine(::testing::Values(1u, 2u), ::testing::Values(1u, 2u, 3u)));

// A random document in cache_dump's format (every mapped block hinted, as cache_dump prints).
testing::CacheModel random_document(sim::Rng& rng, std::uint32_t version) {
  testing::CacheModel m;
  m.version = version;
  m.block_size = 64 * static_cast<std::uint32_t>(rng.between(1, 4));
  m.cache_blocks = static_cast<std::uint32_t>(rng.between(1, 5000));
  m.policy = rng.chance(1, 2) ? "smq" : "mq";
  m.hint_array = true;
  m.hints.assign(m.cache_blocks, 0);
  std::uint64_t o = rng.below(100);
  for (std::uint32_t c = 0; c < m.cache_blocks; ++c) {
    if (!rng.chance(1, 3)) continue;
    o += rng.between(1, 50);
    m.mappings[c] = Mapping{o, rng.chance(1, 2)};
    m.hints[c] = static_cast<std::uint32_t>(rng.next());
  }
  return m;
}

class Restores : public ::testing::TestWithParam<std::uint32_t> {};

TEST_P(Restores, ToolsImagesReadBackAndOursPassCacheCheck) {
  ASSERT_EQ(run("command -v cache_restore").rc, 0) << "thin-provisioning-tools is not installed";
  const std::uint32_t version = GetParam();
  pdsim::testing::TempDir dir;
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    SCOPED_TRACE(seed);
    sim::Rng rng(seed + 100 * version);
    const testing::CacheModel doc = random_document(rng, version);
    const std::string xml = dir.file("in.xml"), tools = dir.file("tools.bin"), ours = dir.file("ours.bin");
    write_file(xml, doc.xml());
    // cache_restore -> pdsim cache-dump: the document exactly (v2 dirty bits included).
    make_image(tools, 4096);
    ASSERT_EQ(run(fmt::format("cache_restore --metadata-version {} -i '{}' -o '{}'", version, xml, tools)).rc, 0);
    Cmd dumped = run(fmt::format("{} cache-dump '{}'", PDSIM_BINARY, tools));
    ASSERT_EQ(dumped.rc, 0);
    ASSERT_TRUE(dumped.out == doc.xml()) << first_diff(dumped.out, doc.xml());
    // The tools' images are valid but for their one known artefact: a leaked block.
    Cmd checked = run(fmt::format("{} cache-check --ignore-non-fatal-errors '{}'", PDSIM_BINARY, tools));
    EXPECT_EQ(checked.rc, 0) << checked.out;
    // Our restore -> cache_check clean, cache_dump the document (0.9 loses v2 dirty bits).
    make_image(ours, 4096);
    ASSERT_EQ(run(fmt::format("{} cache-restore --metadata-version {} -i '{}' -o '{}'", PDSIM_BINARY, version, xml, ours)).rc, 0);
    EXPECT_EQ(run(fmt::format("cache_check -q '{}'", ours)).rc, 0);
    Cmd tools_dump = run(fmt::format("cache_dump '{}'", ours));
    ASSERT_TRUE(tools_dump.out == doc.xml(true)) << first_diff(tools_dump.out, doc.xml(true));
    Cmd own = run(fmt::format("{} cache-check '{}'", PDSIM_BINARY, ours));
    EXPECT_EQ(own.rc, 0) << own.out;
    // And the engine opens it and reads the same mappings, dirty (clean shutdown) and hints.
    auto loaded = sim::Image::load(ours);
    ASSERT_OK(loaded);
    sim::ImageDevice image(std::move(loaded).value());
    auto md = CacheMetadata::open(image);
    ASSERT_OK(md);
    ASSERT_TRUE((*md)->clean_when_opened());
    std::map<std::uint32_t, Mapping> got;
    std::size_t hinted = 0;
    ASSERT_OK((*md)->load_mappings(Policy{doc.policy, {}, 4}, [&](const LoadedMapping& l) -> Result<bool> {
      got[l.cblock] = Mapping{l.oblock, l.dirty};
      if (l.hint && *l.hint == doc.hints[l.cblock]) ++hinted;
      return true;
    }));
    EXPECT_EQ(got, doc.mappings);
    EXPECT_EQ(hinted, doc.mappings.size());
  }
}

INSTANTIATE_TEST_SUITE_P(V, Restores, ::testing::Values(1u, 2u));

// ---- damage ----

const char* kCacheA =
    "<superblock uuid=\"\" block_size=\"128\" nr_cache_blocks=\"300\" policy=\"smq\" hint_width=\"4\">\n"
    "  <mappings>\n"
    "    <mapping cache_block=\"0\" origin_block=\"1000\" dirty=\"false\"/>\n"
    "    <mapping cache_block=\"1\" origin_block=\"7\" dirty=\"true\"/>\n"
    "    <mapping cache_block=\"299\" origin_block=\"123456\" dirty=\"true\"/>\n"
    "  </mappings>\n"
    "  <hints>\n"
    "    <hint cache_block=\"0\" data=\"AQIDBA==\"/>\n"
    "    <hint cache_block=\"1\" data=\"BQYHCA==\"/>\n"
    "    <hint cache_block=\"299\" data=\"/////w==\"/>\n"
    "  </hints>\n"
    "</superblock>\n";

class Damage : public ::testing::TestWithParam<std::uint32_t> {
 protected:
  pdsim::testing::TempDir dir;
  std::string img = dir.file("cmeta.bin");
  sim::Image image{1};
  Superblock sb;

  void SetUp() override {
    ASSERT_EQ(run("command -v cache_check").rc, 0) << "thin-provisioning-tools is not installed";
    write_file(dir.file("a.xml"), kCacheA);
    make_image(img, 4096);
    ASSERT_EQ(run(fmt::format("{} cache-restore --metadata-version {} -i '{}' -o '{}'", PDSIM_BINARY, GetParam(),
                              dir.file("a.xml"), img)).rc, 0);
    auto loaded = sim::Image::load(img);
    ASSERT_OK(loaded);
    image = std::move(loaded).value();
    sb = Superblock::unpack(image.get(0)->data());
  }
  Block block(BlockNr b) {
    Block out{};
    image.read(b, BlockSpan(out));
    return out;
  }
  // The first value of a one-leaf btree (an array root): the array block it points at.
  BlockNr first_array_block(BlockNr root) { return load_le<std::uint64_t>(block(root).data() + 32 + 8 * 252); }
  BlockNr metadata_index() { return load_le<std::uint64_t>(sb.metadata_sm_root.data() + 16); }
  BlockNr metadata_bitmap() { return load_le<std::uint64_t>(block(metadata_index()).data() + 16); }
  BlockNr ref_count_root() { return load_le<std::uint64_t>(sb.metadata_sm_root.data() + 24); }

  // Flips one byte of block b (its checksum no longer matches) and saves the image.
  void flip(BlockNr b, std::size_t offset) {
    Block d = block(b);
    d[offset] ^= 0x5A;
    image.write(b, ConstBlockSpan(d));
    ASSERT_OK(image.save(img));
  }
  // Changes a field and re-seals the checksum: the block is valid but its contents are wrong.
  void reseal(BlockNr b, std::uint32_t salt, const std::function<void(std::uint8_t*)>& edit) {
    Block d = block(b);
    edit(d.data());
    stamp_checksum(BlockSpan(d), salt);
    image.write(b, ConstBlockSpan(d));
    ASSERT_OK(image.save(img));
  }
  void expect_pdsim_reports(const std::string& what, std::optional<BlockNr> where = std::nullopt) {
    Cmd ours = run(fmt::format("{} cache-check '{}'", PDSIM_BINARY, img));
    EXPECT_EQ(ours.rc, 1) << what << ": pdsim cache-check missed it";
    if (where) {
      EXPECT_NE(ours.out.find(fmt::format("[block {}]", *where)), std::string::npos) << what << "\n" << ours.out;
    }
  }
  void expect_both_report(const std::string& what, std::optional<BlockNr> where = std::nullopt) {
    EXPECT_EQ(run(fmt::format("cache_check -q '{}'", img)).rc, 1) << what << ": cache_check missed it";
    expect_pdsim_reports(what, where);
  }
};

TEST_P(Damage, CleanToBothBeforeDamage) {
  EXPECT_EQ(run(fmt::format("cache_check -q '{}'", img)).rc, 0);
  EXPECT_EQ(run(fmt::format("{} cache-check -q '{}'", PDSIM_BINARY, img)).rc, 0);
}

TEST_P(Damage, Superblock) {
  flip(0, 100);
  expect_both_report("superblock byte", 0);
}

TEST_P(Damage, SuperblockVersion) {
  reseal(0, salt::cache_superblock, [](std::uint8_t* d) { store_le<std::uint32_t>(d + sb::version, 3); });
  expect_both_report("version 3", 0);
}

// Superblock fields cache_check 0.9 rejects and pdsim cache-check used to pass (issue 15).
TEST_P(Damage, SuperblockUnknownFlag) {
  reseal(0, salt::cache_superblock, [](std::uint8_t* d) { store_le<std::uint32_t>(d + sb::flags, load_le<std::uint32_t>(d + sb::flags) | 4u); });
  expect_both_report("superblock flag bit 2", 0);
}

TEST_P(Damage, SuperblockCompatFlags) {
  reseal(0, salt::cache_superblock, [](std::uint8_t* d) { store_le<std::uint32_t>(d + sb::compat_flags, 1); });
  expect_both_report("compat_flags 1", 0);
}

TEST_P(Damage, SuperblockCompatRoFlags) {
  reseal(0, salt::cache_superblock, [](std::uint8_t* d) { store_le<std::uint32_t>(d + sb::compat_ro_flags, 1); });
  expect_both_report("compat_ro_flags 1", 0);
}

TEST_P(Damage, SuperblockPolicyNameWithoutNul) {
  reseal(0, salt::cache_superblock, [](std::uint8_t* d) { std::fill(d + sb::policy_name, d + sb::policy_name + 16, 'x'); });
  expect_both_report("a 16-character policy name", 0);
}

// Found by fuzz_cache_image: a policy name of bytes 0xff checked clean and cache-dump wrote XML
// that does not parse (so its own cache-restore could not read it back). cache_check 0.9 passes it.
TEST_P(Damage, SuperblockPolicyNameNotPrintable) {
  reseal(0, salt::cache_superblock, [](std::uint8_t* d) {
    std::fill(d + sb::policy_name, d + sb::policy_name + 16, std::uint8_t{0});
    std::fill(d + sb::policy_name, d + sb::policy_name + 4, std::uint8_t{0xff});
  });
  expect_pdsim_reports("a policy name of bytes 0xff", 0);
  auto dumped = pdsim::testing::run_capturing(dir, fmt::format("{} cache-dump '{}'", PDSIM_BINARY, img));
  EXPECT_NE(dumped.rc, 0);
  EXPECT_NE(dumped.err.find("policy name holds byte 0xff at position 0"), std::string::npos) << dumped.err;
}

// Issue 15: cache-dump of a v2 image claiming 2^32-1 cache blocks over a short mapping array took
// 529 MB and exited 0. The count must fit the mapping array before it sizes anything.
TEST_P(Damage, SuperblockCacheBlocksPastTheMappingArray) {
  reseal(0, salt::cache_superblock, [](std::uint8_t* d) { store_le<std::uint32_t>(d + sb::cache_blocks, UINT32_MAX); });
  Cmd dumped = run(fmt::format("{} cache-dump '{}'", PDSIM_BINARY, img));
  EXPECT_NE(dumped.rc, 0);
  expect_both_report("cache_blocks 2^32-1");
}

TEST_P(Damage, MappingArrayBlock) {
  const BlockNr ab = first_array_block(sb.mapping_root);
  flip(ab, 2000);
  expect_both_report("mapping array block", ab);
}

TEST_P(Damage, MappingArrayRoot) {
  flip(sb.mapping_root, 40);
  expect_both_report("mapping array btree root", sb.mapping_root);
}

TEST_P(Damage, MappingArrayShort) {
  const BlockNr ab = first_array_block(sb.mapping_root);
  reseal(ab, salt::array_block, [](std::uint8_t* d) { store_le<std::uint32_t>(d + 8, 299); });
  expect_both_report("mapping array with 299 entries");
}

TEST_P(Damage, OriginMappedTwice) {
  const BlockNr ab = first_array_block(sb.mapping_root);
  reseal(ab, salt::array_block, [](std::uint8_t* d) { store_le<std::uint64_t>(d + 24 + 8, pack_mapping(1000, kMappingValid)); });
  expect_both_report("origin block 1000 mapped twice");
}

TEST_P(Damage, HintArrayBlock) {
  const BlockNr ab = first_array_block(sb.hint_root);
  flip(ab, 1000);
  expect_both_report("hint array block", ab);
}

// cache_check 0.9 does not look at the metadata space map, the v2 dirty bitset, nor an empty
// discard bitset's root: pdsim does.
TEST_P(Damage, DiscardRootBeyondCacheCheck) {
  flip(sb.discard_root, 40);
  expect_pdsim_reports("discard bitset root", sb.discard_root);
}

TEST_P(Damage, MetadataSpaceMapBeyondCacheCheck) {
  const BlockNr bitmap = metadata_bitmap();
  flip(bitmap, 300);
  expect_pdsim_reports("metadata bitmap", bitmap);
}

TEST_P(Damage, MetadataIndexBeyondCacheCheck) {
  const BlockNr index = metadata_index();
  flip(index, 300);
  expect_pdsim_reports("metadata index block", index);
}

TEST_P(Damage, LeakedBlockBeyondCacheCheck) {
  const BlockNr bitmap = metadata_bitmap();
  // Block 3000 is free: give it count 1 (entry 3000, 2 bits each, LOW bit = the odd one).
  reseal(bitmap, salt::sm_bitmap, [](std::uint8_t* d) { d[16 + 3000 / 4] |= static_cast<std::uint8_t>(2u << (2 * (3000 % 4))); });
  expect_pdsim_reports("leaked metadata block 3000", 3000);
}

// Version 2 only: version 1 keeps dirty flags in the mapping values and has no dirty bitset.
class DamageV2 : public Damage {};

TEST_P(DamageV2, DirtyBitsetBeyondCacheCheck) {
  ASSERT_NE(sb.dirty_root, 0u) << "a version-2 cache has a dirty bitset";
  const BlockNr ab = first_array_block(sb.dirty_root);
  flip(ab, 24);
  expect_pdsim_reports("dirty bitset array block", ab);
}

INSTANTIATE_TEST_SUITE_P(V, Damage, ::testing::Values(1u, 2u));
INSTANTIATE_TEST_SUITE_P(V, DamageV2, ::testing::Values(2u));

}  // namespace
}  // namespace pdsim::cache
