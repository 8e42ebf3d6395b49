// SPDX-License-Identifier: GPL-2.0-or-later
// The report's block view: decoding, the expected/found/written comparison and the path from the
// superblock, on images a real pool wrote; and the seed page that shows them.
#include "scenarios/runner/block_view.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>

#include "core/cache/cache_metadata.h"
#include "core/common/endian.h"
#include "core/thin/pool_metadata.h"
#include "scenarios/runner/html_report.h"
#include "sim/sim_disk.h"

namespace pdsim::scenarios {
namespace {

const FieldDiff& row(const std::vector<FieldDiff>& rows, const std::string& name) {
  const auto it = std::find_if(rows.begin(), rows.end(), [&](const FieldDiff& r) { return r.name == name; });
  if (it == rows.end()) throw std::runtime_error("no row " + name);
  return *it;
}

// A pool with one thin device: transaction 1 (10 mappings) committed, then transaction 2 (10
// more) committed. `first` is the disk after transaction 1, `second` after transaction 2.
struct TwoCommits {
  sim::Image first, second;
  BlockNr mapping_root_2 = 0;
};

TwoCommits two_commits() {
  sim::SimDisk disk(256, 1);
  auto md = thin::PoolMetadata::format(disk, 128);
  if (!md) throw std::runtime_error(md.error().to_string());
  TwoCommits out;
  auto add = [&](std::uint64_t from) {
    for (std::uint64_t v = from; v < from + 10; ++v) {
      auto b = (*md)->alloc_data_block();
      if (!b || !b->has_value()) throw std::runtime_error("no data block");
      EXPECT_TRUE((*md)->insert_mapping(1, v, **b).ok());
    }
  };
  EXPECT_TRUE((*md)->resize_data(1000).ok());
  EXPECT_TRUE((*md)->create_thin(1).ok());
  add(0);
  EXPECT_TRUE((*md)->set_transaction_id(0, 1).ok());
  EXPECT_TRUE((*md)->commit().ok());
  out.first = disk.current();
  add(100);
  EXPECT_TRUE((*md)->set_transaction_id(1, 2).ok());
  EXPECT_TRUE((*md)->commit().ok());
  out.second = disk.current();
  Block sb{};
  out.second.read(0, sb);
  out.mapping_root_2 = load_le<std::uint64_t>(sb.data() + 320);
  return out;
}

TEST(BlockView, SuperblockOfTwoTransactionsDiffersInItsTransactionIdAndRoots) {
  const auto t = two_commits();
  const auto rows = compare_block(t.first, t.second, nullptr, 0);
  EXPECT_EQ(row(rows, "kind").expected, "thin superblock");
  EXPECT_FALSE(row(rows, "kind").differs);
  EXPECT_EQ(row(rows, "transaction id").expected, "1");
  EXPECT_EQ(row(rows, "transaction id").found, "2");
  EXPECT_TRUE(row(rows, "transaction id").differs);
  EXPECT_TRUE(row(rows, "mapping root / details root").differs);
  EXPECT_TRUE(row(rows, "bytes").differs);
  EXPECT_FALSE(row(rows, "bytes").lost);
  // The same image against itself: nothing differs.
  for (const auto& r : compare_block(t.second, t.second, nullptr, 0)) EXPECT_FALSE(r.differs) << r.name;
}

TEST(BlockView, AWriteTheDiskDidNotKeepIsMarkedLostAgainstWhatWasFound) {
  const auto t = two_commits();
  const BlockNr b = t.mapping_root_2;
  sim::Image found = t.second;
  found.write(b, Block{});  // as if transaction 2's write of its mapping root never landed
  const auto rows = compare_block(t.first, found, &t.second, b);
  EXPECT_EQ(row(rows, "kind").found, "all zeros (never written, or lost)");
  EXPECT_EQ(row(rows, "kind").written, "btree node");
  EXPECT_TRUE(row(rows, "kind").lost);
  EXPECT_TRUE(row(rows, "bytes").lost);
  EXPECT_NE(row(rows, "bytes").written.find("differ from found"), std::string::npos);
  // A written image equal to what was found: nothing lost.
  for (const auto& r : compare_block(t.first, t.second, &t.second, b)) EXPECT_FALSE(r.lost) << r.name;
}

TEST(BlockView, FirstDifferingEntryIsFoundPastTheDecodedKeys) {
  const auto t = two_commits();
  // A leaf of 20 mappings: change the value of entry 18 only (past the 16 keys the fields show).
  BlockNr leaf = 0;
  for (BlockNr b = 1; b < t.second.nr_blocks() && !leaf; ++b) {
    const auto f = decode_block(t.second, b);
    if (std::any_of(f.begin(), f.end(), [](const BlockField& x) { return x.value.rfind("20 / ", 0) == 0; })) leaf = b;
  }
  ASSERT_NE(leaf, 0u) << "no leaf of 20 entries";
  Block d{};
  t.second.read(leaf, d);
  const std::uint32_t max = load_le<std::uint32_t>(d.data() + 20);
  d[32 + 8 * std::size_t{max} + 8 * 18] ^= 1;
  sim::Image changed = t.second;
  changed.write(leaf, d);
  const auto rows = compare_block(t.second, changed, nullptr, leaf);
  EXPECT_TRUE(row(rows, "first differing entry (18)").differs);
  EXPECT_TRUE(row(rows, "bytes").differs);
}

TEST(BlockView, PathFromTheSuperblockReachesTheMappingTreeAndNotAFreeBlock) {
  const auto t = two_commits();
  const auto path = path_to(t.second, t.mapping_root_2);
  ASSERT_TRUE(path.has_value());
  EXPECT_NE(path->find("superblock → mapping tree (block " + std::to_string(t.mapping_root_2) + ")"), std::string::npos)
      << *path;
  EXPECT_EQ(path_to(t.second, t.second.nr_blocks() - 1), "");
  EXPECT_EQ(path_to(sim::Image(8), 3), std::nullopt) << "no superblock: nothing to trace from";
}

// A cache image: the mapping array's blocks hang below its root, entry by entry.
TEST(BlockView, PathReachesACacheMappingArrayBlock) {
  sim::SimDisk disk(512, 1);
  auto md = cache::CacheMetadata::format(disk, 128, 2);
  ASSERT_TRUE(md.ok()) << md.error().to_string();
  ASSERT_TRUE((*md)->resize(3000).ok());  // 3000 mappings of 8 bytes: several array blocks
  ASSERT_TRUE((*md)->insert_mapping(2000, 7).ok());
  ASSERT_TRUE((*md)->commit(false).ok());
  const sim::Image image = disk.current();
  BlockNr array_block = 0;
  for (BlockNr b = 1; b < image.nr_blocks() && !array_block; ++b)
    if (decode_block(image, b)[1].value == "array block") array_block = b;
  ASSERT_NE(array_block, 0u);
  const auto path = path_to(image, array_block);
  ASSERT_TRUE(path.has_value());
  EXPECT_EQ(path->rfind("superblock → mapping array (block ", 0), 0u) << *path;
  EXPECT_NE(path->find("(block " + std::to_string(array_block) + ")"), std::string::npos) << *path;
}

std::string page_text(const std::string& dir, const SeedPage& p) {
  auto name = write_seed_page(dir, p);
  if (!name) throw std::runtime_error(name.error().to_string());
  std::ifstream in(dir + "/" + *name);
  std::stringstream html;
  html << in.rdbuf();
  return html.str();
}

// A failure line's blocks of other spaces (a cache block, an origin block) are not metadata
// blocks: only "array block 6" is shown.
TEST(SeedPage, NamesMetadataBlocksNotCacheOrOriginBlocks) {
  const auto t = two_commits();
  const std::string dir = ::testing::TempDir() + "/block_view_names";
  std::filesystem::create_directories(dir);
  ASSERT_TRUE(t.second.save(dir + "/found.bin").ok());
  SeedPage p;
  p.scenario = "made_up";
  p.seed = 8;
  p.failures = {"step 2 (insert 453 352804): mapping cache block 453 to origin block 352804 failed: array block 6 "
                "released twice"};
  p.image_path = dir + "/found.bin";
  const std::string s = page_text(dir, p);
  EXPECT_NE(s.find("id=\"block-6\""), std::string::npos);
  EXPECT_EQ(s.find("id=\"block-453\""), std::string::npos);
  EXPECT_EQ(s.find("id=\"block-352804\""), std::string::npos);
}

// The page's trace and images are of the replay: when it fails first with another line than the
// run did, the page says so and names the replay's blocks.
TEST(SeedPage, NamesTheReplaysBlocksWhenTheReplayFailsDifferently) {
  const auto t = two_commits();
  const std::string dir = ::testing::TempDir() + "/block_view_replay";
  std::filesystem::create_directories(dir);
  ASSERT_TRUE(t.second.save(dir + "/found.bin").ok());
  SeedPage p;
  p.scenario = "made_up";
  p.seed = 9;
  p.failures = {"checker: bad_checksum [block 24]"};
  p.replay_failures = {"reopen: block 18 is not a valid space-map index"};
  p.image_path = dir + "/found.bin";
  const std::string s = page_text(dir, p);
  EXPECT_NE(s.find("id=\"replay-failure\""), std::string::npos);
  EXPECT_NE(s.find("id=\"block-18\""), std::string::npos);
  EXPECT_EQ(s.find("id=\"block-24\""), std::string::npos);
  p.replay_failures = p.failures;  // the same failure: nothing to say
  const std::string same = page_text(dir, p);
  EXPECT_EQ(same.find("id=\"replay-failure\""), std::string::npos);
  EXPECT_NE(same.find("id=\"block-24\""), std::string::npos);
}

// The seed page with a last commit and an engine's view: the superblock comes first with its
// transaction id marked, and a block only the found superblock reaches is called out.
TEST(SeedPage, ShowsExpectedFoundAndWrittenWithTheDifferencesMarked) {
  const auto t = two_commits();
  const std::string dir = ::testing::TempDir() + "/block_view_page";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  sim::Image found = t.second;
  found.write(t.mapping_root_2, Block{});
  ASSERT_TRUE(found.save(dir + "/found.bin").ok());
  ASSERT_TRUE(t.first.save(dir + "/expected.bin").ok());
  ASSERT_TRUE(t.second.save(dir + "/written.bin").ok());
  SeedPage p;
  p.scenario = "made_up";
  p.seed = 7;
  p.failures = {"checker: bad_checksum [block " + std::to_string(t.mapping_root_2) + "]: bad checksum in btree node"};
  p.reproduce = "./pdsim run made_up --seed 7";
  p.trace = "  step 0: commit\n    disk #3: write 5 crc=00000001 (btree node)\n    disk #4: write 0 fua crc=00000002 (thin "
            "superblock)\n    disk #5: power_cut kept=0\n";
  p.image_path = dir + "/found.bin";
  p.expected_image_path = dir + "/expected.bin";
  p.written_image_path = dir + "/written.bin";
  auto name = write_seed_page(dir, p);
  ASSERT_TRUE(name.ok()) << name.error().to_string();
  std::ifstream in(dir + "/" + *name);
  std::stringstream html;
  html << in.rdbuf();
  const std::string s = html.str();
  const auto at = [&](const std::string& what) { return s.find(what); };
  ASSERT_NE(at("id=\"block-0\""), std::string::npos);
  EXPECT_LT(at("id=\"block-0\""), at("id=\"block-" + std::to_string(t.mapping_root_2) + "\""));
  EXPECT_NE(at("<tr class=\"diff\" data-field=\"transaction id\">"), std::string::npos);
  EXPECT_EQ(at("<tr class=\"diff\" data-field=\"data block size / metadata blocks\">"), std::string::npos);
  EXPECT_NE(at("id=\"unexpected-reach-" + std::to_string(t.mapping_root_2) + "\""), std::string::npos);
  EXPECT_NE(at("class=\"mono lost\""), std::string::npos);
  // The timeline: a FUA superblock write gets its cap, and the cut its marker.
  EXPECT_NE(at("class=\"op write superblock fua\""), std::string::npos);
  EXPECT_NE(at("class=\"op write\" title=\"disk #3: write 5 crc=00000001 (btree node) [transaction 0]\""), std::string::npos);
  EXPECT_NE(at("id=\"power-cut-1\""), std::string::npos);
}

}  // namespace
}  // namespace pdsim::scenarios
