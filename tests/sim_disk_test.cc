// SPDX-License-Identifier: GPL-2.0-or-later
#include "sim/sim_disk.h"

#include <bit>
#include <set>

#include <gtest/gtest.h>

#include "testing/test_util.h"

namespace pdsim::sim {
namespace {

using pdsim::testing::pattern_block;

FaultPlan plan(const char* line) {
  auto p = FaultPlan::parse(line);
  EXPECT_TRUE(p.ok()) << p.error().to_string();
  return std::move(p).value();
}

Block durable_block(const SimDisk& d, BlockNr b) {
  Block out;
  d.durable().read(b, BlockSpan(out));
  return out;
}

Block read_block(SimDisk& d, BlockNr b) {
  Block out{};
  EXPECT_TRUE(d.read(b, BlockSpan(out)).ok());
  return out;
}

int bit_distance(const Block& a, const Block& b) {
  int n = 0;
  for (std::size_t i = 0; i < a.size(); ++i) n += std::popcount(static_cast<unsigned>(a[i] ^ b[i]));
  return n;
}

TEST(SimDisk, WritesArePendingUntilFlush) {
  SimDisk d(8, 1);
  ASSERT_TRUE(d.write(2, ConstBlockSpan(pattern_block(1))).ok());
  EXPECT_EQ(d.pending().size(), 1u);
  EXPECT_TRUE(is_zero(ConstBlockSpan(durable_block(d, 2))));
  EXPECT_EQ(read_block(d, 2), pattern_block(1));  // reads see the cache
  ASSERT_TRUE(d.flush().ok());
  EXPECT_EQ(d.pending().size(), 0u);
  EXPECT_EQ(durable_block(d, 2), pattern_block(1));
}

TEST(SimDisk, FuaWriteIsDurableAtOnceAndSupersedesCachedCopies) {
  SimDisk d(8, 1);
  ASSERT_TRUE(d.write(3, ConstBlockSpan(pattern_block(1))).ok());
  ASSERT_TRUE(d.write(3, ConstBlockSpan(pattern_block(2)), WriteMode::fua).ok());
  EXPECT_EQ(durable_block(d, 3), pattern_block(2));
  EXPECT_TRUE(d.pending().empty());
  d.power_cut(PowerCutPolicy::all);
  EXPECT_EQ(durable_block(d, 3), pattern_block(2));
}

TEST(SimDisk, OutOfRangeIsInvalidAndNotCounted) {
  SimDisk d(4, 1);
  Block b{};
  EXPECT_EQ(d.read(4, BlockSpan(b)).error().kind(), ErrorKind::invalid);
  EXPECT_EQ(d.write(4, ConstBlockSpan(b)).error().kind(), ErrorKind::invalid);
  EXPECT_EQ(d.op_count(), 0u);
}

// ---- every fault action ----

TEST(SimDiskFaults, ErrorOnReadWriteAndFlush) {
  SimDisk d(8, 1, plan("read nth=1 -> error; write nth=1 -> error; flush nth=1 -> error"));
  Block b{};
  auto r = d.read(0, BlockSpan(b));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::io);
  auto w = d.write(0, ConstBlockSpan(pattern_block(1)));
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().kind(), ErrorKind::io);
  EXPECT_TRUE(d.pending().empty());  // a failed write stores nothing
  ASSERT_TRUE(d.write(1, ConstBlockSpan(pattern_block(2))).ok());
  auto f = d.flush();
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(d.pending().size(), 1u);  // a failed flush makes nothing durable
  EXPECT_TRUE(d.flush().ok());
  EXPECT_EQ(durable_block(d, 1), pattern_block(2));
  EXPECT_EQ(d.counters().faults[static_cast<std::size_t>(FaultAction::error)], 3u);
}

TEST(SimDiskFaults, DropReportsSuccessAndStoresNothing) {
  SimDisk d(8, 1, plan("write blocks=4-4 -> drop"));
  ASSERT_TRUE(d.write(4, ConstBlockSpan(pattern_block(1))).ok());
  ASSERT_TRUE(d.flush().ok());
  EXPECT_TRUE(is_zero(ConstBlockSpan(durable_block(d, 4))));
  EXPECT_TRUE(is_zero(ConstBlockSpan(read_block(d, 4))));
}

TEST(SimDiskFaults, FlipCorruptsTheStoredDataByExactlyNBits) {
  SimDisk d(8, 1, plan("write nth=1 -> flip=3"));
  ASSERT_TRUE(d.write(1, ConstBlockSpan(pattern_block(1)), WriteMode::fua).ok());
  int dist = bit_distance(durable_block(d, 1), pattern_block(1));
  EXPECT_GE(dist, 1);  // three random flips, two may cancel
  EXPECT_LE(dist, 3);
  EXPECT_EQ(dist % 2, 1);
}

TEST(SimDiskFaults, RotCorruptsTheReadButNotTheDisk) {
  SimDisk d(8, 1, plan("read nth=1 -> rot=1"));
  ASSERT_TRUE(d.write(1, ConstBlockSpan(pattern_block(1)), WriteMode::fua).ok());
  EXPECT_EQ(bit_distance(read_block(d, 1), pattern_block(1)), 1);
  EXPECT_EQ(durable_block(d, 1), pattern_block(1));
  EXPECT_EQ(read_block(d, 1), pattern_block(1));  // the second read is clean
}

TEST(SimDiskFaults, MisdirectStoresTheWriteElsewhere) {
  SimDisk d(8, 1, plan("write nth=1 -> misdirect=3; write nth=2 -> misdirect=-2"));
  ASSERT_TRUE(d.write(2, ConstBlockSpan(pattern_block(1))).ok());
  ASSERT_TRUE(d.write(1, ConstBlockSpan(pattern_block(2))).ok());  // wraps: 1 - 2 = 7 (mod 8)
  ASSERT_TRUE(d.flush().ok());
  EXPECT_TRUE(is_zero(ConstBlockSpan(durable_block(d, 2))));
  EXPECT_EQ(durable_block(d, 5), pattern_block(1));
  EXPECT_EQ(durable_block(d, 7), pattern_block(2));
  EXPECT_EQ(d.log().entries()[0].target, 5u);
}

TEST(SimDiskFaults, LyingFlushMakesNothingDurable) {
  SimDisk d(8, 1, plan("flush nth=1 -> lie"));
  ASSERT_TRUE(d.write(1, ConstBlockSpan(pattern_block(1))).ok());
  ASSERT_TRUE(d.flush().ok());
  EXPECT_TRUE(is_zero(ConstBlockSpan(durable_block(d, 1))));
  d.power_cut(PowerCutPolicy::none);
  EXPECT_TRUE(is_zero(ConstBlockSpan(durable_block(d, 1))));
}

TEST(SimDiskFaults, NoSpacePastASize) {
  SimDisk d(100, 1, plan("write blocks=50- -> nospace"));
  EXPECT_TRUE(d.write(49, ConstBlockSpan(pattern_block(1))).ok());
  auto w = d.write(50, ConstBlockSpan(pattern_block(1)));
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().kind(), ErrorKind::no_space);
  EXPECT_FALSE(d.write(99, ConstBlockSpan(pattern_block(1))).ok());
}

TEST(SimDiskFaults, FlakeyErrorsForAnIntervalThenRecovers) {
  SimDisk d(8, 1, plan("any flakey=4/2 -> error"));
  std::vector<bool> ok;
  for (int i = 0; i < 12; ++i) ok.push_back(d.write(0, ConstBlockSpan(pattern_block(1))).ok());
  EXPECT_EQ(ok, (std::vector<bool>{true, true, true, true, false, false, true, true, true, true, false, false}));
}

TEST(SimDiskFaults, ProbabilityFaultsAreReproducibleBySeed) {
  auto run = [](std::uint64_t seed) {
    SimDisk d(8, seed, plan("write p=1/3 -> error"));
    std::vector<bool> ok;
    for (int i = 0; i < 60; ++i) ok.push_back(d.write(0, ConstBlockSpan(pattern_block(1))).ok());
    return ok;
  };
  EXPECT_EQ(run(5), run(5));
  EXPECT_NE(run(5), run(6));
}

TEST(SimDiskFaults, PlanCanChangeMidRun) {
  SimDisk d(8, 1);
  EXPECT_TRUE(d.write(0, ConstBlockSpan(pattern_block(1))).ok());
  d.set_plan(plan("write -> error"));
  EXPECT_FALSE(d.write(0, ConstBlockSpan(pattern_block(1))).ok());
  d.set_plan(FaultPlan{});
  EXPECT_TRUE(d.write(0, ConstBlockSpan(pattern_block(1))).ok());
}

// ---- every power-cut policy ----

// Four pending writes to four blocks, over a durable image of pattern 100+b.
std::unique_ptr<SimDisk> disk_with_pending(std::uint64_t seed) {
  Image img(8);
  for (BlockNr b = 0; b < 8; ++b) img.write(b, ConstBlockSpan(pattern_block(static_cast<std::uint8_t>(100 + b))));
  auto d = std::make_unique<SimDisk>(img, seed);
  for (BlockNr b = 0; b < 4; ++b) EXPECT_TRUE(d->write(b, ConstBlockSpan(pattern_block(static_cast<std::uint8_t>(b)))).ok());
  return d;
}

// Which of blocks 0..3 hold the new data (true), the old (false); fails on anything else.
std::vector<bool> landed(const SimDisk& d) {
  std::vector<bool> out;
  for (BlockNr b = 0; b < 4; ++b) {
    Block now = durable_block(d, b);
    bool is_new = now == pattern_block(static_cast<std::uint8_t>(b));
    bool is_old = now == pattern_block(static_cast<std::uint8_t>(100 + b));
    EXPECT_TRUE(is_new || is_old) << "block " << b;
    out.push_back(is_new);
  }
  for (BlockNr b = 4; b < 8; ++b) EXPECT_EQ(durable_block(d, b), pattern_block(static_cast<std::uint8_t>(100 + b)));
  return out;
}

TEST(SimDiskPowerCut, NoneLosesEveryPendingWrite) {
  auto dp = disk_with_pending(1);
  SimDisk& d = *dp;
  auto rep = d.power_cut(PowerCutPolicy::none);
  EXPECT_EQ(rep.pending, 4u);
  EXPECT_EQ(rep.lost, 4u);
  EXPECT_EQ(landed(d), (std::vector<bool>{false, false, false, false}));
  EXPECT_TRUE(d.pending().empty());
}

TEST(SimDiskPowerCut, AllKeepsEveryPendingWrite) {
  auto dp = disk_with_pending(1);
  SimDisk& d = *dp;
  auto rep = d.power_cut(PowerCutPolicy::all);
  EXPECT_EQ(rep.kept_whole, 4u);
  EXPECT_EQ(landed(d), (std::vector<bool>{true, true, true, true}));
}

TEST(SimDiskPowerCut, PrefixKeepsAnInOrderPrefixAndEveryLengthOccurs) {
  std::set<std::size_t> lengths;
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    auto dp = disk_with_pending(seed);
    SimDisk& d = *dp;
    auto rep = d.power_cut(PowerCutPolicy::prefix);
    auto l = landed(d);
    for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(l[i], i < rep.kept_whole) << "seed " << seed;
    lengths.insert(rep.kept_whole);
  }
  EXPECT_EQ(lengths, (std::set<std::size_t>{0, 1, 2, 3, 4}));
}

TEST(SimDiskPowerCut, SubsetAndReorderProduceNonPrefixOutcomes) {
  for (auto policy : {PowerCutPolicy::subset, PowerCutPolicy::reorder}) {
    bool saw_non_prefix = false;
    for (std::uint64_t seed = 1; seed <= 60; ++seed) {
      auto dp = disk_with_pending(seed);
      SimDisk& d = *dp;
      auto rep = d.power_cut(policy);
      auto l = landed(d);
      EXPECT_EQ(static_cast<std::size_t>(std::count(l.begin(), l.end(), true)), rep.kept_whole);
      bool prefix = true;
      for (std::size_t i = 1; i < 4; ++i) prefix = prefix && (!l[i] || l[i - 1]);
      saw_non_prefix = saw_non_prefix || !prefix;
    }
    EXPECT_TRUE(saw_non_prefix) << to_string(policy);
  }
}

TEST(SimDiskPowerCut, NewestKeptCopyOfABlockWins) {
  SimDisk d(4, 1);
  ASSERT_TRUE(d.write(0, ConstBlockSpan(pattern_block(1))).ok());
  ASSERT_TRUE(d.write(0, ConstBlockSpan(pattern_block(2))).ok());
  d.power_cut(PowerCutPolicy::all);
  EXPECT_EQ(durable_block(d, 0), pattern_block(2));
}

struct SectorMix {
  int torn_total = 0;
  bool saw_old = false, saw_new = false, saw_garbage = false;
};

SectorMix tear_many(PowerCutPolicy policy) {
  SectorMix m;
  int& torn_total = m.torn_total;
  bool &saw_old = m.saw_old, &saw_new = m.saw_new, &saw_garbage = m.saw_garbage;
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    auto dp = disk_with_pending(seed);
    SimDisk& d = *dp;
    auto rep = d.power_cut(policy);
    EXPECT_EQ(rep.kept_whole + rep.torn + rep.lost, 4u);
    torn_total += static_cast<int>(rep.torn);
    for (BlockNr b = 0; b < 4; ++b) {
      Block now = durable_block(d, b), nw = pattern_block(static_cast<std::uint8_t>(b)),
            old = pattern_block(static_cast<std::uint8_t>(100 + b));
      for (std::size_t s = 0; s < kSectorsPerBlock; ++s) {
        auto sec = [&](const Block& x) { return std::vector<std::uint8_t>(x.begin() + static_cast<long>(s * kSectorSize), x.begin() + static_cast<long>((s + 1) * kSectorSize)); };
        bool o = sec(now) == sec(old), n = sec(now) == sec(nw);
        saw_old = saw_old || (o && now != old);
        saw_new = saw_new || (n && now != nw);
        saw_garbage = saw_garbage || (!o && !n);
      }
    }
    for (BlockNr b = 4; b < 8; ++b) EXPECT_EQ(durable_block(d, b), pattern_block(static_cast<std::uint8_t>(100 + b)));
  }
  return m;
}

TEST(SimDiskPowerCut, TornWritesMixOldAndNewSectorsOnly) {
  SectorMix m = tear_many(PowerCutPolicy::torn);
  EXPECT_GT(m.torn_total, 0);
  EXPECT_TRUE(m.saw_old && m.saw_new);
  EXPECT_FALSE(m.saw_garbage);  // sector writes stay atomic
}

TEST(SimDiskPowerCut, GarbageTearsAlsoLeaveGarbageSectors) {
  SectorMix m = tear_many(PowerCutPolicy::garbage);
  EXPECT_GT(m.torn_total, 0);
  EXPECT_TRUE(m.saw_old && m.saw_new && m.saw_garbage);
}

TEST(SimDiskPowerCut, DiskCarriesOnAfterACut) {
  auto dp = disk_with_pending(1);
  SimDisk& d = *dp;
  d.power_cut(PowerCutPolicy::none);
  ASSERT_TRUE(d.write(5, ConstBlockSpan(pattern_block(7))).ok());
  ASSERT_TRUE(d.flush().ok());
  EXPECT_EQ(durable_block(d, 5), pattern_block(7));
  EXPECT_EQ(d.counters().power_cuts, 1u);
  EXPECT_EQ(d.counters().writes_lost, 4u);
}

TEST(SimDiskPowerCut, PolicyNamesParseBack) {
  for (auto p : kAllPowerCutPolicies) {
    auto q = parse_power_cut_policy(to_string(p));
    ASSERT_TRUE(q.ok());
    EXPECT_EQ(*q, p);
  }
  EXPECT_FALSE(parse_power_cut_policy("sometimes").ok());
}

TEST(SimDisk, CountersAddUp) {
  SimDisk d(8, 1, plan("write nth=2 -> drop"));
  Block b{};
  ASSERT_TRUE(d.write(0, ConstBlockSpan(b)).ok());
  ASSERT_TRUE(d.write(1, ConstBlockSpan(b), WriteMode::fua).ok());
  ASSERT_TRUE(d.read(0, BlockSpan(b)).ok());
  ASSERT_TRUE(d.flush().ok());
  const auto& c = d.counters();
  EXPECT_EQ(c.writes, 2u);
  EXPECT_EQ(c.fua_writes, 1u);
  EXPECT_EQ(c.reads, 1u);
  EXPECT_EQ(c.flushes, 1u);
  EXPECT_EQ(c.bytes_written, kBlockSize);  // the dropped write stored nothing
  EXPECT_EQ(c.bytes_read, kBlockSize);
  EXPECT_EQ(c.faults_fired(), 1u);
  EXPECT_EQ(d.op_count(), 4u);
  EXPECT_NE(c.summary().find("drop 1"), std::string::npos);
}

}  // namespace
}  // namespace pdsim::sim
