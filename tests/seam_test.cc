// SPDX-License-Identifier: GPL-2.0-or-later
// The engine seam (core/seam/): a second engine plugs into the scenarios unchanged. A forwarding
// engine around ours runs thin scenarios through RunOptions::thin_engine; the runs pass, print the
// same lines as with ours, and every metadata operation went through the forwarding engine.
#include <gtest/gtest.h>

#include <sstream>

#include "core/thin/pool_metadata.h"
#include "scenarios/runner/registry.h"
#include "core/cache/cache_metadata.h"
#include "testing/forwarding_cache_engine.h"
#include "testing/forwarding_thin_engine.h"

namespace pdsim::scenarios {
namespace {

SeedOutcome run_with(const char* name, std::uint64_t seed, seam::ThinEngine* engine, std::string& trace,
                     seam::CacheEngine* cache_engine = nullptr) {
  const Scenario* sc = find_scenario(name);
  EXPECT_NE(sc, nullptr) << name;
  RunOptions opts;
  opts.thin_check = ThinCheck::never;
  opts.thin_engine = engine;
  opts.cache_engine = cache_engine;
  std::ostringstream out;
  SeedOutcome o = sc->run(seed, opts, out);
  trace = out.str();
  return o;
}

class SeamScenario : public ::testing::TestWithParam<const char*> {};

TEST_P(SeamScenario, RunsUnchangedThroughAnotherEngine) {
  testing::ForwardingThinEngine forwarding(thin::pdsim_thin_engine());
  std::string ours_trace, fwd_trace;
  const SeedOutcome ours = run_with(GetParam(), 2, nullptr, ours_trace);
  const SeedOutcome fwd = run_with(GetParam(), 2, &forwarding, fwd_trace);
  ASSERT_TRUE(fwd.passed) << (fwd.failures.empty() ? fwd.summary : fwd.failures.front());
  EXPECT_EQ(fwd.summary, ours.summary);
  EXPECT_EQ(fwd_trace, ours_trace);
  EXPECT_GE(forwarding.calls["format"], 1u);
  EXPECT_GE(forwarding.calls["commit"], 1u);
  EXPECT_GE(forwarding.calls["insert_mapping"] + forwarding.calls["create_thin"], 1u);
}

INSTANTIATE_TEST_SUITE_P(Thin, SeamScenario,
                         ::testing::Values("snapshot_storm", "thin_faults", "tree_shapes", "resize_with_io",
                                           "commit_failure_sets_needs_check", "out_of_data_space_resize"),
                         [](const auto& param_info) { return std::string(param_info.param); });

class CacheSeamScenario : public ::testing::TestWithParam<const char*> {};

TEST_P(CacheSeamScenario, RunsUnchangedThroughAnotherEngine) {
  testing::ForwardingCacheEngine forwarding(cache::pdsim_cache_engine());
  std::string ours_trace, fwd_trace;
  const SeedOutcome ours = run_with(GetParam(), 3, nullptr, ours_trace);
  const SeedOutcome fwd = run_with(GetParam(), 3, nullptr, fwd_trace, &forwarding);
  ASSERT_TRUE(fwd.passed) << (fwd.failures.empty() ? fwd.summary : fwd.failures.front());
  EXPECT_EQ(fwd.summary, ours.summary);
  EXPECT_EQ(fwd_trace, ours_trace);
  EXPECT_GE(forwarding.calls["format"], 1u);
  EXPECT_GE(forwarding.calls["commit"], 1u);
  EXPECT_GE(forwarding.calls["insert_mapping"], 1u);
}

INSTANTIATE_TEST_SUITE_P(Cache, CacheSeamScenario, ::testing::Values("cache_crash", "cache_swarm"),
                         [](const auto& param_info) { return std::string(param_info.param); });

}  // namespace
}  // namespace pdsim::scenarios
