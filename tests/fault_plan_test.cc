// SPDX-License-Identifier: GPL-2.0-or-later
#include "sim/fault_plan.h"

#include <gtest/gtest.h>

#include "sim/rng.h"

namespace pdsim::sim {
namespace {

FaultPlan parse_ok(std::string_view line) {
  auto p = FaultPlan::parse(line);
  EXPECT_TRUE(p.ok()) << line << ": " << (p.ok() ? "" : p.error().to_string());
  return p.ok() ? std::move(p).value() : FaultPlan{};
}

TEST(FaultPlan, EmptyPlanPrintsAsNone) {
  EXPECT_EQ(FaultPlan{}.to_string(), "none");
  EXPECT_TRUE(parse_ok("none").empty());
  EXPECT_TRUE(parse_ok("").empty());
}

class PlanRoundTrip : public ::testing::TestWithParam<const char*> {};

TEST_P(PlanRoundTrip, PrintsAndParsesBackToTheSameLine) {
  FaultPlan p = parse_ok(GetParam());
  EXPECT_EQ(p.to_string(), GetParam());
  EXPECT_EQ(parse_ok(p.to_string()), p);
}

INSTANTIATE_TEST_SUITE_P(
    EverySelectorAndAction, PlanRoundTrip,
    ::testing::Values("write nth=3 -> error", "read nth=1 -> error", "flush nth=2 -> error", "any p=1/100 -> error",
                      "read blocks=10-20 -> rot=1", "write blocks=900- -> nospace", "write p=3/7 -> flip=2",
                      "write blocks=5-5 -> misdirect=3", "write nth=4 -> misdirect=-2", "write ops=10-20 -> drop",
                      "write ops=7- -> drop", "flush p=1/2 -> lie", "any flakey=50/10 -> error",
                      "write nth=2 blocks=0-9 p=1/3 -> flip=1",
                      "write nth=3 -> error; read blocks=10-20 -> rot=1; any p=1/100 -> error"));

TEST(FaultPlan, ParsingIsTolerantOfSpacingAndCanonicalises) {
  FaultPlan p = parse_ok("  write   nth=3->error ;; flush nth=1 -> lie ; ");
  EXPECT_EQ(p.to_string(), "write nth=3 -> error; flush nth=1 -> lie");
  EXPECT_EQ(parse_ok("any nth=2 -> error").to_string(), "any nth=2 -> error");
  EXPECT_EQ(parse_ok("nth=2 -> error").to_string(), "any nth=2 -> error");
  EXPECT_EQ(parse_ok("write nth=1 -> misdirect=+4").to_string(), "write nth=1 -> misdirect=4");
}

class PlanRejects : public ::testing::TestWithParam<const char*> {};

TEST_P(PlanRejects, WithAClearInvalidError) {
  auto p = FaultPlan::parse(GetParam());
  ASSERT_FALSE(p.ok()) << GetParam();
  EXPECT_EQ(p.error().kind(), ErrorKind::invalid);
  EXPECT_NE(p.error().message().find("fault rule"), std::string::npos) << p.error().message();
}

INSTANTIATE_TEST_SUITE_P(
    BadLines, PlanRejects,
    ::testing::Values("write nth=3", "write nth=0 -> error", "write nth=x -> error", "bogus -> error",
                      "write -> explode", "write -> error drop", "read -> drop", "write -> lie", "flush -> rot=1",
                      "write -> flip=0", "write -> flip=65", "write -> misdirect=0", "write p=2/1 -> error",
                      "write p=1/0 -> error", "write blocks=9-3 -> error", "write blocks=x -> error",
                      "flush blocks=1-2 -> error", "read write -> error", "any flakey=1/0 -> error",
                      "write nth=1 -> error; oops"));

// Found by fuzz_fault_plan: a plan with a line break in it was echoed into a two-line error.
TEST(FaultPlan, AControlCharacterIsRefusedWithoutEchoingTheLine) {
  auto p = FaultPlan::parse("read blocks=10-20 -> rot=1; any p=1/100 ->`error\nread -> error");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().message(), "fault plan: a control character (0x0a) at column 49; a plan is one line");
}

TEST(FaultPlan, ALongRuleIsCutInTheMessage) {
  auto p = FaultPlan::parse("write " + std::string(500, 'x') + " -> error");
  ASSERT_FALSE(p.ok());
  EXPECT_LT(p.error().message().size(), 200u) << p.error().message();
}

OpContext op(OpKind k, std::uint64_t kind_count, std::uint64_t op_count, std::optional<BlockNr> b = std::nullopt) {
  return OpContext{k, kind_count, op_count, b};
}

TEST(FaultPlanDecide, NthMatchesOnlyThatOperationOfThatKind) {
  FaultPlan p = parse_ok("write nth=3 -> error");
  Rng rng(1);
  EXPECT_EQ(p.decide(op(OpKind::write, 2, 5, 0), rng), nullptr);
  EXPECT_NE(p.decide(op(OpKind::write, 3, 6, 0), rng), nullptr);
  EXPECT_EQ(p.decide(op(OpKind::read, 3, 7, 0), rng), nullptr);
  EXPECT_EQ(p.decide(op(OpKind::write, 4, 8, 0), rng), nullptr);
}

TEST(FaultPlanDecide, BlockRangeAndOpenEnd) {
  FaultPlan p = parse_ok("any blocks=10-12 -> error; write blocks=100- -> nospace");
  Rng rng(1);
  EXPECT_EQ(p.decide(op(OpKind::read, 1, 1, 9), rng), nullptr);
  EXPECT_NE(p.decide(op(OpKind::read, 1, 1, 10), rng), nullptr);
  EXPECT_NE(p.decide(op(OpKind::write, 1, 1, 12), rng), nullptr);
  EXPECT_EQ(p.decide(op(OpKind::flush, 1, 1), rng), nullptr);  // a flush has no block
  auto* r = p.decide(op(OpKind::write, 1, 1, 5000), rng);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->action, FaultAction::nospace);
}

TEST(FaultPlanDecide, ActionsOnlyFireOnOperationsTheyApplyTo) {
  FaultPlan p = parse_ok("any nth=1 -> error");
  p.add(FaultRule{Selector{}, FaultAction::drop, 0});  // any -> drop: only writes
  Rng rng(1);
  auto* r = p.decide(op(OpKind::read, 2, 2, 0), rng);
  EXPECT_EQ(r, nullptr);
  r = p.decide(op(OpKind::write, 2, 3, 0), rng);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->action, FaultAction::drop);
}

TEST(FaultPlanDecide, FirstMatchingRuleWins) {
  FaultPlan p = parse_ok("write nth=1 -> drop; write -> error");
  Rng rng(1);
  EXPECT_EQ(p.decide(op(OpKind::write, 1, 1, 0), rng)->action, FaultAction::drop);
  EXPECT_EQ(p.decide(op(OpKind::write, 2, 2, 0), rng)->action, FaultAction::error);
}

TEST(FaultPlanDecide, OpsIntervalIsInclusive) {
  FaultPlan p = parse_ok("read ops=3-4 -> error");
  Rng rng(1);
  std::vector<bool> fired;
  for (std::uint64_t i = 1; i <= 6; ++i) fired.push_back(p.decide(op(OpKind::read, i, i, 0), rng) != nullptr);
  EXPECT_EQ(fired, (std::vector<bool>{false, false, true, true, false, false}));
}

TEST(FaultPlanDecide, FlakeyCyclesUpThenDown) {
  FaultPlan p = parse_ok("any flakey=3/2 -> error");
  Rng rng(1);
  std::vector<bool> fired;
  for (std::uint64_t i = 1; i <= 10; ++i) fired.push_back(p.decide(op(OpKind::read, i, i, 0), rng) != nullptr);
  EXPECT_EQ(fired, (std::vector<bool>{false, false, false, true, true, false, false, false, true, true}));
}

TEST(FaultPlanDecide, ProbabilityFiresAtAboutTheRateAndDeterministically) {
  FaultPlan p = parse_ok("write p=1/4 -> error");
  Rng a(99), b(99);
  int hits = 0;
  for (std::uint64_t i = 1; i <= 8000; ++i) {
    bool x = p.decide(op(OpKind::write, i, i, 0), a) != nullptr;
    bool y = p.decide(op(OpKind::write, i, i, 0), b) != nullptr;
    ASSERT_EQ(x, y);
    hits += x ? 1 : 0;
  }
  EXPECT_GT(hits, 1800);
  EXPECT_LT(hits, 2200);
}

TEST(FaultPlanDecide, ProbabilityDrawsOnlyWhenTheOtherTermsMatch) {
  FaultPlan p = parse_ok("write blocks=0-0 p=1/2 -> error");
  Rng a(5), b(5);
  (void)p.decide(op(OpKind::write, 1, 1, 7), a);  // block 7: no draw
  EXPECT_EQ(a.next(), b.next());
}

}  // namespace
}  // namespace pdsim::sim
