// SPDX-License-Identifier: GPL-2.0-or-later
#include "sim/crash_states.h"

#include <map>
#include <set>

#include <gtest/gtest.h>

#include "sim/sim_disk.h"
#include "testing/test_util.h"

namespace pdsim::sim {
namespace {

using pdsim::testing::pattern_block;

TEST(Binomial, SmallValuesAndSaturation) {
  EXPECT_EQ(binomial(0, 0), 1u);
  EXPECT_EQ(binomial(5, 0), 1u);
  EXPECT_EQ(binomial(5, 2), 10u);
  EXPECT_EQ(binomial(10, 3), 120u);
  EXPECT_EQ(binomial(3, 5), 0u);
  EXPECT_EQ(binomial(62, 31), 465428353255261088ull);
  EXPECT_EQ(binomial(1000, 500), UINT64_MAX);
}

// A log with P pending writes (to distinct blocks) and nothing else.
std::unique_ptr<SimDisk> pending_disk(std::size_t p, BlockNr nr_blocks = 64) {
  auto d = std::make_unique<SimDisk>(nr_blocks, 1);
  for (std::size_t i = 0; i < p; ++i)
    EXPECT_TRUE(d->write(i, ConstBlockSpan(pattern_block(static_cast<std::uint8_t>(i + 1)))).ok());
  return d;
}

// Counts the states produced at the last point of the log.
std::uint64_t states_at_last_point(const WriteLog& log, CrashStateOptions opts) {
  CrashStates cs(log, opts);
  std::map<std::size_t, std::uint64_t> per_point;
  while (auto s = cs.next()) ++per_point[s->after_entries];
  return per_point.empty() ? 0 : per_point.rbegin()->second;
}

TEST(CrashStates, SubsetCountsMatchTheCombinatorics) {
  for (std::size_t p = 1; p <= 7; ++p) {
    auto dp = pending_disk(p);
    SimDisk& d = *dp;
    for (std::size_t k = 0; k <= 3; ++k) {
      CrashStateOptions o{.max_subset = k, .torn = false};
      std::uint64_t want = 0;
      for (std::size_t j = 0; j <= k; ++j) want += binomial(p, j);
      EXPECT_EQ(states_at_last_point(d.log(), o), want) << "P=" << p << " K=" << k;
    }
    // With K = 2: 1 + P + P(P-1)/2.
    EXPECT_EQ(states_at_last_point(d.log(), {.max_subset = 2, .torn = false}), 1 + p + p * (p - 1) / 2);
    EXPECT_EQ(states_at_last_point(d.log(), {.max_subset = 2, .torn = true}), 1 + p + p * (p - 1) / 2 + 8 * p);
  }
}

TEST(CrashStates, TotalOverALogIsTheSumOverItsPoints) {
  SimDisk d(16, 1);
  std::vector<std::size_t> pending_at_point;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(d.write(static_cast<BlockNr>(i), ConstBlockSpan(pattern_block(1))).ok());
    pending_at_point.push_back(d.pending().size());
  }
  ASSERT_TRUE(d.flush().ok());
  pending_at_point.push_back(0);
  ASSERT_TRUE(d.write(9, ConstBlockSpan(pattern_block(2))).ok());
  pending_at_point.push_back(1);
  Block b{};
  ASSERT_TRUE(d.read(9, BlockSpan(b)).ok());  // reads are not crash points
  CrashStateOptions o{.max_subset = 2, .torn = true};
  std::uint64_t want = 0;
  for (auto p : pending_at_point) want += CrashStates::states_at(p, o);
  CrashStates cs(d.log(), o);
  std::uint64_t n = 0;
  while (cs.next()) ++n;
  EXPECT_EQ(n, want);
  EXPECT_EQ(cs.produced(), want);
  EXPECT_EQ(cs.points(), pending_at_point.size());
}

TEST(CrashStates, EveryStateIsDistinctAndAppliesExactlyItsWrites) {
  auto dp = pending_disk(5, 8);
    SimDisk& d = *dp;
  CrashStates cs(d.log(), {.max_subset = 2, .torn = false});
  std::set<std::uint64_t> digests_last;
  while (auto s = cs.next()) {
    if (s->after_entries != 5) continue;
    std::set<BlockNr> kept_blocks;
    for (auto seq : s->kept) kept_blocks.insert(d.log().entries()[seq].target);
    for (BlockNr b = 0; b < 8; ++b) {
      Block out;
      s->image.read(b, BlockSpan(out));
      if (kept_blocks.count(b)) {
        EXPECT_EQ(out, pattern_block(static_cast<std::uint8_t>(b + 1))) << s->describe();
      } else {
        EXPECT_TRUE(is_zero(ConstBlockSpan(out))) << s->describe();
      }
    }
    EXPECT_TRUE(digests_last.insert(s->image.digest()).second) << "duplicate state " << s->describe();
  }
  EXPECT_EQ(digests_last.size(), 16u);  // 1 + 5 + 10
}

TEST(CrashStates, TornVariantsTearAtSectorBoundaries) {
  Image img(4);
  img.write(0, ConstBlockSpan(pattern_block(50)));
  SimDisk d(img, 1);
  ASSERT_TRUE(d.write(0, ConstBlockSpan(pattern_block(1))).ok());
  CrashStates cs(d.log(), {.max_subset = 0, .torn = true, .seed = 3});
  std::vector<CrashState> torn;
  while (auto s = cs.next())
    if (s->torn) torn.push_back(std::move(*s));
  ASSERT_EQ(torn.size(), kTornVariants);
  const Block nw = pattern_block(1), old = pattern_block(50);
  for (const auto& s : torn) {
    Block out;
    s.image.read(0, BlockSpan(out));
    if (s.tear_variant + 1 < kTornVariants) {
      std::size_t new_bytes = (s.tear_variant + 1) * kSectorSize;
      EXPECT_TRUE(std::equal(out.begin(), out.begin() + static_cast<long>(new_bytes), nw.begin())) << s.describe();
      EXPECT_TRUE(std::equal(out.begin() + static_cast<long>(new_bytes), out.end(), old.begin() + static_cast<long>(new_bytes)))
          << s.describe();
    } else {
      int garbage_sectors = 0;
      for (std::size_t sec = 0; sec < kSectorsPerBlock; ++sec)
        garbage_sectors += std::equal(out.begin() + static_cast<long>(sec * kSectorSize),
                                      out.begin() + static_cast<long>((sec + 1) * kSectorSize),
                                      nw.begin() + static_cast<long>(sec * kSectorSize))
                               ? 0
                               : 1;
      EXPECT_EQ(garbage_sectors, 1);
    }
  }
}

TEST(CrashStates, NoPendingWritesMeansOnlyTheDurableImage) {
  SimDisk d(8, 1);
  ASSERT_TRUE(d.write(1, ConstBlockSpan(pattern_block(1)), WriteMode::fua).ok());
  ASSERT_TRUE(d.flush().ok());
  CrashStates cs(d.log(), {});
  int n = 0;
  while (auto s = cs.next()) {
    ++n;
    EXPECT_TRUE(s->kept.empty());
    EXPECT_TRUE(s->image.same_content(d.durable()));
  }
  EXPECT_EQ(n, 2);  // one state after the FUA write, one after the flush
}

TEST(CrashStates, SamplingTakesDistinctStatesWithinTheBudget) {
  auto dp = pending_disk(40);
    SimDisk& d = *dp;
  CrashStateOptions o{.max_subset = 2, .torn = true, .max_states_per_point = 25, .seed = 9};
  CrashStates cs(d.log(), o);
  std::map<std::size_t, std::set<std::string>> per_point;
  while (auto s = cs.next()) EXPECT_TRUE(per_point[s->after_entries].insert(s->describe()).second);
  EXPECT_GT(cs.sampled_points(), 0u);
  for (auto& [point, states] : per_point) {
    std::size_t pending = point;  // one pending write per entry
    EXPECT_EQ(states.size(), std::min<std::uint64_t>(25, CrashStates::states_at(pending, o))) << point;
  }
  // The same seed samples the same states.
  CrashStates again(d.log(), o);
  CrashStates first(d.log(), o);
  while (auto s = first.next()) {
    auto t = again.next();
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(s->describe(), t->describe());
  }
}

TEST(CrashStates, StatesShareUntouchedChunksWithTheDurableImage) {
  Image img(4096);
  for (BlockNr b = 0; b < 4096; b += 3) img.write(b, ConstBlockSpan(pattern_block(static_cast<std::uint8_t>(b))));
  SimDisk d(img, 1);
  ASSERT_TRUE(d.write(7, ConstBlockSpan(pattern_block(1))).ok());
  CrashStates cs(d.log(), {.max_subset = 1, .torn = false});
  auto s = cs.next();
  ASSERT_TRUE(s.has_value());
  s = cs.next();  // the state with the write applied
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->image.get(3000).get(), d.durable().get(3000).get());
}

}  // namespace
}  // namespace pdsim::sim
