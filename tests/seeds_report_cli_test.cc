// SPDX-License-Identifier: GPL-2.0-or-later
// `pdsim run seeds --json FILE` (about 10 s, hence the soak label): exit 0, and the report holds
// ten bug objects, each caught with its switch on, with the seeds it took and its shrunk steps,
// and clean with every switch off.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/common/seed_bugs.h"
#include "testing/test_util.h"

#ifndef PDSIM_BINARY
#error "PDSIM_BINARY must name the pdsim program"
#endif

namespace pdsim {
namespace {

bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

TEST(SeedsReportCli, JsonHasTenCaughtCleanBugs) {
  testing::TempDir dir;
  const std::string json = dir.file("seeds.json");
  auto r = testing::run_command(fmt::format("cd '{}' && {} run seeds --json '{}'", dir.file(""), PDSIM_BINARY, json));
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_TRUE(has(r.out, "10 of 10 bugs caught with the switch on; 10 of 10 scenarios clean with all switches off")) << r.out;
  std::ifstream f(json);
  std::stringstream ss;
  ss << f.rdbuf();
  const auto j = nlohmann::json::parse(ss.str());
  EXPECT_EQ(j["schema"], "pdsim-seeds");
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["passed"], true);
  ASSERT_EQ(j["bugs"].size(), kBugCount);
  for (std::size_t i = 0; i < kBugCount; ++i) {
    const auto& b = j["bugs"][i];
    const BugInfo& info = all_bugs()[i];
    EXPECT_EQ(b["name"], std::string(info.name));
    EXPECT_EQ(b["commit"], std::string(info.commit));
    EXPECT_EQ(b["caught"], true) << info.name;
    ASSERT_TRUE(b["seeds_to_catch"].is_number_unsigned()) << info.name;
    EXPECT_GE(b["seeds_to_catch"].get<std::uint64_t>(), 1u);
    EXPECT_LE(b["seeds_to_catch"].get<std::uint64_t>(), 8u);
    EXPECT_TRUE(b.contains("shrunk_steps")) << info.name;
    EXPECT_TRUE(b["shrunk_steps"].is_null() || b["shrunk_steps"].get<std::uint64_t>() >= 1) << info.name;
    EXPECT_EQ(b["clean_when_off"], true) << info.name;
  }
  // The step scenarios shrink: (g) and (j) at least.
  EXPECT_TRUE(j["bugs"][6]["shrunk_steps"].is_number());
  ASSERT_TRUE(j["bugs"][9]["shrunk_steps"].is_number());
  // (j) needs a resize, a non-default entry and a grow: a shorter trace is not the bug.
  EXPECT_GE(j["bugs"][9]["shrunk_steps"].get<std::uint64_t>(), 3u);
}

}  // namespace
}  // namespace pdsim
