// SPDX-License-Identifier: GPL-2.0-or-later
// CacheMetadata (dm-cache metadata, versions 1 and 2) on a simulated disk: every operation, the
// clean-shutdown flag, resize refusal, abort, reopen; the dmtest metadata_use_kernel numbers; and
// random workloads against a model, with the independent checker after every commit.
#include <gtest/gtest.h>

#include <sstream>

#include "core/cache/cache_dump.h"
#include "core/cache/cache_metadata.h"
#include "core/check/cache_input.h"
#include "sim/image.h"
#include "sim/sim_disk.h"
#include "tests/cache_model.h"

namespace pdsim::cache {
namespace {

#define ASSERT_OK(expr)                                              \
  do {                                                               \
    auto&& r_ = (expr);                                              \
    ASSERT_TRUE(r_.ok()) << #expr << ": " << r_.error().to_string(); \
  } while (false)

template <typename T>
T take(Result<T> r) {
  EXPECT_TRUE(r.ok()) << r.error().to_string();
  return std::move(r).value();
}

// The superblock's flags as the disk holds them durably.
std::uint32_t durable_flags(const sim::SimDisk& disk) {
  return load_le<std::uint32_t>(disk.durable().get(0)->data() + sb::flags);
}

std::string dump(sim::SimDisk& disk) {
  sim::ImageDevice image(disk.current());
  std::ostringstream out;
  Status s = dump_cache_xml(image, out, DumpOptions{true});
  EXPECT_TRUE(s.ok()) << s.error().to_string();
  return out.str();
}

std::vector<std::string> check_problems(sim::SimDisk& disk) {
  sim::ImageDevice image(disk.current());
  auto rep = check::check_cache(image);
  EXPECT_TRUE(rep.ok()) << rep.error().to_string();
  std::vector<std::string> out;
  for (const auto& p : rep->report.problems) out.push_back(check::to_string(p));
  return out;
}

// The first line where two documents differ (the whole documents are too long to print).
std::string first_diff(const std::string& a, const std::string& b) {
  std::istringstream x(a), y(b);
  std::string la, lb;
  for (int line = 1;; ++line) {
    const bool ga = static_cast<bool>(std::getline(x, la)), gb = static_cast<bool>(std::getline(y, lb));
    if (!ga && !gb) return "identical";
    if (la != lb || ga != gb) return fmt::format("line {}: '{}' vs '{}'", line, ga ? la : "<end>", gb ? lb : "<end>");
  }
}

class CacheVersions : public ::testing::TestWithParam<std::uint32_t> {};

TEST_P(CacheVersions, FormatOpenAndCleanShutdown) {
  sim::SimDisk disk(256, 1);
  auto md = take(CacheMetadata::format(disk, 128, GetParam()));
  EXPECT_TRUE(md->clean_when_opened());
  EXPECT_EQ(durable_flags(disk) & kCleanShutdownFlag, 0u);
  ASSERT_OK(md->resize(100));
  ASSERT_OK(md->commit(true));
  EXPECT_EQ(durable_flags(disk) & kCleanShutdownFlag, kCleanShutdownFlag);
  md.reset();
  md = take(CacheMetadata::open(disk, 128));
  EXPECT_TRUE(md->clean_when_opened());
  EXPECT_EQ(md->version(), GetParam());
  EXPECT_EQ(md->cache_blocks(), 100u);
  // Open cleared the flag on disk at once (durably): a crash now must not look clean.
  EXPECT_EQ(durable_flags(disk) & kCleanShutdownFlag, 0u);
  md.reset();
  md = take(CacheMetadata::open(disk));
  EXPECT_FALSE(md->clean_when_opened());
  // A data block size that differs is refused.
  md.reset();
  auto wrong = CacheMetadata::open(disk, 256);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().kind(), ErrorKind::invalid);
}

TEST_P(CacheVersions, MappingsDirtyFlagsAndReopen) {
  sim::SimDisk disk(256, 2);
  auto md = take(CacheMetadata::format(disk, 64, GetParam()));
  ASSERT_OK(md->resize(1500));
  ASSERT_OK(md->insert_mapping(0, 1000));
  ASSERT_OK(md->insert_mapping(1, 7));
  ASSERT_OK(md->insert_mapping(1499, 123456));
  ASSERT_OK(md->set_dirty(1, true));
  ASSERT_OK(md->set_dirty(1499, true));
  ASSERT_OK(md->insert_mapping(600, 5));
  ASSERT_OK(md->remove_mapping(600));
  EXPECT_EQ(take(md->lookup(600)), std::nullopt);
  EXPECT_EQ(take(md->lookup(1)), (std::optional<Mapping>(Mapping{7, true})));
  EXPECT_FALSE(md->insert_mapping(1500, 1).ok());
  EXPECT_FALSE(md->insert_mapping(2, kMaxOriginBlock + 1).ok());
  ASSERT_OK(md->commit(true));
  md.reset();
  md = take(CacheMetadata::open(disk));
  std::vector<LoadedMapping> got;
  ASSERT_OK(md->load_mappings(Policy{}, [&](const LoadedMapping& m) -> Result<bool> { got.push_back(m); return true; }));
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].cblock, 0u);
  EXPECT_EQ(got[0].oblock, 1000u);
  EXPECT_FALSE(got[0].dirty);
  EXPECT_EQ(got[1].oblock, 7u);
  EXPECT_TRUE(got[1].dirty);
  EXPECT_TRUE(got[2].dirty);
  EXPECT_EQ(got[2].cblock, 1499u);
  // Where the dirty bit lives: v1 in the mapping value, v2 in the bitset only.
  const std::string x = dump(disk);
  EXPECT_NE(x.find("<mapping cache_block=\"1\" origin_block=\"7\" dirty=\"true\"/>"), std::string::npos) << x;
  // Not shut down cleanly since that open: every mapped block loads dirty.
  md.reset();
  md = take(CacheMetadata::open(disk));
  got.clear();
  ASSERT_OK(md->load_mappings(Policy{}, [&](const LoadedMapping& m) -> Result<bool> { got.push_back(m); return true; }));
  ASSERT_EQ(got.size(), 3u);
  EXPECT_TRUE(got[0].dirty);
  // ... while lookup still shows what is stored.
  EXPECT_EQ(take(md->lookup(0)), (std::optional<Mapping>(Mapping{1000, false})));
  EXPECT_TRUE(check_problems(disk).empty());
}

TEST_P(CacheVersions, DirtyBitsWholeCache) {
  sim::SimDisk disk(256, 3);
  auto md = take(CacheMetadata::format(disk, 64, GetParam()));
  ASSERT_OK(md->resize(70));
  for (std::uint32_t c = 0; c < 70; c += 5) ASSERT_OK(md->insert_mapping(c, 100 + c));
  std::vector<bool> bits(70, false);
  bits[5] = bits[65] = true;
  ASSERT_OK(md->set_dirty_bits(bits));
  EXPECT_FALSE(md->set_dirty_bits(std::vector<bool>(69, false)).ok());
  ASSERT_OK(md->commit(true));
  md.reset();
  md = take(CacheMetadata::open(disk));
  EXPECT_EQ(take(md->lookup(5)), (std::optional<Mapping>(Mapping{105, true})));
  EXPECT_EQ(take(md->lookup(65)), (std::optional<Mapping>(Mapping{165, true})));
  EXPECT_EQ(take(md->lookup(10)), (std::optional<Mapping>(Mapping{110, false})));
}

TEST_P(CacheVersions, ShrinkIsRefusedWhileARemovedBlockIsDirty) {
  sim::SimDisk disk(256, 4);
  auto md = take(CacheMetadata::format(disk, 64, GetParam()));
  ASSERT_OK(md->resize(1200));
  ASSERT_OK(md->insert_mapping(1100, 9));
  ASSERT_OK(md->set_dirty(1100, true));
  ASSERT_OK(md->insert_mapping(50, 10));
  ASSERT_OK(md->set_dirty(50, true));
  ASSERT_OK(md->commit(false));
  Status s = md->resize(1000);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind(), ErrorKind::invalid);
  EXPECT_NE(s.error().message().find("1100"), std::string::npos) << s.error().message();
  EXPECT_EQ(md->cache_blocks(), 1200u);
  EXPECT_EQ(take(md->lookup(1100)), (std::optional<Mapping>(Mapping{9, true})));
  // A clean mapping past the new end does not stop it; the dirty one below it stays.
  ASSERT_OK(md->set_dirty(1100, false));
  ASSERT_OK(md->resize(1000));
  EXPECT_EQ(md->cache_blocks(), 1000u);
  EXPECT_FALSE(md->lookup(1100).ok());
  ASSERT_OK(md->resize(1300));
  EXPECT_EQ(take(md->lookup(1100)), std::nullopt);  // grown back empty
  EXPECT_EQ(take(md->lookup(50)), (std::optional<Mapping>(Mapping{10, true})));
  ASSERT_OK(md->commit(false));
  EXPECT_TRUE(check_problems(disk).empty());
}

TEST_P(CacheVersions, DiscardsAndTheirBlockSize) {
  sim::SimDisk disk(256, 5);
  auto md = take(CacheMetadata::format(disk, 64, GetParam()));
  ASSERT_OK(md->resize_discard(1024, 130));
  ASSERT_OK(md->set_discard(0, true));
  ASSERT_OK(md->set_discard(64, true));
  ASSERT_OK(md->set_discard(129, true));
  ASSERT_OK(md->set_discard(64, false));
  EXPECT_FALSE(md->set_discard(130, true).ok());
  ASSERT_OK(md->commit(true));
  md.reset();
  md = take(CacheMetadata::open(disk));
  EXPECT_EQ(md->discard_block_size(), 1024u);
  EXPECT_EQ(md->discard_nr_blocks(), 130u);
  std::vector<std::uint64_t> on;
  ASSERT_OK(md->load_discards([&](std::uint64_t d, bool b) -> Result<bool> { if (b) on.push_back(d); return true; }));
  EXPECT_EQ(on, (std::vector<std::uint64_t>{0, 129}));
  // Unclean: discards are not trusted.
  md.reset();
  md = take(CacheMetadata::open(disk));
  on.clear();
  std::uint64_t seen = 0;
  ASSERT_OK(md->load_discards([&](std::uint64_t d, bool b) -> Result<bool> { ++seen; if (b) on.push_back(d); return true; }));
  EXPECT_TRUE(on.empty());
  EXPECT_EQ(seen, 130u);
}

TEST_P(CacheVersions, PolicyHints) {
  sim::SimDisk disk(256, 6);
  auto md = take(CacheMetadata::format(disk, 64, GetParam()));
  ASSERT_OK(md->resize(1100));
  ASSERT_OK(md->insert_mapping(3, 30));
  ASSERT_OK(md->insert_mapping(1050, 31));
  EXPECT_EQ(md->hint_root(), 0u);
  const Policy smq{"smq", {2, 0, 0}, 4};
  auto hint = [](std::uint32_t c) -> Result<std::uint32_t> { return c * 3 + 1; };
  EXPECT_FALSE(md->write_hints(Policy{"", {}, 4}, hint).ok());
  EXPECT_FALSE(md->write_hints(Policy{"0123456789abcdef", {}, 4}, hint).ok());
  EXPECT_FALSE(md->write_hints(Policy{"smq", {}, 8}, hint).ok());
  ASSERT_OK(md->write_hints(smq, hint));
  ASSERT_OK(md->write_hints(smq, hint));  // rewriting replaces the array (no leak: checked below)
  ASSERT_OK(md->commit(true));
  EXPECT_TRUE(check_problems(disk).empty());
  md.reset();
  md = take(CacheMetadata::open(disk));
  EXPECT_EQ(md->policy().name, "smq");
  EXPECT_EQ(md->policy().hint_size, 4u);
  std::vector<LoadedMapping> got;
  auto collect = [&](const LoadedMapping& m) -> Result<bool> { got.push_back(m); return true; };
  ASSERT_OK(md->load_mappings(smq, collect));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].hint, std::optional<std::uint32_t>(10));
  EXPECT_EQ(got[1].hint, std::optional<std::uint32_t>(3151));
  got.clear();
  ASSERT_OK(md->load_mappings(Policy{"mq", {2, 0, 0}, 4}, collect));  // another policy: no hints
  EXPECT_EQ(got[0].hint, std::nullopt);
  got.clear();
  ASSERT_OK(md->load_mappings(Policy{"smq", {1, 0, 0}, 4}, collect));  // another major version
  EXPECT_EQ(got[0].hint, std::nullopt);
  md.reset();
  md = take(CacheMetadata::open(disk));  // unclean: hints are ignored
  got.clear();
  ASSERT_OK(md->load_mappings(smq, collect));
  EXPECT_EQ(got[0].hint, std::nullopt);
  // A policy with no hints records its name only.
  ASSERT_OK(md->write_hints(Policy{"cleaner", {1, 0, 0}, 0}, hint));
  EXPECT_EQ(md->policy().name, "cleaner");
  EXPECT_EQ(md->policy().hint_size, 4u);
}

TEST_P(CacheVersions, AbortRollsBackToTheLastCommit) {
  sim::SimDisk disk(512, 7);
  auto md = take(CacheMetadata::format(disk, 64, GetParam()));
  ASSERT_OK(md->resize(800));
  ASSERT_OK(md->insert_mapping(1, 11));
  ASSERT_OK(md->set_dirty(1, true));
  ASSERT_OK(md->resize_discard(512, 40));
  ASSERT_OK(md->set_discard(3, true));
  md->set_stats(Stats{1, 2, 3, 4});
  ASSERT_OK(md->commit(false));
  const std::string committed = dump(disk);
  const auto free_committed = take(md->metadata_nr_free());

  ASSERT_OK(md->insert_mapping(2, 22));
  ASSERT_OK(md->set_dirty(1, false));
  ASSERT_OK(md->remove_mapping(1));
  ASSERT_OK(md->resize(2000));
  ASSERT_OK(md->resize_discard(512, 90));
  ASSERT_OK(md->set_discard(80, true));
  ASSERT_OK(md->write_hints(Policy{"smq", {2, 0, 0}, 4}, [](std::uint32_t) -> Result<std::uint32_t> { return 5; }));
  md->set_stats(Stats{9, 9, 9, 9});
  ASSERT_OK(md->abort());

  EXPECT_EQ(md->cache_blocks(), 800u);
  EXPECT_EQ(md->discard_nr_blocks(), 40u);
  EXPECT_EQ(md->hint_root(), 0u);
  EXPECT_EQ(md->stats(), (Stats{1, 2, 3, 4}));
  EXPECT_EQ(take(md->lookup(1)), (std::optional<Mapping>(Mapping{11, true})));
  EXPECT_EQ(take(md->lookup(2)), std::nullopt);
  EXPECT_EQ(take(md->metadata_nr_free()), free_committed);
  // Carrying on after the abort commits on top of the rolled-back state.
  ASSERT_OK(md->commit(false));
  EXPECT_EQ(dump(disk), committed);
  EXPECT_TRUE(check_problems(disk).empty());
  md.reset();
  md = take(CacheMetadata::open(disk));
  EXPECT_EQ(take(md->lookup(1)), (std::optional<Mapping>(Mapping{11, true})));
}

TEST_P(CacheVersions, NeedsCheck) {
  sim::SimDisk disk(256, 8);
  auto md = take(CacheMetadata::format(disk, 64, GetParam()));
  EXPECT_FALSE(md->needs_check());
  ASSERT_OK(md->set_needs_check());
  EXPECT_TRUE(md->needs_check());
  ASSERT_OK(md->commit(true));
  EXPECT_EQ(durable_flags(disk), kCleanShutdownFlag | kNeedsCheckFlag);
  md.reset();
  md = take(CacheMetadata::open(disk));
  EXPECT_TRUE(md->needs_check());
}

// Random operations against the model; commits, clean and unclean reopens, aborts. After every
// commit the checker finds the image clean and the dump equals the model.
TEST_P(CacheVersions, RandomWorkloadMatchesTheModel) {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    SCOPED_TRACE(seed);
    sim::Rng rng(seed * 131 + GetParam());
    sim::SimDisk disk(1024, seed);
    auto md = take(CacheMetadata::format(disk, 128, GetParam()));
    testing::CacheModel m;
    m.version = GetParam();
    m.block_size = 128;
    testing::CacheModel committed = m;
    for (int step = 0; step < 400; ++step) {
      const auto dice = rng.below(100);
      if (dice < 8) {
        const bool clean = rng.chance(1, 2);
        ASSERT_OK(md->commit(clean));
        committed = m;
        const std::string got = dump(disk);
        ASSERT_TRUE(got == m.xml(false, true)) << first_diff(got, m.xml(false, true));
        const auto problems = check_problems(disk);
        ASSERT_TRUE(problems.empty()) << problems.front();
        if (rng.chance(1, 3)) {
          md.reset();
          md = take(CacheMetadata::open(disk));
          ASSERT_EQ(md->clean_when_opened(), clean);
        }
      } else if (dice < 10) {
        ASSERT_OK(md->abort());
        m = committed;
      } else {
        Status s = testing::random_op(*md, m, rng);
        ASSERT_TRUE(s.ok()) << s.error().to_string();
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(V, CacheVersions, ::testing::Values(1u, 2u));

// dmtest MetadataScalingTests#metadata_use_kernel: a 4 MiB metadata device (1024 blocks), cache
// of N blocks formatted as version 1 by the kernel's constructor, resized to N, then every block
// promoted and written (writeback: dirty), with the periodic commits; the status line's used
// metadata blocks after its commit must be 9, 11, 15, 23, 39.
TEST(CacheMetadataUse, MatchesTheKernel) {
  const std::vector<std::pair<std::uint32_t, BlockNr>> expected = {{1024, 9}, {2048, 11}, {4096, 15}, {8192, 23}, {16384, 39}};
  for (const auto& [n, used] : expected) {
    SCOPED_TRACE(n);
    sim::SimDisk disk(1024, n);
    auto md = take(CacheMetadata::open_or_format(disk, 128, 1));
    ASSERT_OK(md->resize(n));
    ASSERT_OK(md->commit(false));
    for (std::uint32_t c = 0; c < n; ++c) {
      ASSERT_OK(md->insert_mapping(c, c));
      ASSERT_OK(md->set_dirty(c, true));
      if (c % 1000 == 999) ASSERT_OK(md->commit(false));  // the periodic commit
    }
    ASSERT_OK(md->commit(false));  // reading the status commits first
    const BlockNr total = take(md->metadata_nr_blocks());
    EXPECT_EQ(total, 1024u);
    EXPECT_EQ(total - take(md->metadata_nr_free()), used);
    EXPECT_TRUE(check_problems(disk).empty());
  }
}

}  // namespace
}  // namespace pdsim::cache
