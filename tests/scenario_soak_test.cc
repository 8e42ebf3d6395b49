// The slow dmtest re-creation, in the soak label: resize_after_exhaust (about 8 s a seed) passes
// seeds 1..2 with the real thin_check on a sample of images.
#include <gtest/gtest.h>

#include <sstream>

#include "core/common/seed_bugs.h"
#include "scenarios/suite.h"

namespace pdsim::scenarios {
namespace {

TEST(DmtestSoak, ResizeAfterExhaustPassesSeedsOneAndTwo) {
  const Scenario* s = find_scenario("resize_after_exhaust");
  ASSERT_NE(s, nullptr);
  ScopedBugs off({});
  std::ostringstream trace;
  for (std::uint64_t seed = 1; seed <= 2; ++seed) {
    const SeedOutcome o = s->run(seed, RunOptions{}, trace);
    EXPECT_TRUE(o.passed) << "seed " << seed << ": " << o.summary << "\n  "
                          << (o.failures.empty() ? std::string("(no failure line)") : o.failures.front());
  }
}

}  // namespace
}  // namespace pdsim::scenarios
