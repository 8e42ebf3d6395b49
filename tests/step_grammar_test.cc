// SPDX-License-Identifier: GPL-2.0-or-later
// Step files are user input (issue 15): every step-based scenario has a grammar, what its own
// generator writes passes it, and a bad line in a steps file is one clear error naming the file,
// the line and the step (exit 2), never an abort — the two inputs that crashed `pdsim run
// --replay` are regressions here.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "scenarios/runner/registry.h"
#include "scenarios/runner/runner.h"
#include "scenarios/runner/step_grammar.h"
#include "testing/test_util.h"

namespace pdsim::scenarios {
namespace {

TEST(StepGrammar, AcceptsTheFormsAndRejectsTheRest) {
  const StepGrammar& g = thin_step_grammar();
  EXPECT_TRUE(check_step(g, "discard 1 3 9").ok());
  EXPECT_TRUE(check_step(g, "cut torn").ok());
  EXPECT_TRUE(check_step(g, "plan write p=1/21 -> error").ok());
  auto why = [&](std::string_view s) { return check_step(g, s).error().message(); };
  EXPECT_EQ(why("discard 1 9 3"), "discard: begin 9 is past end 3");
  EXPECT_EQ(why("write 1"), "write: takes 2 numbers, 1 given");
  EXPECT_EQ(why("write 1 x"), "write: virtual block 'x' is not a number");
  EXPECT_EQ(why("create 16777216"), "create: device id 16777216 is out of range (0..16777215)");
  EXPECT_EQ(why("write 1 2 3"), "write: unexpected '3' after the numbers");
  EXPECT_NE(why("fill 1 0 99999999999 1").find("blocks in one step"), std::string::npos);
  EXPECT_NE(why("cut sideways").find("cut:"), std::string::npos);
  EXPECT_NE(why("explode 1").find("unknown step 'explode'"), std::string::npos);
  // A 400-digit number is cut in the message.
  const std::string huge(400, '9');
  const std::string m = why("write 1 " + huge);
  EXPECT_LT(m.size(), 120u) << m;
  EXPECT_NE(m.find("out of range"), std::string::npos) << m;
}

TEST(StepGrammar, EveryGeneratedStepPassesItsScenariosGrammar) {
  for (const auto& name : find_suite("all")->scenarios) {
    const Scenario* sc = find_scenario(name);
    ASSERT_NE(sc, nullptr);
    if (!sc->generate) continue;
    EXPECT_FALSE(sc->grammar.empty()) << name;
    for (std::uint64_t seed = 1; seed <= 3; ++seed)
      for (const auto& step : sc->generate(seed)) {
        const Status ok = check_step(sc->grammar, step);
        ASSERT_TRUE(ok.ok()) << name << " seed " << seed << " '" << step << "': " << ok.error().message();
      }
  }
}

struct Replayed {
  int rc;
  std::string out, err;
};

Replayed replay(const std::string& scenario, const std::string& file_text) {
  testing::TempDir dir;
  const std::string path = dir.file("edited.steps");
  std::ofstream(path) << file_text;
  RunRequest req;
  req.target = scenario;
  req.first_seed = 1;
  req.runs = 1;
  req.replay = path;
  req.shrink = false;
  req.opts.thin_check = ThinCheck::never;
  std::ostringstream out, err;
  const int rc = run(req, out, err);
  std::string e = err.str();
  const auto at = e.find(path);
  if (at != std::string::npos) e.replace(at, path.size(), "FILE");
  return {rc, out.str(), e};
}

// Was heap corruption (free(): invalid pointer) in the pool harness's model.
TEST(StepFiles, AReversedDiscardRangeIsAnErrorNamingTheLine) {
  const auto r = replay("thin_faults", "# edited by hand\ncreate 0\ndiscard 0 9 3\n");
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.err, "pdsim run: FILE:3: step 1 'discard 0 9 3': discard: begin 9 is past end 3\n") << r.err;
}

// Was an uncaught std::length_error (the model resized by the whole u64).
TEST(StepFiles, AHugeResizeIsAnErrorNotAnAbort) {
  const auto r = replay("seed_j_array_grow_overwrites_tail_entries_lost", "resize 18446744073709551615\n");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("FILE:1: step 0 'resize 18446744073709551615': resize: entries 18446744073709551615 is out of range"),
            std::string::npos)
      << r.err;
}

// Was 7.8 GB (a cache model of a billion blocks) and 1.58 GB (a discard bitset of 2^32 bits).
TEST(StepFiles, CacheSizesAreBounded) {
  EXPECT_EQ(replay("cache_crash", "resize 1000000000\n").rc, 2);
  EXPECT_EQ(replay("cache_crash", "discards 4294967295\n").rc, 2);
  // In range it runs (exit 1 only because three steps miss cache_crash's required coverage marks).
  const auto ok = replay("cache_crash", "resize 100\ninsert 3 7\ncommit 1\n");
  EXPECT_NE(ok.out.find("1 runs, 0 failed"), std::string::npos) << ok.out << ok.err;
  EXPECT_TRUE(ok.err.empty()) << ok.err;
}

}  // namespace
}  // namespace pdsim::scenarios
