#include "core/common/result.h"

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

}  // namespace
}  // namespace pdsim
