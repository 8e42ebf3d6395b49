// SPDX-License-Identifier: GPL-2.0-or-later
#include "sim/rng.h"

#include <array>
#include <vector>

#include <gtest/gtest.h>

namespace pdsim::sim {
namespace {

TEST(Rng, SameSeedSameSequence) {
  Rng a(42), b(42), c(43);
  bool differs = false;
  for (int i = 0; i < 1000; ++i) {
    auto x = a.next();
    EXPECT_EQ(x, b.next());
    differs = differs || x != c.next();
  }
  EXPECT_TRUE(differs);
}

TEST(Rng, KnownFirstOutputsArePinned) {
  // Pinned so that a change to the generator (which would silently change every seed's run) is
  // caught here rather than by confused users replaying old seeds.
  Rng r(1);
  std::array<std::uint64_t, 3> got{r.next(), r.next(), r.next()};
  Rng again(1);
  for (auto g : got) EXPECT_EQ(g, again.next());
  EXPECT_EQ(got[0], 0xb3f2af6d0fc710c5ull);
}

TEST(Rng, BelowStaysInRangeAndCoversIt) {
  Rng r(7);
  std::array<int, 10> hist{};
  for (int i = 0; i < 100000; ++i) {
    auto x = r.below(10);
    ASSERT_LT(x, 10u);
    ++hist[x];
  }
  for (int h : hist) {
    EXPECT_GT(h, 9000);
    EXPECT_LT(h, 11000);
  }
  EXPECT_EQ(r.below(1), 0u);
}

TEST(Rng, BelowIsUnbiasedForAwkwardBounds) {
  // n just above 2^63: a plain modulo would return the low half twice as often.
  Rng r(9);
  const std::uint64_t n = (1ull << 63) + (1ull << 62);
  int low = 0;
  const int trials = 20000;
  for (int i = 0; i < trials; ++i) low += r.below(n) < n / 2 ? 1 : 0;
  EXPECT_GT(low, trials / 2 - 600);
  EXPECT_LT(low, trials / 2 + 600);
}

TEST(Rng, BetweenIsInclusive) {
  Rng r(3);
  bool lo = false, hi = false;
  for (int i = 0; i < 1000; ++i) {
    auto x = r.between(5, 7);
    ASSERT_GE(x, 5u);
    ASSERT_LE(x, 7u);
    lo = lo || x == 5;
    hi = hi || x == 7;
  }
  EXPECT_TRUE(lo && hi);
  EXPECT_EQ(r.between(4, 4), 4u);
}

TEST(Rng, ChanceExtremesAndRate) {
  Rng r(5);
  int hits = 0;
  for (int i = 0; i < 10000; ++i) {
    EXPECT_FALSE(r.chance(0, 3));
    EXPECT_TRUE(r.chance(3, 3));
    hits += r.chance(1, 4) ? 1 : 0;
  }
  EXPECT_GT(hits, 2300);
  EXPECT_LT(hits, 2700);
}

TEST(Rng, ForkIsDeterministicAndIndependentOfLaterParentDraws) {
  Rng a(11), b(11);
  Rng fa = a.fork();
  Rng fb = b.fork();
  (void)a.next();  // the parent moving on does not move the child
  for (int i = 0; i < 100; ++i) EXPECT_EQ(fa.next(), fb.next());
}

TEST(Rng, ShuffleIsAPermutation) {
  Rng r(13);
  std::vector<int> v(50);
  for (int i = 0; i < 50; ++i) v[static_cast<std::size_t>(i)] = i;
  r.shuffle(std::span<int>(v));
  std::vector<int> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 50; ++i) EXPECT_EQ(sorted[static_cast<std::size_t>(i)], i);
  EXPECT_NE(v, sorted);
}

}  // namespace
}  // namespace pdsim::sim
