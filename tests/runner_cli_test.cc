// SPDX-License-Identifier: GPL-2.0-or-later
// `pdsim list` and `pdsim run` as a user runs them: what list shows, exit codes, a seed-bug run
// that prints a shrunk trace and a replay command that reproduces it, and the same output from
// two processes. The seed-bug report (`pdsim run seeds --json`, ~10 s) is in
// seeds_report_cli_test.cc, label soak.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/common/seed_bugs.h"
#include "scenarios/runner/registry.h"
#include "testing/test_util.h"

#ifndef PDSIM_BINARY
#error "PDSIM_BINARY must name the pdsim program"
#endif

namespace pdsim {
namespace {

using Cmd = testing::CommandOutput;

// Runs `pdsim ARGS` with `dir` as the working directory (shrunk steps files land there).
Cmd pdsim(testing::TempDir& dir, const std::string& args) {
  return testing::run_capturing(dir, fmt::format("cd '{}' && {} {}", dir.file(""), PDSIM_BINARY, args));
}

bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

TEST(RunnerCli, ListShowsSuitesScenariosAndSeedBugSwitches) {
  testing::TempDir dir;
  Cmd r = pdsim(dir, "list");
  ASSERT_EQ(r.rc, 0) << r.err;
  ASSERT_TRUE(has(r.out, "suites:\n")) << r.out;
  ASSERT_TRUE(has(r.out, "\nscenarios:\n")) << r.out;
  ASSERT_TRUE(has(r.out, "\nseed-bug switches")) << r.out;
  const std::string suites = r.out.substr(0, r.out.find("\nscenarios:\n"));
  const std::string scenarios = r.out.substr(r.out.find("\nscenarios:\n"), r.out.find("\nseed-bug switches") - r.out.find("\nscenarios:\n"));
  const std::string bugs = r.out.substr(r.out.find("\nseed-bug switches"));
  for (const auto& s : scenarios::all_suites()) {
    EXPECT_TRUE(has(suites, fmt::format("  {:<10} {}\n", s.name, s.description))) << s.name;
  }
  for (const auto& s : scenarios::all_scenarios()) {
    EXPECT_TRUE(has(scenarios, "\n  " + s.name + (s.generate ? "  (steps: shrinks and replays)\n" : "\n"))) << s.name;
    EXPECT_TRUE(has(scenarios, "      " + s.description + "\n")) << s.name;
  }
  for (const auto& b : all_bugs()) {
    EXPECT_TRUE(has(bugs, std::string(b.name))) << b.name;
    EXPECT_TRUE(has(bugs, std::string(b.commit))) << b.name;
  }
  EXPECT_TRUE(has(scenarios, "thin_swarm  (steps: shrinks and replays)")) << scenarios;
}

TEST(RunnerCli, UsageErrorsExitTwo) {
  testing::TempDir dir;
  for (const char* args : {"run no_such_suite", "run sim_selftest --shard 2/2", "run sim_selftest --shard 1", "run sim_selftest --shard 1/2x",
                           "run sim_selftest --bug no_such_bug", "run sim_selftest --thin-check often", "run",
                           "run sim_selftest --seed 1 --runs 3", "run default --replay x.steps"}) {
    Cmd r = pdsim(dir, args);
    EXPECT_EQ(r.rc, 2) << args << "\n" << r.out << r.err;
    EXPECT_FALSE(r.err.empty()) << args;
    EXPECT_FALSE(has(r.out, " seed 1: ")) << args << " ran a seed:\n" << r.out;
  }
}

TEST(RunnerCli, SeedBugRunPrintsAShrunkTraceAndAReplayThatReproduces) {
  testing::TempDir dir;
  Cmd r = pdsim(dir, "run seed_j_array_grow_overwrites_tail_entries_lost --seed 1 --bug j");
  ASSERT_EQ(r.rc, 1) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "seed_j_array_grow_overwrites_tail_entries_lost seed 1: FAILED")) << r.out;
  EXPECT_TRUE(has(r.out, "  reproduce: ./pdsim run seed_j_array_grow_overwrites_tail_entries_lost --seed 1 --bug "
                         "seed.j_array_grow_overwrites_tail\n"))
      << r.out;
  EXPECT_TRUE(has(r.out, "  shrunk: ")) << r.out;
  const auto at = r.out.find("  replay: ./pdsim ");
  ASSERT_NE(at, std::string::npos) << r.out;
  const auto begin = at + std::string("  replay: ./pdsim ").size();
  const std::string replay_args = r.out.substr(begin, r.out.find('\n', begin) - begin);
  EXPECT_TRUE(has(replay_args, " --replay ")) << replay_args;

  // The printed command, run as printed (from the same directory), fails again...
  Cmd again = pdsim(dir, replay_args);
  EXPECT_EQ(again.rc, 1) << replay_args << "\n" << again.out << again.err;
  EXPECT_TRUE(has(again.out, "seed 1: FAILED")) << again.out;
  // ... and without the switch the same steps pass: the trace is about the bug.
  std::string off = replay_args;
  off.erase(off.find(" --bug seed.j_array_grow_overwrites_tail"), std::string(" --bug seed.j_array_grow_overwrites_tail").size());
  Cmd clean = pdsim(dir, off);
  EXPECT_EQ(clean.rc, 0) << off << "\n" << clean.out << clean.err;
}

TEST(RunnerCli, TwoProcessesPrintTheSameOutputAndJson) {
  testing::TempDir dir;
  for (const char* target : {"thin_swarm", "engine_rollback"}) {
    Cmd a = pdsim(dir, fmt::format("run {} --first-seed 5 --runs 2 --thin-check never --json a.json", target));
    Cmd b = pdsim(dir, fmt::format("run {} --first-seed 5 --runs 2 --thin-check never --json b.json", target));
    ASSERT_EQ(a.rc, 0) << a.out << a.err;
    EXPECT_EQ(a.out, b.out) << target;  // neither has crash states, so no states/s timing
    std::ifstream ja(dir.file("a.json")), jb(dir.file("b.json"));
    const std::string sa((std::istreambuf_iterator<char>(ja)), {}), sb((std::istreambuf_iterator<char>(jb)), {});
    EXPECT_FALSE(sa.empty());
    EXPECT_EQ(sa, sb) << target;
  }
}

// The output of a run with rates blanked: the states/s column of the summary table is timing.
std::string without_rates(const std::string& out) {
  std::istringstream in(out);
  std::string result;
  for (std::string line; std::getline(in, line);) {
    // | scenario | runs | failed | operations | crash states | states/s | thin_check | marks hit | missing |
    if (line.rfind("| ", 0) == 0 && line.find("---") == std::string::npos) {
      std::vector<std::string> cells;
      std::size_t at = 0;
      while ((at = line.find('|', at)) != std::string::npos) cells.push_back(line.substr(at, line.find('|', at + 1) - at)), ++at;
      if (cells.size() >= 7) cells[5] = "| RATE ";
      line.clear();
      for (const auto& c : cells) line += c;
    }
    result += line + "\n";
  }
  return result;
}

// Issue 16: --jobs N runs seeds in N worker processes and prints exactly what one process prints
// (rates aside): per-seed lines in seed order, failures, shrunk steps, the summary, the JSON
// report and the exit code; a failure limit stops at the same seed.
TEST(RunnerCli, JobsPrintTheSameAsOneProcess) {
  const char* runs[] = {
      "run default --runs 2 --thin-check never",                      // every kind of scenario, passing
      "run seeds --bug j --runs 3 --thin-check never",                // failures, shrinking, steps files
      "run seeds --bug j --runs 3 --max-failures 2 --no-shrink",      // the limit stops at the same seed
  };
  for (const char* args : runs) {
    testing::TempDir one, two;
    Cmd a = pdsim(one, fmt::format("{} --jobs 1 --json r.json", args));
    Cmd b = pdsim(two, fmt::format("{} --jobs 3 --json r.json", args));
    EXPECT_EQ(a.rc, b.rc) << args;
    EXPECT_EQ(without_rates(a.out), without_rates(b.out)) << args;
    std::ifstream ja(one.file("r.json")), jb(two.file("r.json"));
    const std::string sa((std::istreambuf_iterator<char>(ja)), {}), sb((std::istreambuf_iterator<char>(jb)), {});
    EXPECT_FALSE(sa.empty()) << args;
    EXPECT_EQ(sa, sb) << args;
  }
}

}  // namespace
}  // namespace pdsim
