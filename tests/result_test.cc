// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/common/result.h"

#include "core/common/assert.h"

#include <gtest/gtest.h>

namespace pdsim {
namespace {

Result<int> half(int x) {
  if (x % 2 != 0) return Error::invalid("odd");
  return x / 2;
}

Result<int> quarter(int x) {
  PDSIM_TRY_ASSIGN(int h, half(x));
  PDSIM_TRY_ASSIGN(int q, half(h));
  return q;
}

Status check_even(int x) {
  PDSIM_TRY(half(x));
  return {};
}

TEST(Result, CarriesValueOrError) {
  auto r = quarter(8);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 2);
  auto e = quarter(6);  // 6 -> 3 -> odd
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().kind(), ErrorKind::invalid);
  EXPECT_EQ(e.error().to_string(), "invalid: odd");
}

TEST(Result, StatusPropagates) {
  EXPECT_TRUE(check_even(2).ok());
  auto s = check_even(3);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message(), "odd");
}

TEST(Result, WithContextPrefixes) {
  Error e = Error::io("disk on fire").with_context("flush");
  EXPECT_EQ(e.kind(), ErrorKind::io);
  EXPECT_EQ(e.message(), "flush: disk on fire");
}

TEST(Result, KindNames) {
  EXPECT_EQ(to_string(ErrorKind::no_space), "no_space");
  EXPECT_EQ(to_string(ErrorKind::corruption), "corruption");
  EXPECT_EQ(to_string(ErrorKind::read_only), "read_only");
}

// Assertions are on in every build, the RelWithDebInfo (-DNDEBUG) one users run included.
TEST(Assertions, FireInEveryBuild) {
  const int nr_entries = 3;
  EXPECT_DEATH(PDSIM_ASSERT(nr_entries < 2, "node overfull"),
               "assertion failed: node overfull \\(nr_entries < 2\\)");
}

TEST(Assertions, SlowOnesCostNothingUnlessEnabled) {
  int evaluated = 0;
  PDSIM_ASSERT_SLOW(++evaluated > 0, "counted");
#if defined(PDSIM_SLOW_ASSERTS)
  EXPECT_EQ(evaluated, 1);
#else
  EXPECT_EQ(evaluated, 0);
#endif
}

// A misused Result traps instead of handing back an empty value or error.
TEST(Assertions, MisusedResultTraps) {
  EXPECT_DEATH(static_cast<void>(half(3).value()), "value\\(\\) of a failed Result");
  EXPECT_DEATH(static_cast<void>(half(4).error()), "error\\(\\) of a successful Result");
  EXPECT_DEATH(static_cast<void>(check_even(4).error()), "error\\(\\) of a successful Status");
}

}  // namespace
}  // namespace pdsim
