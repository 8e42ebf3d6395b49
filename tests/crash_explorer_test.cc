// SPDX-License-Identifier: GPL-2.0-or-later
// The crash explorer's verdict reuse (scenarios/thin/crash_explorer.h): a state that changes only
// blocks the durable image's open, read and check never read takes the durable image's verdict.
// It must give exactly the outcome of checking every state in full, and still catch an engine
// that breaks crash consistency.
#include <gtest/gtest.h>

#include <memory>
#include <sstream>
#include <vector>

#include "core/io/forwarding_device.h"
#include "core/thin/pool_metadata.h"
#include "scenarios/thin/crash_explorer.h"

namespace pdsim::scenarios {
namespace {

SeedOutcome explore(std::uint64_t seed, bool reuse, seam::ThinEngine* engine = nullptr,
                    CrashExplorerTimes* times = nullptr) {
  RunOptions opts;
  opts.thin_engine = engine;
  CrashExplorerOptions x;
  x.reuse_verdicts = reuse;
  x.times = times;
  std::ostringstream trace;
  return explore_crash_states(seed, opts, x, trace);
}

TEST(CrashExplorer, ReusingTheDurableVerdictGivesTheOutcomeOfCheckingEveryState) {
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    CrashExplorerTimes times;
    const SeedOutcome full = explore(seed, false);
    const SeedOutcome reused = explore(seed, true, nullptr, &times);
    ASSERT_TRUE(full.passed) << seed;
    EXPECT_EQ(reused.passed, full.passed) << seed;
    EXPECT_EQ(reused.summary, full.summary) << seed;
    EXPECT_EQ(reused.crash_states, full.crash_states) << seed;
    EXPECT_GT(times.reused, times.states / 2) << seed << ": the reuse should take most states";
  }
}

// A device that drops every flush: the commit's superblock write and its new nodes are pending
// together, so a power cut can keep the superblock without them.
class NoFlushDevice final : public ForwardingDevice {
 public:
  using ForwardingDevice::ForwardingDevice;
  [[nodiscard]] Status flush() override { return {}; }
};

// Our engine on a device without flushes: not crash consistent.
class NoFlushEngine final : public seam::ThinEngine {
 public:
  std::string_view name() const override { return "no-flush"; }
  Result<std::unique_ptr<seam::ThinMetadata>> format(BlockDevice& dev, std::uint32_t data_block_size,
                                                     std::size_t cache_blocks) override {
    devices_.push_back(std::make_unique<NoFlushDevice>(dev));
    return thin::pdsim_thin_engine().format(*devices_.back(), data_block_size, cache_blocks);
  }
  Result<std::unique_ptr<seam::ThinMetadata>> open(BlockDevice& dev, std::optional<std::uint32_t> data_block_size,
                                                   bool read_only, std::size_t cache_blocks) override {
    return thin::pdsim_thin_engine().open(dev, data_block_size, read_only, cache_blocks);
  }

 private:
  std::vector<std::unique_ptr<NoFlushDevice>> devices_;
};

TEST(CrashExplorer, CatchesAnEngineThatDropsFlushesWithAndWithoutReuse) {
  NoFlushEngine bad;
  for (bool reuse : {false, true}) {
    bool caught = false;
    for (std::uint64_t seed = 1; seed <= 4 && !caught; ++seed) caught = !explore(seed, reuse, &bad).passed;
    EXPECT_TRUE(caught) << (reuse ? "with" : "without") << " the reuse";
  }
}

}  // namespace
}  // namespace pdsim::scenarios
