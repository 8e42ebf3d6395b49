// SPDX-License-Identifier: GPL-2.0-or-later
// The kernel engine (kernel/): images cross over between the kernel's code and ours, a kernel BUG
// becomes an engine_bug error instead of killing the process, and the kernel's
// dm_cache_metadata_abort alone leaves in-core state our engine's seam does not allow.
#include <gtest/gtest.h>

#include <array>
#include <sstream>

#include <fmt/format.h>

#include "core/cache/cache_dump.h"
#include "core/cache/cache_metadata.h"
#include "core/common/endian.h"
#include "core/check/cache_input.h"
#include "core/check/thin_input.h"
#include "core/thin/pool_metadata.h"
#include "core/thin/thin_format.h"
#include "kernel/kernel_engine.h"
#include "sim/sim_disk.h"
#include "testing/test_util.h"

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

// The real thin_check (thin-provisioning-tools 0.9, which ./run-tests installs) on an image: its
// exit status.
int thin_check_rc(const sim::Image& img) {
  testing::TempDir dir;
  const std::string path = dir.file("metadata.bin");
  EXPECT_TRUE(img.save(path).ok());
  return testing::run_command(fmt::format("thin_check -q '{}'", path)).rc;
}

// The README's build always has the kernel engine (it installs linux-source-6.1); a build
// without one fails here rather than passing with nothing tested.
class KernelEngine : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(kernel::available()) << kernel::source_description(); }
};

TEST_F(KernelEngine, AnImageTheKernelCommitsOpensInOursAndChecksClean) {
  sim::SimDisk disk(2048, 1);
  {
    auto md = kernel::thin_engine().format(disk, kDataBlockSize, 64);
    ASSERT_TRUE(md.ok()) << md.error().to_string();
    fill(**md);
  }
  auto report = check::check_thin(disk);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->clean());
  EXPECT_EQ(thin_check_rc(disk.current()), 0) << "thin_check rejects the kernel engine's image";
  auto ours = thin::pdsim_thin_engine().open(disk, kDataBlockSize, false, 64);
  ASSERT_TRUE(ours.ok()) << ours.error().to_string();
  expect_contents(**ours);
}

TEST_F(KernelEngine, AnImageOurEngineCommitsOpensInTheKernels) {
  sim::SimDisk disk(2048, 1);
  {
    auto md = thin::pdsim_thin_engine().format(disk, kDataBlockSize, 64);
    ASSERT_TRUE(md.ok()) << md.error().to_string();
    fill(**md);
  }
  EXPECT_EQ(thin_check_rc(disk.current()), 0) << "thin_check rejects our engine's image";
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
  EXPECT_EQ(thin_check_rc(disk.current()), 0) << "thin_check rejects the kernel's commit on our image";
}

TEST_F(KernelEngine, DroppingAnInstanceWritesNothing) {
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

TEST_F(KernelEngine, ACacheImageTheKernelCommitsOpensInOurs) {
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

// A v1 cache with 1000 mappings committed, then a transaction that remaps every block and whose
// commit fails because no write reaches the disk; the plan is cleared and the transaction aborted.
std::unique_ptr<seam::CacheMetadata> aborted_after_failed_commit(seam::CacheEngine& engine, sim::SimDisk& disk) {
  auto md = engine.format(disk, 64, 1);
  EXPECT_TRUE(md.ok());
  if (!md.ok()) return nullptr;
  EXPECT_TRUE((*md)->resize(1000).ok());
  for (std::uint32_t c = 0; c < 1000; ++c) EXPECT_TRUE((*md)->insert_mapping(c, c).ok());
  EXPECT_TRUE((*md)->commit(false).ok());
  for (std::uint32_t c = 0; c < 1000; ++c) EXPECT_TRUE((*md)->insert_mapping(c, 50000 + c).ok());
  disk.set_plan(*sim::FaultPlan::parse("write p=1/1 -> error"));
  EXPECT_FALSE((*md)->commit(false).ok());
  disk.set_plan({});
  EXPECT_TRUE((*md)->abort().ok());
  return std::move(md).value();
}

// dm_cache_metadata_abort keeps the aborted transaction's roots in core: the kernel's calls alone
// then commit a superblock whose mapping array was never written. The engine's completed abort
// re-reads the superblock, and the commit after it keeps the first transaction.
TEST_F(KernelEngine, TheKernelsCacheAbortKeepsTheAbortedRootsAndTheEngineRereadsThem) {
  {
    sim::SimDisk disk(1024, 1);
    auto md = aborted_after_failed_commit(kernel::cache_engine_as_called(), disk);
    ASSERT_NE(md, nullptr);
    ASSERT_TRUE(md->commit(false).ok());
    auto report = check::check_cache(disk);
    EXPECT_TRUE(!report.ok() || !report->report.clean()) << "the kernel's abort alone committed a clean image";
  }
  sim::SimDisk disk(1024, 1);
  auto md = aborted_after_failed_commit(kernel::cache_engine(), disk);
  ASSERT_NE(md, nullptr);
  ASSERT_TRUE(md->commit(false).ok());
  auto report = check::check_cache(disk);
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  EXPECT_TRUE(report->report.clean());
  auto m = md->lookup(7);
  ASSERT_TRUE(m.ok() && m->has_value());
  EXPECT_EQ((*m)->oblock, 7u);
}

// A commit whose flush fails leaves its superblock written but not durable. dm_cache_metadata_abort
// reopens from what the device returns, that superblock, and writes and flushes nothing: a
// transaction built on it could overwrite blocks the durable superblock still references, and a
// power cut then leaves metadata that does not read back (cache_crash seeds 5100, 5161, 5168 on
// the kernel engine did). dm-cache never builds on it (it goes read-only); the engine's abort
// flushes first, as the open of the next activation does, so what it builds on is durable.
TEST_F(KernelEngine, TheKernelsCacheAbortBuildsOnASuperblockThatIsNotDurableAndTheEngineFlushesIt) {
  auto superblock_durable = [](const sim::SimDisk& disk) {
    std::array<std::uint8_t, kBlockSize> a{}, b{};
    disk.durable().read(0, a);
    disk.current().read(0, b);
    return a == b;
  };
  auto after_failed_flush = [&](seam::CacheEngine& engine, sim::SimDisk& disk) {
    auto md = engine.format(disk, 64, 1);
    EXPECT_TRUE(md.ok());
    if (!md.ok()) return std::unique_ptr<seam::CacheMetadata>();
    EXPECT_TRUE((*md)->resize(1000).ok());
    for (std::uint32_t c = 0; c < 1000; ++c) EXPECT_TRUE((*md)->insert_mapping(c, c).ok());
    EXPECT_TRUE((*md)->commit(false).ok());
    EXPECT_TRUE((*md)->resize(4000).ok());  // more array blocks: the failed commit's space map counts fewer free
    for (std::uint32_t c = 1000; c < 4000; ++c) EXPECT_TRUE((*md)->insert_mapping(c, c).ok());
    // The commit's first flush (before the superblock is written) succeeds, its second fails.
    const auto plan = sim::FaultPlan::parse(fmt::format("flush nth={} -> error", disk.counters().flushes + 2));
    EXPECT_TRUE(plan.ok());
    if (plan.ok()) disk.set_plan(*plan);
    EXPECT_FALSE((*md)->commit(false).ok());
    disk.set_plan({});
    EXPECT_FALSE(superblock_durable(disk)) << "the failed commit's superblock is durable";
    EXPECT_TRUE((*md)->abort().ok());
    return std::move(md).value();
  };
  auto free_blocks = [](const sim::Image& img) -> BlockNr {
    sim::ImageDevice dev(img);
    auto md = cache::pdsim_cache_engine().open(dev, std::nullopt);
    EXPECT_TRUE(md.ok()) << md.error().to_string();
    if (!md.ok()) return 0;
    auto n = (*md)->metadata_nr_free();
    EXPECT_TRUE(n.ok());
    return n.ok() ? *n : 0;
  };
  {
    sim::SimDisk disk(1024, 1);
    auto md = after_failed_flush(kernel::cache_engine_as_called(), disk);
    ASSERT_NE(md, nullptr);
    EXPECT_FALSE(superblock_durable(disk)) << "the kernel's abort flushed";
    const BlockNr durable = free_blocks(disk.durable());
    const BlockNr current = free_blocks(disk.current());
    ASSERT_NE(durable, current);
    auto kernel_free = md->metadata_nr_free();
    ASSERT_TRUE(kernel_free.ok());
    EXPECT_EQ(*kernel_free, current) << "the kernel's abort reopened the durable space map";
  }
  sim::SimDisk disk(1024, 1);
  auto md = after_failed_flush(kernel::cache_engine(), disk);
  ASSERT_NE(md, nullptr);
  EXPECT_TRUE(superblock_durable(disk)) << "the engine built on a superblock that is not durable";
}

// dm_cache_discard_bitset_resize called mid-transaction does not flush the cached bitset word
// first: a bit set past the new end leaves a dirty word the next commit cannot flush (ENODATA).
// The engine resizes as the dm-cache target does, and the commit succeeds.
TEST_F(KernelEngine, TheKernelsDiscardShrinkLeavesAnUnflushableWordAndTheEngineFlushesFirst) {
  auto shrink_after_setting_a_bit = [](seam::CacheEngine& engine) -> Status {
    sim::SimDisk disk(1024, 1);
    auto md = engine.format(disk, 64, 1);
    PDSIM_TRY(md);
    PDSIM_TRY((*md)->resize_discard(64, 200));
    PDSIM_TRY((*md)->commit(false));
    PDSIM_TRY((*md)->set_discard(150, true));
    PDSIM_TRY((*md)->resize_discard(64, 100));
    return (*md)->commit(false);
  };
  Status raw = shrink_after_setting_a_bit(kernel::cache_engine_as_called());
  ASSERT_FALSE(raw.ok());
  EXPECT_EQ(raw.error().kind(), ErrorKind::no_data) << raw.error().to_string();
  Status s = shrink_after_setting_a_bit(kernel::cache_engine());
  EXPECT_TRUE(s.ok()) << s.error().to_string();
}

// The block of the data space map's first bitmap: the first entry of the data space map's index
// btree (a single leaf for a small pool). Node layout: a 32-byte header with nr_entries at 16 and
// max_entries at 20, then the keys, then the values; an index entry starts with the bitmap's
// block number.
BlockNr data_bitmap_block(sim::SimDisk& disk) {
  Block raw{};
  EXPECT_TRUE(disk.read(0, raw).ok());
  // The space map root: nr_blocks, nr_allocated, then the index root at 16.
  const BlockNr index_root = load_le<std::uint64_t>(thin::Superblock::unpack(raw.data()).data_sm_root.data() + 16);
  EXPECT_TRUE(disk.read(index_root, raw).ok());
  EXPECT_EQ(load_le<std::uint32_t>(raw.data() + 16), 1u) << "expected a one-entry index leaf";
  const std::uint32_t max_entries = load_le<std::uint32_t>(raw.data() + 20);
  return load_le<std::uint64_t>(raw.data() + 32 + 8 * std::size_t{max_entries});
}

// A snapshot shares device 1's leaves; the first insert into the snapshot then shadows a shared
// leaf and increments the count of every data block in it, which reads the data space map's
// bitmap. That read fails here. The kernel's dm-thin value type and dm_tm_inc/dm_tm_dec return
// nothing, so the space map's error is logged and dropped: dm_thin_insert_block returns 0, and
// the commit after it makes wrong counts durable. The kernel engine reports the drop
// (ErrorKind::dropped, from the kernel's log); our engine fails the insert with the I/O error and the image stays
// clean. (Found by thin_faults on the kernel engine, seeds past 5000, with transient read
// corruption.)
TEST_F(KernelEngine, TheKernelDropsASpaceMapReadErrorInAReferenceCountUpdate) {
  auto insert_into_snapshot_with_bitmap_unreadable = [](seam::ThinEngine& engine) -> std::pair<Status, bool> {
    sim::SimDisk disk(2048, 1);
    {
      auto md = engine.format(disk, kDataBlockSize, 64);
      EXPECT_TRUE(md.ok());
      EXPECT_TRUE((*md)->resize_data(1000).ok());
      EXPECT_TRUE((*md)->create_thin(1).ok());
      for (std::uint64_t v = 0; v < 300; ++v) {
        auto b = (*md)->alloc_data_block();
        EXPECT_TRUE(b.ok() && b->has_value());
        EXPECT_TRUE((*md)->insert_mapping(1, v, **b).ok());
      }
      EXPECT_TRUE((*md)->create_snapshot(2, 1).ok());
      EXPECT_TRUE((*md)->commit().ok());
    }
    const BlockNr bitmap = data_bitmap_block(disk);
    auto md = engine.open(disk, kDataBlockSize, false, 64);
    EXPECT_TRUE(md.ok());
    disk.set_plan(*sim::FaultPlan::parse(fmt::format("read blocks={}-{} -> error", bitmap, bitmap)));
    Status inserted = (*md)->insert_mapping(2, 5, 999);
    disk.set_plan({});
    // What the kernel's caller would do next when the insert said 0: commit.
    if (inserted.ok() || inserted.error().kind() == ErrorKind::dropped) {
      EXPECT_TRUE((*md)->commit().ok());
    }
    md->reset();
    auto report = check::check_thin(disk);
    EXPECT_TRUE(report.ok());
    return {inserted, report.ok() && report->clean()};
  };
  auto [kernel_insert, kernel_clean] = insert_into_snapshot_with_bitmap_unreadable(kernel::thin_engine());
  ASSERT_FALSE(kernel_insert.ok()) << "the kernel engine no longer sees the dropped error";
  EXPECT_EQ(kernel_insert.error().kind(), ErrorKind::dropped) << kernel_insert.error().to_string();
  EXPECT_NE(kernel_insert.error().message().find("the error was dropped"), std::string::npos);
  EXPECT_FALSE(kernel_clean) << "the kernel's commit after the dropped error checked clean";
  auto [ours_insert, ours_clean] = insert_into_snapshot_with_bitmap_unreadable(thin::pdsim_thin_engine());
  ASSERT_FALSE(ours_insert.ok());
  EXPECT_EQ(ours_insert.error().kind(), ErrorKind::io);
  EXPECT_TRUE(ours_clean);
}

// The first array block of a cache's hint array: the first value of the hint array's btree (one
// leaf for a small cache). Node layout as in data_bitmap_block(); values are array block numbers.
BlockNr first_hint_array_block(sim::SimDisk& disk) {
  Block raw{};
  EXPECT_TRUE(disk.read(0, raw).ok());
  const BlockNr root = cache::Superblock::unpack(raw.data()).hint_root;
  EXPECT_TRUE(disk.read(root, raw).ok());
  const std::uint32_t max_entries = load_le<std::uint32_t>(raw.data() + 20);
  return load_le<std::uint64_t>(raw.data() + 32 + 8 * std::size_t{max_entries});
}

// Writing hints under a new policy deletes the old hint array. dm-array's value type for array
// blocks (its dec callback) returns nothing: when an array block about to lose its last
// reference cannot be read, the kernel logs "couldn't get array block" and returns before
// dm_tm_dec, so dm_cache_write_hints returns 0 and the commit after it leaks the block. The kernel
// engine reports the drop (ErrorKind::dropped). Ours does not read an array block whose values
// hold no references before releasing it, so its call succeeds and the image stays clean. (Found
// by cache_crash on the kernel engine: 10 of seeds 1..40.)
TEST_F(KernelEngine, TheKernelDropsAnArrayBlockReadErrorWhenDeletingTheHintArray) {
  auto rewrite_hints_with_a_block_unreadable = [](seam::CacheEngine& engine) -> std::pair<Status, bool> {
    sim::SimDisk disk(1024, 1);
    const seam::CachePolicy mq{"mq", {2, 0, 0}, 4}, smq{"smq", {2, 0, 0}, 4};
    auto hint = [](std::uint32_t c) -> Result<std::uint32_t> { return c * 7; };
    {
      auto md = engine.format(disk, 64, 1);
      EXPECT_TRUE(md.ok());
      EXPECT_TRUE((*md)->resize(3000).ok());
      EXPECT_TRUE((*md)->write_hints(mq, hint).ok());
      EXPECT_TRUE((*md)->commit(false).ok());
    }
    const BlockNr victim = first_hint_array_block(disk);
    auto md = engine.open(disk, 64);
    EXPECT_TRUE(md.ok());
    disk.set_plan(*sim::FaultPlan::parse(fmt::format("read blocks={}-{} -> error", victim, victim)));
    Status written = (*md)->write_hints(smq, hint);
    disk.set_plan({});
    if (written.ok() || written.error().kind() == ErrorKind::dropped) {
      EXPECT_TRUE((*md)->commit(false).ok());  // what dm-cache does next when the call said 0
    }
    md->reset();
    auto report = check::check_cache(disk);
    EXPECT_TRUE(report.ok());
    return {written, report.ok() && report->report.clean()};
  };
  auto [kernel_written, kernel_clean] = rewrite_hints_with_a_block_unreadable(kernel::cache_engine());
  ASSERT_FALSE(kernel_written.ok()) << "the kernel engine no longer sees the dropped error";
  EXPECT_EQ(kernel_written.error().kind(), ErrorKind::dropped) << kernel_written.error().to_string();
  EXPECT_NE(kernel_written.error().message().find("couldn't get array block"), std::string::npos);
  EXPECT_FALSE(kernel_clean) << "the kernel's commit after the dropped error checked clean";
  auto [ours_written, ours_clean] = rewrite_hints_with_a_block_unreadable(cache::pdsim_cache_engine());
  EXPECT_TRUE(ours_written.ok()) << ours_written.error().to_string();
  EXPECT_TRUE(ours_clean);
}

// ---- intended differences the differential scenarios found (see the README's kernel section) ----

// The thin superblock's two 128-byte space-map root fields hold a 32-byte root each. The kernel
// copies the other 96 bytes from its dm_pool_metadata, which it kmallocs and never clears there:
// uninitialised kernel memory reaches the disk. The shim's kmalloc fills with 0xa5 to make that
// visible and deterministic; ours writes zeros. (The differential compares the superblock
// without those bytes.)
TEST_F(KernelEngine, TheKernelWritesUninitialisedMemoryIntoTheSpaceMapRootFields) {
  auto tails = [](seam::ThinEngine& engine) {
    sim::SimDisk disk(1024, 1);
    {
      auto md = engine.format(disk, kDataBlockSize, 64);
      EXPECT_TRUE(md.ok());
      EXPECT_TRUE((*md)->resize_data(100).ok());
      EXPECT_TRUE((*md)->commit().ok());
    }
    Block sb{};
    EXPECT_TRUE(disk.read(0, sb).ok());
    std::vector<std::uint8_t> out;
    for (std::size_t i = 96; i < 320; ++i)
      if (i < 192 || i >= 224) out.push_back(sb[i]);
    return out;
  };
  EXPECT_EQ(tails(kernel::thin_engine()), std::vector<std::uint8_t>(192, 0xa5));
  EXPECT_EQ(tails(thin::pdsim_thin_engine()), std::vector<std::uint8_t>(192, 0));
}

// The kernel's __delete_device ("TODO: failure should mark the transaction invalid") frees the
// in-core device, then removes it from the details tree, where a device created in this
// transaction is not yet (details reach the tree at commit): -ENODATA after the path was shadowed,
// and the mapping tree keeps the device. A commit then writes a details/mapping mismatch and
// under-counts. dm-thin never issues it (it commits after every create); ours mirrors the kernel.
TEST_F(KernelEngine, DeletingADeviceCreatedInTheSameTransactionLeavesTheTransactionBroken) {
  for (seam::ThinEngine* engine : {&kernel::thin_engine(), &thin::pdsim_thin_engine()}) {
    sim::SimDisk disk(1024, 1);
    auto md = engine->format(disk, kDataBlockSize, 64);
    ASSERT_TRUE(md.ok());
    ASSERT_TRUE((*md)->resize_data(100).ok());
    ASSERT_TRUE((*md)->create_thin(1).ok());
    ASSERT_TRUE((*md)->commit().ok());
    ASSERT_TRUE((*md)->create_thin(2).ok());
    Status deleted = (*md)->delete_device(2);
    ASSERT_FALSE(deleted.ok()) << engine->name();
    EXPECT_EQ(deleted.error().kind(), ErrorKind::no_data) << engine->name();
    ASSERT_TRUE((*md)->commit().ok());
    md->reset();
    auto report = check::check_thin(disk);
    ASSERT_TRUE(report.ok());
    EXPECT_TRUE(report->has(check::ProblemKind::bad_device_set)) << engine->name();
  }
}

// The kernel's dm-array shadows the array block an index falls in before it checks the index
// against the array's length: an insert past the end of the cache is refused (-ENODATA) after the
// mapping array was copied, so the next commit moves the mapping root. Ours checks first and the
// root stays. (dm-cache never asks; the differential aborts after any failed call, as dm-cache does.)
TEST_F(KernelEngine, TheKernelsArrayShadowsBeforeItChecksTheIndex) {
  auto root_moves = [](seam::CacheEngine& engine) {
    sim::SimDisk disk(1024, 1);
    auto md = engine.format(disk, 64, 1);
    EXPECT_TRUE(md.ok());
    EXPECT_TRUE((*md)->resize(100).ok());
    EXPECT_TRUE((*md)->commit(false).ok());
    Block sb{};
    EXPECT_TRUE(disk.read(0, sb).ok());
    const BlockNr before = cache::Superblock::unpack(sb.data()).mapping_root;
    Status refused = (*md)->insert_mapping(200, 7);
    EXPECT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().kind(), ErrorKind::no_data);
    EXPECT_TRUE((*md)->commit(false).ok());
    EXPECT_TRUE(disk.read(0, sb).ok());
    return cache::Superblock::unpack(sb.data()).mapping_root != before;
  };
  EXPECT_TRUE(root_moves(kernel::cache_engine()));
  EXPECT_FALSE(root_moves(cache::pdsim_cache_engine()));
}

// dm_cache_set_discard checks the bitset's word, not the bit: a bit past the discard bitset's
// length but inside its last word is accepted. Ours refuses it. (dm-cache never asks.)
TEST_F(KernelEngine, TheKernelAcceptsADiscardBitPastTheEndInsideTheLastWord) {
  auto set_past_end = [](seam::CacheEngine& engine) -> Status {
    sim::SimDisk disk(1024, 1);
    auto md = engine.format(disk, 64, 1);
    PDSIM_TRY(md);
    PDSIM_TRY((*md)->resize_discard(256, 100));
    return (*md)->set_discard(101, true);
  };
  EXPECT_TRUE(set_past_end(kernel::cache_engine()).ok());
  Status ours = set_past_end(cache::pdsim_cache_engine());
  ASSERT_FALSE(ours.ok());
  EXPECT_EQ(ours.error().kind(), ErrorKind::no_data);
}

// dm_cache_resize leaves the hint array at its length until the next dm_cache_write_hints; ours
// resizes it with the cache (cache_check 0.9 rejects a hint array of another length). A mapping
// made past the old length then has no hint in the kernel's image and a zero hint in ours.
TEST_F(KernelEngine, TheKernelKeepsTheHintArraysLengthOnAResize) {
  auto hint_array_follows = [](seam::CacheEngine& engine) {
    sim::SimDisk disk(1024, 1);
    auto md = engine.format(disk, 64, 1);
    EXPECT_TRUE(md.ok());
    EXPECT_TRUE((*md)->resize(100).ok());
    const seam::CachePolicy smq{"smq", {2, 0, 0}, 4};
    EXPECT_TRUE((*md)->write_hints(smq, [](std::uint32_t c) -> Result<std::uint32_t> { return c + 1; }).ok());
    EXPECT_TRUE((*md)->commit(false).ok());
    EXPECT_TRUE((*md)->resize(300).ok());
    EXPECT_TRUE((*md)->insert_mapping(250, 9).ok());
    EXPECT_TRUE((*md)->commit(false).ok());
    md->reset();
    auto report = check::check_cache(disk);
    EXPECT_TRUE(report.ok() && report->report.clean());
    std::ostringstream xml;
    EXPECT_TRUE(cache::dump_cache_xml(disk, xml).ok());
    return xml.str().find("<hint cache_block=\"250\"") != std::string::npos;
  };
  EXPECT_FALSE(kernel::cache_engine().resize_resizes_hints());
  EXPECT_FALSE(hint_array_follows(kernel::cache_engine()));
  EXPECT_TRUE(cache::pdsim_cache_engine().resize_resizes_hints());
  EXPECT_TRUE(hint_array_follows(cache::pdsim_cache_engine()));
}

// A kernel bug the differential found (differential_cache seed 5364): dm-array's shrink drops
// whole blocks only when the new size has fewer full blocks, and trims the new last block only
// when it is partial. Shrinking to an exact multiple of the entries per block (509 mappings) from
// a size with as many full blocks and a partial one does neither: the old partial block stays, so
// the committed mapping array is longer than the cache (the checker: bad_array_length). Ours
// drops it. The differential ends such a run as a known divergence.
TEST_F(KernelEngine, TheKernelsArrayShrinkToAWholeNumberOfBlocksKeepsTheOldPartialBlock) {
  auto shrink_to_whole_blocks = [](seam::CacheEngine& engine) {
    sim::SimDisk disk(1024, 1);
    auto md = engine.format(disk, 64, 2);
    EXPECT_TRUE(md.ok());
    EXPECT_TRUE((*md)->resize(1931).ok());
    EXPECT_TRUE((*md)->resize(3 * 509).ok());
    EXPECT_TRUE((*md)->commit(false).ok());
    md->reset();
    auto report = check::check_cache(disk);
    EXPECT_TRUE(report.ok());
    return report.ok() && report->report.has(check::ProblemKind::bad_array_length);
  };
  EXPECT_TRUE(shrink_to_whole_blocks(kernel::cache_engine()));
  EXPECT_FALSE(shrink_to_whole_blocks(cache::pdsim_cache_engine()));
}

}  // namespace
}  // namespace pdsim
