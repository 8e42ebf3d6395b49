// SPDX-License-Identifier: GPL-2.0-or-later
// The scenario runner (scenarios/runner/runner.h) and its parts: the delta-debugging shrinker, the
// write-ordering oracle, run()'s exit codes, summary table, JSON report, shards, required coverage
// marks and --replay, determinism of the per-seed output, and shrinking a seed-bug failure end to
// end.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "core/common/marks.h"
#include "core/common/seed_bugs.h"
#include "scenarios/harness/ordering_oracle.h"
#include "scenarios/runner/report.h"
#include "scenarios/runner/runner.h"
#include "scenarios/runner/registry.h"
#include "sim/image.h"
#include "sim/rng.h"
#include "sim/sim_disk.h"
#include "testing/test_util.h"

namespace pdsim::scenarios {
namespace {

bool contains(const Steps& s, const std::string& x) { return std::find(s.begin(), s.end(), x) != s.end(); }

// True iff `sub` is `full` with some elements removed (order kept).
bool is_subsequence(const Steps& sub, const Steps& full) {
  std::size_t i = 0;
  for (const auto& x : full)
    if (i < sub.size() && sub[i] == x) ++i;
  return i == sub.size();
}

Steps letters(const std::string& s) {
  Steps out;
  for (char c : s) out.emplace_back(1, c);
  return out;
}

// ---------------------------------------------------------------------------------------------
// shrink_steps

TEST(ShrinkSteps, FindsTheOneMinimalListForATwoElementCause) {
  const Steps steps = letters("xaybzcwvut");
  std::uint64_t calls = 0;
  auto fails = [&](const Steps& s) {
    ++calls;
    return contains(s, "a") && contains(s, "c");
  };
  const Steps small = shrink_steps(steps, fails);
  EXPECT_EQ(small, letters("ac"));
  EXPECT_GT(calls, 0u);
}

TEST(ShrinkSteps, ResultIsOneMinimalForOrderSensitivePredicates) {
  // Fails iff "a" comes before "c" and some "b" sits between them: every single removal from the
  // result must make it pass.
  auto fails = [](const Steps& s) {
    auto a = std::find(s.begin(), s.end(), "a");
    auto c = std::find(s.begin(), s.end(), "c");
    return a != s.end() && c != s.end() && a < c && std::find(a, c, "b") != c;
  };
  const Steps steps = letters("qaxbbyczbc");
  const Steps small = shrink_steps(steps, fails);
  ASSERT_TRUE(fails(small));
  EXPECT_EQ(small, letters("abc"));
  for (std::size_t i = 0; i < small.size(); ++i) {
    Steps less = small;
    less.erase(less.begin() + static_cast<long>(i));
    EXPECT_FALSE(fails(less)) << "not 1-minimal: step " << i << " can go";
  }
}

TEST(ShrinkSteps, SingleCauseShrinksToOneStep) {
  Steps steps;
  for (int i = 0; i < 300; ++i) steps.push_back(fmt::format("write 0 {}", i));
  steps[217] = "boom";
  const Steps small = shrink_steps(steps, [](const Steps& s) { return contains(s, "boom"); });
  EXPECT_EQ(small, Steps{"boom"});
}

TEST(ShrinkSteps, RespectsMaxTries) {
  Steps steps;
  for (int i = 0; i < 64; ++i) steps.push_back(fmt::format("s{}", i));
  for (std::uint64_t max_tries : {0u, 1u, 3u, 10u}) {
    std::uint64_t calls = 0;
    auto fails = [&](const Steps& s) {
      ++calls;
      return contains(s, "s5") && contains(s, "s60");
    };
    const Steps small = shrink_steps(steps, fails, max_tries);
    EXPECT_LE(calls, max_tries) << "max_tries " << max_tries;
    EXPECT_TRUE(fails(small)) << "max_tries " << max_tries;
    EXPECT_TRUE(is_subsequence(small, steps));
    if (max_tries == 0) {
      EXPECT_EQ(small, steps);
    }
  }
  // Without the cap the same predicate shrinks to its cause.
  const Steps small = shrink_steps(steps, [](const Steps& s) { return contains(s, "s5") && contains(s, "s60"); });
  EXPECT_EQ(small, (Steps{"s5", "s60"}));
}

TEST(ShrinkSteps, NeverReturnsAPassingList) {
  // Random, non-monotonic predicates (a failing list's sublist may pass): whatever the shrinker
  // returns must still fail, be a subsequence of the input, and be no longer than it.
  sim::Rng rng(20240605);
  for (int round = 0; round < 200; ++round) {
    const std::size_t n = 1 + rng.below(40);
    Steps steps;
    for (std::size_t i = 0; i < n; ++i) steps.push_back(fmt::format("{}", rng.below(8)));
    const std::uint64_t salt = rng.next();
    auto fails = [&](const Steps& s) {
      if (s == steps) return true;  // the input fails, as the runner guarantees
      std::uint64_t h = salt;
      for (const auto& x : s) h = h * std::uint64_t{1099511628211} ^ static_cast<std::uint64_t>(static_cast<unsigned char>(x[0]));
      return (h >> 13) % 3 == 0;
    };
    const Steps small = shrink_steps(steps, fails, 1 + rng.below(200));
    ASSERT_TRUE(fails(small)) << "round " << round;
    ASSERT_LE(small.size(), steps.size());
    ASSERT_TRUE(is_subsequence(small, steps));
  }
}

TEST(ShrinkSteps, ShortListsComeBackUnchanged) {
  auto always = [](const Steps&) { return true; };
  EXPECT_EQ(shrink_steps({}, always), Steps{});
  EXPECT_EQ(shrink_steps({"only"}, always), Steps{"only"});
  // Never an empty list, even when everything fails.
  EXPECT_EQ(shrink_steps(letters("abcdef"), always).size(), 1u);
}

// ---------------------------------------------------------------------------------------------
// OrderingOracle on a SimDisk

class Oracle : public ::testing::Test {
 protected:
  sim::SimDisk disk{32, 7};
  std::vector<BlockNr> reachable{0, 3, 4};
  std::uint64_t walks = 0;
  OrderingOracle oracle{disk, [this](BlockDevice&) -> Result<std::vector<BlockNr>> {
                          ++walks;
                          return reachable;
                        }};
  Block data = testing::pattern_block(9);

  void SetUp() override { ASSERT_TRUE(oracle.restart().ok()); }
  void write(BlockNr b) { ASSERT_TRUE(oracle.write(b, ConstBlockSpan(data)).ok()); }
  void flush() { ASSERT_TRUE(oracle.flush().ok()); }
};

TEST_F(Oracle, NormalCommitOrderIsClean) {
  for (BlockNr txn = 0; txn < 3; ++txn) {
    write(10 + txn);
    write(20 + txn);
    flush();
    write(0);  // the superblock, itself reachable: rewriting it is the commit
    flush();
  }
  EXPECT_TRUE(oracle.violations().empty()) << oracle.violations().front();
  EXPECT_EQ(oracle.superblocks_checked(), 3u);
  EXPECT_EQ(walks, 4u);  // restart + one per durable superblock
}

TEST_F(Oracle, OverwritingAReachableBlockIsAViolation) {
  write(10);
  write(4);  // reachable from the committed superblock: must have been shadowed
  ASSERT_EQ(oracle.violations().size(), 1u);
  EXPECT_NE(oracle.violations()[0].find("block 4 reachable"), std::string::npos) << oracle.violations()[0];
  // Even after a flush: only a durable superblock moves the protected set.
  flush();
  write(3);
  EXPECT_EQ(oracle.violations().size(), 2u);
}

TEST_F(Oracle, SuperblockBeforeTheFlushIsAViolation) {
  write(10);
  write(11);
  write(0);
  ASSERT_EQ(oracle.violations().size(), 1u);
  EXPECT_NE(oracle.violations()[0].find("superblock written while 2 other block(s)"), std::string::npos)
      << oracle.violations()[0];
  EXPECT_NE(oracle.violations()[0].find("first: 10"), std::string::npos) << oracle.violations()[0];
}

TEST_F(Oracle, SuperblockWithOneUnflushedWriteAfterAFlushIsAViolation) {
  write(10);
  flush();
  write(11);  // written after the flush: not yet durable when the superblock goes out
  write(0);
  EXPECT_EQ(oracle.violations().size(), 1u);
}

TEST_F(Oracle, ReachableSetFollowsTheDurableSuperblock) {
  write(10);
  flush();
  reachable = {0, 10};  // the new superblock references the new block, no longer 3 and 4
  write(0);
  write(3);  // superblock written but not yet flushed: 3 is still protected
  EXPECT_EQ(oracle.violations().size(), 1u);
  flush();
  write(4);  // now free to reuse
  EXPECT_EQ(oracle.violations().size(), 1u);
  write(10);  // now protected
  EXPECT_EQ(oracle.violations().size(), 2u);
  EXPECT_NE(oracle.violations().back().find("block 10"), std::string::npos);
}

TEST_F(Oracle, TransactionAbortedClearsThePendingSet) {
  write(10);
  write(11);
  oracle.transaction_aborted();
  write(0);  // the old superblock again (e.g. with needs_check): nothing to wait for
  flush();
  EXPECT_TRUE(oracle.violations().empty()) << oracle.violations().front();
}

TEST_F(Oracle, RestartForgetsPendingWritesAndRereadsTheReachableSet) {
  write(10);
  reachable = {0, 10};
  ASSERT_TRUE(oracle.restart().ok());
  EXPECT_EQ(walks, 2u);
  write(0);  // 10 was forgotten (a power cut dropped it)
  EXPECT_TRUE(oracle.violations().empty());
  write(10);
  EXPECT_EQ(oracle.violations().size(), 1u);
}

TEST_F(Oracle, AFailedFlushDoesNotMakeTheSuperblockDurable) {
  write(10);
  flush();
  reachable = {0, 10};
  write(0);
  disk.set_plan(*sim::FaultPlan::parse("flush p=1/1 -> error"));
  EXPECT_FALSE(oracle.flush().ok());
  EXPECT_EQ(oracle.superblocks_checked(), 0u);
  write(3);  // the old superblock's block: still protected
  EXPECT_EQ(oracle.violations().size(), 1u);
}

// ---------------------------------------------------------------------------------------------
// run(): exit codes, the table, JSON, shards, required marks, --replay

struct RunResult {
  int rc;
  std::string out;
  std::string err;
};

RunResult run_req(const RunRequest& req) {
  std::ostringstream out, err;
  const int rc = run(req, out, err);
  return {rc, out.str(), err.str()};
}

RunRequest request(const std::string& target, std::uint64_t first, std::uint64_t runs) {
  RunRequest r;
  r.target = target;
  r.first_seed = first;
  r.runs = runs;
  r.opts.thin_check = ThinCheck::never;
  return r;
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return nlohmann::json::parse(ss.str());  // throws (failing the test) on invalid JSON
}

// The per-seed lines ("NAME seed N: ok|FAILED ...") of a run's output.
std::vector<std::string> seed_lines(const std::string& out) {
  static const std::regex kSeedLine("^[a-z0-9_]+ seed [0-9]+: (ok|FAILED) .*");
  std::vector<std::string> v;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);)
    if (std::regex_match(line, kSeedLine)) v.push_back(line);
  return v;
}

TEST(Runner, UnknownTargetIsAUsageError) {
  auto r = run_req(request("no_such_scenario", 1, 1));
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("unknown suite or scenario 'no_such_scenario'"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(Runner, BadShardIsAUsageError) {
  for (auto [i, n] : {std::pair<std::uint64_t, std::uint64_t>{2, 2}, {5, 3}, {0, 0}}) {
    RunRequest req = request("sim_selftest", 1, 2);
    req.shard_index = i;
    req.shard_count = n;
    auto r = run_req(req);
    EXPECT_EQ(r.rc, 2) << i << "/" << n;
    EXPECT_NE(r.err.find("is not a shard"), std::string::npos) << r.err;
    EXPECT_TRUE(seed_lines(r.out).empty()) << "ran seeds despite a bad shard:\n" << r.out;
  }
}

TEST(Runner, ReplayNeedsOneScenarioWithStepsAndAReadableFile) {
  testing::TempDir dir;
  RunRequest req = request("default", 1, 1);
  req.replay = dir.file("x.steps");
  EXPECT_EQ(run_req(req).rc, 2);
  req.target = "sim_selftest";  // no steps
  EXPECT_EQ(run_req(req).rc, 2);
  req.target = "snapshot_storm";  // steps, but the file does not exist
  auto r = run_req(req);
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("cannot read"), std::string::npos) << r.err;
}

TEST(Runner, SelfTestPassesWithASummaryTable) {
  auto r = run_req(request("sim_selftest", 1, 2));
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_EQ(seed_lines(r.out), (std::vector<std::string>{"sim_selftest seed 1: ok ", "sim_selftest seed 2: ok "}));
  EXPECT_NE(r.out.find("| scenario | runs | failed | operations | crash states | states/s | thin_check | marks hit | "
                       "missing marks |"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("| sim_selftest | 2 | 0 |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n2 runs, 0 failed\n"), std::string::npos) << r.out;
}

TEST(Runner, AReportThatCannotBeWrittenIsAUsageErrorNamingTheFile) {
  testing::TempDir dir;
  RunRequest req = request("sim_selftest", 1, 1);
  req.json = dir.file("no-such-dir/r.json");
  auto r = run_req(req);
  EXPECT_EQ(r.rc, 2) << r.out;
  EXPECT_NE(r.err.find("pdsim run: cannot write '" + req.json + "'"), std::string::npos) << r.err;
}

TEST(Runner, JsonReportHasTheTotalsAndEachScenariosRunsFailedAndMarks) {
  testing::TempDir dir;
  RunRequest req = request("engine_rollback", 1, 2);
  req.json = dir.file("r.json");
  auto r = run_req(req);
  ASSERT_EQ(r.rc, 0) << r.out;
  const auto j = read_json(req.json);
  EXPECT_EQ(j["schema"], "pdsim-run");
  EXPECT_EQ(j["version"], report::kReportVersion);
  EXPECT_EQ(j["target"], "engine_rollback");
  EXPECT_EQ(j["runs"], 2);
  EXPECT_EQ(j["failed"], 0);
  EXPECT_EQ(j["passed"], true);
  EXPECT_EQ(j["crash_states_checked"], 0);
  EXPECT_TRUE(j["failures"].is_array() && j["failures"].empty());
  ASSERT_EQ(j["scenarios"].size(), 1u);
  const auto& s = j["scenarios"][0];
  EXPECT_EQ(s["name"], "engine_rollback");
  EXPECT_EQ(s["runs"], 2);
  EXPECT_EQ(s["failed"], 0);
  EXPECT_TRUE(s["missing_marks"].empty());
  // The marks of the table's "marks hit" line, with their counts, in the scenario and the totals.
  ASSERT_TRUE(s["marks"].contains("sm.queue_applied"));
  EXPECT_GT(s["marks"]["sm.queue_applied"].get<std::uint64_t>(), 0u);
  EXPECT_EQ(j["marks"], s["marks"]);
  EXPECT_NE(r.out.find(fmt::format("sm.queue_applied={}", s["marks"]["sm.queue_applied"].get<std::uint64_t>())),
            std::string::npos)
      << r.out;
}

// --max-failures 1 (the mutation score's setting): the run stops at the first failed seed.
TEST(Runner, MaxFailuresStopsAfterThatManyFailedSeeds) {
  RunRequest req = request("seed_g_dec_wraps_free_block_count_4294967295", 1, 3);
  req.bugs = {Bug::g};
  req.shrink = false;
  auto all = run_req(req);
  ASSERT_EQ(all.rc, 1);
  ASSERT_EQ(seed_lines(all.out).size(), 3u) << all.out;
  req.max_failures = 1;
  auto first = run_req(req);
  EXPECT_EQ(first.rc, 1);
  const auto lines = seed_lines(first.out);
  ASSERT_EQ(lines.size(), 1u) << first.out;
  EXPECT_NE(lines.front().find("FAILED"), std::string::npos) << lines.front();
}

TEST(Runner, JsonReportOfAFailureHasItsReproduceLineAndMessage) {
  testing::TempDir dir;
  RunRequest req = request("seed_g_dec_wraps_free_block_count_4294967295", 1, 2);
  req.bugs = {Bug::g};
  req.json = dir.file("r.json");
  req.opts.save_images_dir = dir.file("images");
  auto r = run_req(req);
  ASSERT_EQ(r.rc, 1) << r.out;
  const auto j = read_json(req.json);
  EXPECT_EQ(j["passed"], false);
  EXPECT_EQ(j["bugs"], nlohmann::json::array({"seed.g_dec_wraps"}));
  EXPECT_EQ(j["runs"], 2);
  const std::uint64_t failed = j["failed"];
  ASSERT_GE(failed, 1u);
  ASSERT_EQ(j["failures"].size(), failed);
  const auto& f = j["failures"][0];
  EXPECT_EQ(f["scenario"], "seed_g_dec_wraps_free_block_count_4294967295");
  EXPECT_EQ(f["seed"], 1);
  EXPECT_EQ(f["reproduce"], "./pdsim run seed_g_dec_wraps_free_block_count_4294967295 --seed 1 --bug seed.g_dec_wraps");
  EXPECT_NE(f["message"].get<std::string>().find("4294967295"), std::string::npos) << f["message"];
  EXPECT_NE(r.out.find("  reproduce: " + f["reproduce"].get<std::string>() + "\n"), std::string::npos) << r.out;
  EXPECT_EQ(j["scenarios"][0]["failed_seeds"][0], 1);
  ASSERT_FALSE(j["shrunk"].empty());
  EXPECT_EQ(j["shrunk"][0]["seed"], 1);
}

// A failing harness run saves, beside its image, the disk as its last commit left it and every
// block as the engine last wrote it. Seed bug (a) in thin_faults seed 13: the failed commit's
// superblock lands, so the image's superblock is not the last commit's, and the engine's failed
// write of block 18 is in its view but not on the disk. The trace says where the committed
// state moved.
TEST(Runner, FailingPoolRunSavesItsLastCommitAndTheEnginesView) {
  testing::TempDir dir;
  RunRequest req = request("thin_faults", 13, 1);
  req.bugs = {Bug::a};
  req.shrink = false;
  req.opts.trace = true;
  req.opts.save_images_dir = dir.file("images");
  auto r = run_req(req);
  ASSERT_EQ(r.rc, 1) << r.out;
  EXPECT_NE(r.out.find("\n    pool: committed\n"), std::string::npos) << r.out;
  auto found = sim::Image::load(dir.file("images/thin_faults-seed13.bin"));
  auto expected = sim::Image::load(dir.file("images/thin_faults-seed13.expected.bin"));
  auto written = sim::Image::load(dir.file("images/thin_faults-seed13.written.bin"));
  ASSERT_TRUE(found.ok() && expected.ok() && written.ok()) << r.out;
  EXPECT_NE(r.out.find("as the last commit left it: " + dir.file("images/thin_faults-seed13.expected.bin")),
            std::string::npos) << r.out;
  Block f{}, e{}, w{};
  found->read(0, f);
  expected->read(0, e);
  EXPECT_NE(f, e) << "the failed commit's superblock landed: it is not the last commit's";
  bool lost = false;  // a block the engine wrote that the disk does not hold
  for (BlockNr b = 1; b < found->nr_blocks() && !lost; ++b) {
    found->read(b, f);
    written->read(b, w);
    lost = f != w;
  }
  EXPECT_TRUE(lost) << "the engine's view holds the write the disk failed";
}

// The cache harness keeps the same images, and its trace says what each step committed.
TEST(Runner, FailingCacheRunSavesItsLastCommitAndTracesItsCommits) {
  testing::TempDir dir;
  RunRequest req = request("cache_crash", 1, 1);
  req.bugs = {Bug::i};
  req.shrink = false;
  req.opts.trace = true;
  req.opts.save_images_dir = dir.file("images");
  auto r = run_req(req);
  ASSERT_EQ(r.rc, 1) << r.out;
  EXPECT_NE(r.out.find("\n    cache: committed txn 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n    cache: the metadata reads back as txn 1; the last commit is txn 1\n"), std::string::npos)
      << r.out;
  for (const char* kind : {"", ".expected", ".written"})
    EXPECT_TRUE(sim::Image::load(dir.file(fmt::format("images/cache_crash-seed1{}.bin", kind))).ok()) << kind;
  // Bug (i) fails in core: the disk holds the last commit, whose superblock the expected image
  // has (not the format's, nor an earlier commit's).
  auto found = sim::Image::load(dir.file("images/cache_crash-seed1.bin"));
  auto expected = sim::Image::load(dir.file("images/cache_crash-seed1.expected.bin"));
  ASSERT_TRUE(found.ok() && expected.ok());
  Block f{}, e{};
  found->read(0, f);
  expected->read(0, e);
  EXPECT_EQ(f, e);
}

TEST(Runner, TwoShardsCoverEverySeedExactlyOnce) {
  testing::TempDir dir;
  std::multiset<std::string> seen;
  std::uint64_t json_runs = 0;
  for (std::uint64_t i = 0; i < 2; ++i) {
    RunRequest req = request("sim", 4, 5);  // a suite: the shard applies per scenario
    req.shard_index = i;
    req.shard_count = 2;
    req.json = dir.file(fmt::format("shard{}.json", i));
    auto r = run_req(req);
    ASSERT_EQ(r.rc, 0) << r.out;
    EXPECT_NE(r.out.find(fmt::format("(shard {}/2)", i)), std::string::npos) << r.out;
    const auto lines = seed_lines(r.out);
    EXPECT_FALSE(lines.empty());
    for (const auto& l : lines) seen.insert(l.substr(0, l.find(':')));
    json_runs += read_json(req.json)["runs"].get<std::uint64_t>();
  }
  std::multiset<std::string> want;
  for (int s = 4; s <= 8; ++s) want.insert(fmt::format("sim_selftest seed {}", s));
  EXPECT_EQ(seen, want);
  EXPECT_EQ(json_runs, 5u);
}

// A steps file for snapshot_storm (which requires thin.snapshot and btree.shadow_inc_children).
std::string steps_file(testing::TempDir& dir, const std::string& name, const std::string& text) {
  const std::string path = dir.file(name);
  std::ofstream(path) << text;
  return path;
}

TEST(Runner, MissingRequiredMarksFailARunThatPassed) {
  testing::TempDir dir;
  RunRequest req = request("snapshot_storm", 1, 1);
  req.json = dir.file("r.json");
  // No snapshot at all: the seed passes its checks, but never reached what the scenario is for.
  req.replay = steps_file(dir, "nosnap.steps", "# a comment line\ncreate 0\nwrite 0 1\ncommit\nwrite 0 2\nreopen\n");
  auto r = run_req(req);
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_NE(r.out.find("snapshot_storm seed 1: ok"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| thin.snapshot btree.shadow_inc_children |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 runs, 0 failed; required coverage marks missing"), std::string::npos) << r.out;
  auto j = read_json(req.json);
  EXPECT_EQ(j["passed"], false);
  EXPECT_EQ(j["scenarios"][0]["missing_marks"], nlohmann::json::array({"thin.snapshot", "btree.shadow_inc_children"}));

  // A snapshot and a write that breaks its sharing reach both marks: the same run passes.
  req.replay = steps_file(dir, "snap.steps",
                          "create 0\nwrite 0 1\nwrite 0 2\ncommit\nsnap 1 0\ncommit\nwrite 0 1\nwrite 1 2\ncommit\nreopen\n");
  r = run_req(req);
  EXPECT_EQ(r.rc, 0) << r.out;
  j = read_json(req.json);
  EXPECT_EQ(j["passed"], true);
  EXPECT_TRUE(j["scenarios"][0]["missing_marks"].empty());
}

TEST(Runner, MarksHitByOneScenarioDoNotCountForAnother) {
  // Run snapshot_storm's real seeds first in the same process, then the snapshot-free replay:
  // the process-wide counters are non-zero, but this run's own diff is what counts.
  (void)run_req(request("snapshot_storm", 1, 1));
  ASSERT_GT(marks::snapshot()["thin.snapshot"], 0u);
  testing::TempDir dir;
  RunRequest req = request("snapshot_storm", 1, 1);
  req.replay = steps_file(dir, "nosnap.steps", "create 0\nwrite 0 1\ncommit\n");
  EXPECT_EQ(run_req(req).rc, 1);
}

// ---------------------------------------------------------------------------------------------
// Determinism: the same scenario and seed twice print the same lines (timings aside).

// The output with the summary table's states/s column (a timing) blanked.
std::string without_timings(const std::string& out) {
  std::istringstream in(out);
  std::string result;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("| ", 0) == 0 && line.find("| scenario |") == std::string::npos) {
      std::vector<std::string> cells;
      std::size_t pos = 0;
      while ((pos = line.find('|', pos)) != std::string::npos) cells.push_back(line.substr(pos, line.find('|', pos + 1) - pos)), ++pos;
      if (cells.size() > 6) cells[5] = "| (states/s) ";
      line.clear();
      for (const auto& c : cells) line += c;
    }
    result += line + "\n";
  }
  return result;
}

class Determinism : public ::testing::TestWithParam<const char*> {};

TEST_P(Determinism, SameSeedPrintsTheSameLines) {
  testing::TempDir dir;
  RunRequest req = request(GetParam(), 2, 1);
  req.opts.thin_check = ThinCheck::sample;
  req.json = dir.file("a.json");
  const auto a = run_req(req);
  std::ifstream ja(req.json);
  const std::string json_a((std::istreambuf_iterator<char>(ja)), {});
  req.json = dir.file("b.json");
  const auto b = run_req(req);
  std::ifstream jb(req.json);
  const std::string json_b((std::istreambuf_iterator<char>(jb)), {});
  ASSERT_EQ(a.rc, 0) << a.out;
  EXPECT_EQ(b.rc, a.rc);
  EXPECT_EQ(seed_lines(a.out).size(), 1u) << a.out;
  EXPECT_EQ(without_timings(a.out), without_timings(b.out));
  EXPECT_EQ(json_a, json_b);
  EXPECT_GT(a.out.size(), 600u) << "too little output to compare:\n" << a.out;
}

INSTANTIATE_TEST_SUITE_P(Scenarios, Determinism,
                         ::testing::Values("thin_swarm", "snapshot_storm", "crash_explorer", "engine_rollback"));

TEST(DeterminismHelper, OnlyTheStatesPerSecondColumnIsBlanked) {
  const std::string t = "x seed 1: ok\n| crash_explorer | 2 | 0 | 41 | 1261 | 7980 | 0 | 6 | - |\n";
  EXPECT_EQ(without_timings(t), "x seed 1: ok\n| crash_explorer | 2 | 0 | 41 | 1261 | (states/s) | 0 | 6 | - |\n");
}

// ---------------------------------------------------------------------------------------------
// Shrinking end to end: a seed-bug failure shrinks to a shorter step list that still fails with
// the switch on and passes with it off.

TEST(ShrinkEndToEnd, SeedGFailureShrinksAndReplays) {
  const Scenario* sc = find_scenario("seed_g_dec_wraps_free_block_count_4294967295");
  ASSERT_NE(sc, nullptr);
  ASSERT_TRUE(sc->generate && sc->replay);
  const std::uint64_t seed = 1;
  const RunOptions opts{.thin_check = ThinCheck::never};
  std::ostringstream sink;
  const Steps steps = sc->generate(seed);
  Steps small;
  {
    ScopedBugs on({Bug::g});
    ASSERT_FALSE(sc->run(seed, opts, sink).passed);
    ASSERT_FALSE(sc->replay(seed, steps, opts, sink).passed);
    small = shrink_steps(steps, [&](const Steps& s) { return !sc->replay(seed, s, opts, sink).passed; });
    EXPECT_LT(small.size(), steps.size());
    EXPECT_TRUE(is_subsequence(small, steps));
    const SeedOutcome again = sc->replay(seed, small, opts, sink);
    ASSERT_FALSE(again.passed);
    ASSERT_FALSE(again.failures.empty());
    EXPECT_NE(again.failures.front().find("4294967295"), std::string::npos) << again.failures.front();
  }
  ScopedBugs off({});
  EXPECT_TRUE(sc->replay(seed, small, opts, sink).passed);
  EXPECT_TRUE(sc->replay(seed, steps, opts, sink).passed);
}

// Every seed-bug scenario with steps: the shrunk trace still fails with the switch on and passes
// with every switch off — the shrinker must not slide onto a failure that is not the bug (a
// false alarm of the scenario on a short list, say). (b) replays slowly: fewer tries.
struct StepBug {
  const char* scenario;
  Bug bug;
  std::uint64_t max_tries;
};

void PrintTo(const StepBug& p, std::ostream* os) { *os << p.scenario; }

class ShrunkTrace : public ::testing::TestWithParam<StepBug> {};

TEST_P(ShrunkTrace, FailsWithTheSwitchOnAndPassesWithItOff) {
  const StepBug p = GetParam();
  const Scenario* sc = find_scenario(p.scenario);
  ASSERT_NE(sc, nullptr);
  ASSERT_TRUE(sc->generate && sc->replay);
  const RunOptions opts{.thin_check = ThinCheck::never};
  std::ostringstream sink;
  std::uint64_t caught = 0;
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    const Steps steps = sc->generate(seed);
    Steps small;
    {
      ScopedBugs on({p.bug});
      if (sc->replay(seed, steps, opts, sink).passed) continue;
      ++caught;
      small = shrink_steps(steps, [&](const Steps& s) { return !sc->replay(seed, s, opts, sink).passed; }, p.max_tries);
      ASSERT_FALSE(sc->replay(seed, small, opts, sink).passed) << "seed " << seed;
    }
    ScopedBugs off({});
    const SeedOutcome o = sc->replay(seed, small, opts, sink);
    EXPECT_TRUE(o.passed) << p.scenario << " seed " << seed << ": the shrunk trace fails with every switch off: "
                          << (o.failures.empty() ? std::string("?") : o.failures.front()) << "\n  trace: "
                          << fmt::format("{}", fmt::join(small, " | "));
  }
  EXPECT_GT(caught, 0u) << p.scenario << " caught nothing in seeds 1..3";
}

INSTANTIATE_TEST_SUITE_P(SeedBugs, ShrunkTrace,
                         ::testing::Values(StepBug{"seed_b_lifo_queue_refcount_below_zero", Bug::b, 40},
                                           StepBug{"seed_g_dec_wraps_free_block_count_4294967295", Bug::g, 2000},
                                           StepBug{"seed_j_array_grow_overwrites_tail_entries_lost", Bug::j, 2000}),
                         [](const auto& param_info) { return std::string(1, param_info.param.scenario[5]); });

TEST(ShrinkEndToEnd, RunnerWritesAReplayableStepsFile) {
  testing::TempDir dir;
  RunRequest req = request("seed_j_array_grow_overwrites_tail_entries_lost", 1, 1);
  req.bugs = {Bug::j};
  req.opts.save_images_dir = dir.file("images");  // does not exist yet: --save-images creates it
  auto r = run_req(req);
  ASSERT_EQ(r.rc, 1) << r.out;
  const std::string file = dir.file("images/seed_j_array_grow_overwrites_tail_entries_lost-seed1.steps");
  EXPECT_NE(r.out.find("  shrunk: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  replay: ./pdsim run seed_j_array_grow_overwrites_tail_entries_lost --seed 1 --bug "
                       "seed.j_array_grow_overwrites_tail --replay " + file + "\n"),
            std::string::npos)
      << r.out;
  std::ifstream f(file);
  ASSERT_TRUE(f.good()) << file;
  std::size_t lines = 0;
  for (std::string line; std::getline(f, line);) lines += line.empty() || line[0] == '#' ? 0u : 1u;
  const std::size_t generated = find_scenario(req.target)->generate(1).size();
  EXPECT_GT(lines, 0u);
  EXPECT_LT(lines, generated);
  EXPECT_NE(r.out.find(fmt::format("  shrunk: {} -> {} steps:", generated, lines)), std::string::npos) << r.out;

  // Replaying the file: fails with the switch on, passes with it off.
  req.replay = file;
  const auto on = run_req(req);
  EXPECT_EQ(on.rc, 1) << on.out;
  EXPECT_NE(on.out.find(fmt::format("seed 1: FAILED {} steps", lines)), std::string::npos) << on.out;
  req.bugs = {};
  const auto off = run_req(req);
  EXPECT_EQ(off.rc, 0) << off.out;
}

}  // namespace
}  // namespace pdsim::scenarios
