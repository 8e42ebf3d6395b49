// SPDX-License-Identifier: GPL-2.0-or-later
// `pdsim list` and `pdsim run` as a user runs them: what list shows, exit codes, a seed-bug run
// that prints a shrunk trace and a replay command that reproduces it, and the same output from
// two processes. The seed-bug report (`pdsim run seeds --json`, ~10 s) is in
// seeds_report_cli_test.cc, label soak.
#include <gtest/gtest.h>

#include <algorithm>
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

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// Ctrl-C during a --jobs run stops the workers, prints what finished with its summary, exits 130.
TEST(RunnerCli, InterruptedJobsReportWhatFinished) {
  testing::TempDir dir;
  Cmd r = testing::run_capturing(
      dir, fmt::format("( cd '{}' && {} run default --runs 200 --jobs 2 --thin-check never --json r.json & pid=$!; "
                       "sleep 3; kill -INT $pid; wait $pid; echo \"exit $?\" )",
                       dir.file(""), PDSIM_BINARY));
  EXPECT_TRUE(has(r.out, "exit 130")) << r.out.substr(r.out.size() > 300 ? r.out.size() - 300 : 0) << r.err;
  EXPECT_TRUE(has(r.err, "pdsim run: interrupted: ")) << r.err;
  EXPECT_TRUE(has(r.out, "\n| scenario | runs |")) << "no summary";
  EXPECT_FALSE(has(r.out, "3200 runs")) << "the run was not stopped";
  const std::string json = read_file(dir.file("r.json"));
  EXPECT_TRUE(has(json, "\"passed\":false")) << json.substr(0, 200);
}

// From "| scenario |" on: the summary table, the marks and the totals line.
std::string summary_of(const std::string& out) { return out.substr(std::min(out.find("\n| scenario |"), out.size())); }

// Issue 16: `pdsim merge` of the shards of a range gives the report, the summary and the exit
// code of one process running the range.
TEST(RunnerCli, MergedShardsAreTheOneProcessRun) {
  for (const char* args : {"run default --runs 3 --thin-check never", "run seeds --bug j --runs 3 --no-shrink"}) {
    testing::TempDir dir;
    Cmd whole = pdsim(dir, fmt::format("{} --json whole.json", args));
    std::string shards;
    for (int i : {2, 0, 1}) {
      Cmd s = pdsim(dir, fmt::format("{} --shard {}/3 --json s{}.json", args, i, i));
      ASSERT_NE(s.rc, 2) << s.err;
      shards += fmt::format(" s{}.json", i);
    }
    Cmd merged = pdsim(dir, fmt::format("merge{} -o merged.json", shards));
    EXPECT_EQ(merged.rc, whole.rc) << args << merged.err;
    EXPECT_EQ(read_file(dir.file("merged.json")), read_file(dir.file("whole.json"))) << args;
    EXPECT_EQ(without_rates(summary_of(merged.out)), without_rates(summary_of(whole.out))) << args;
  }
}

TEST(RunnerCli, MergeRefusesReportsOfDifferentRuns) {
  testing::TempDir dir;
  ASSERT_NE(pdsim(dir, "run engine_rollback --runs 2 --shard 0/2 --json a0.json").rc, 2);
  ASSERT_NE(pdsim(dir, "run engine_rollback --runs 2 --shard 1/2 --json a1.json").rc, 2);
  ASSERT_NE(pdsim(dir, "run sim_selftest --runs 2 --shard 1/2 --json other_suite.json").rc, 2);
  ASSERT_NE(pdsim(dir, "run engine_rollback --first-seed 9 --runs 2 --shard 1/2 --json other_seeds.json").rc, 2);
  std::string build = read_file(dir.file("a1.json"));
  build.replace(build.find("\"build\":\"pdsim"), 14, "\"build\":\"other");
  std::ofstream(dir.file("other_build.json")) << build;
  std::ofstream(dir.file("garbage.json")) << "{not json";
  const std::pair<const char*, const char*> cases[] = {
      {"a0.json other_suite.json", "report 2 is of another suite or scenario (sim_selftest) than report 1 (engine_rollback)"},
      {"a0.json other_seeds.json", "report 2 is of another seed range (seeds 9..10) than report 1 (seeds 1..2)"},
      {"a0.json other_build.json", "report 2 is of another build"},
      {"a0.json a0.json", "report 2: shard 0/2 is given twice"},
      {"a0.json", "shard 1/2 is missing"},
      {"a0.json garbage.json", "garbage.json: not JSON"},
  };
  for (const auto& [inputs, message] : cases) {
    Cmd r = pdsim(dir, fmt::format("merge {} -o m.json", inputs));
    EXPECT_EQ(r.rc, 2) << inputs;
    EXPECT_TRUE(has(r.err, message)) << inputs << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  Cmd ok = pdsim(dir, "merge a1.json a0.json -o m.json");
  EXPECT_EQ(ok.rc, 0) << ok.err;
}

}  // namespace
}  // namespace pdsim
