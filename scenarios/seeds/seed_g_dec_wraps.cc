// SPDX-License-Identifier: GPL-2.0-or-later
// Regression for seed bug (g), "dm space map: disallow decrementing a reference count below
// zero".
//
// What broke: a decrement computed old - 1 in unsigned 32-bit arithmetic without a check. From 0
// that stored 4294967295 (bitmap value 3 plus an overflow entry) and counted the block as newly
// allocated, silently: a double release became a permanent leak and drifting summaries.
//
// Trigger: random inc / dec / commit steps on metadata blocks against a count model in which a
// decrement of a free block must be rejected (each rejection is followed by an abort).
//
// Symptom: the decrement of a free block is accepted and the block's count reads 4294967295.
#include <fmt/format.h>

#include "scenarios/seeds/seed_common.h"

namespace pdsim::scenarios::seeds {
namespace {

constexpr BlockNr kMetadataBlocks = 1024;
constexpr std::uint64_t kBlocks = 24;

// Steps: "inc I", "dec I", "commit" on the I-th of kBlocks blocks allocated at the start.
Steps generate_g(std::uint64_t seed) {
  Run run(seed, "seed.g.workload");
  Steps steps;
  const std::uint64_t n = run.rng.between(60, 200);
  for (std::uint64_t k = 0; k < n; ++k) {
    const auto dice = run.rng.below(10);
    const std::uint64_t i = run.rng.below(kBlocks);
    if (dice < 3) steps.push_back(fmt::format("inc {}", i));
    else if (dice < 8) steps.push_back(fmt::format("dec {}", i));
    else steps.push_back("commit");
  }
  return steps;
}

SeedOutcome replay_g(std::uint64_t seed, const Steps& steps, const RunOptions&, std::ostream&) {
  Run run(seed, "seed.g.workload");
  Bare bare(kMetadataBlocks, seed);
  std::uint64_t rejected = 0;
  const auto summary = [&] { return fmt::format("{} steps, {} decrements of free blocks rejected", steps.size(), rejected); };
  if (Status s = bare.format(); !s) return run.fail(fmt::format("format: {}", s.error().to_string())), run.outcome(summary());
  std::vector<BlockNr> blocks;
  for (std::uint64_t k = 0; k < kBlocks; ++k) {
    auto b = bare.sm->new_block();
    if (!b || !*b) return run.fail("setup: allocation failed"), run.outcome(summary());
    blocks.push_back(**b);
  }
  if (Status s = bare.commit(); !s) return run.fail(fmt::format("setup commit: {}", s.error().to_string())), run.outcome(summary());
  // A block whose model count reached 0 is free: it may be reused by the engine after the next
  // commit, so it is forgotten then (a decrement of it is only tried while it is surely ours).
  std::vector<std::uint32_t> model(kBlocks, 1), committed = model;
  std::vector<bool> ours(kBlocks, true);
  for (const std::string& step : steps) {
    const std::string word = step_word(step);
    const auto args = step_args(step);
    ++run.operations;
    if (word == "commit") {
      if (Status s = bare.commit(); !s) return run.fail(fmt::format("commit: {}", s.error().to_string())), run.outcome(summary());
      for (std::size_t i = 0; i < kBlocks; ++i) ours[i] = ours[i] && model[i] > 0;
      committed = model;
      continue;
    }
    if (args.empty() || args[0] >= kBlocks || !ours[args[0]]) continue;
    const std::size_t i = args[0];
    if (word == "inc") {
      if (model[i] == 0) continue;  // an increment would resurrect a free block: not a valid step
      if (Status s = bare.sm->inc(blocks[i]); !s) return run.fail(fmt::format("inc: {}", s.error().to_string())), run.outcome(summary());
      ++model[i];
    } else if (word == "dec") {
      Status s = bare.sm->dec(blocks[i]);
      if (model[i] == 0) {
        if (s) {
          auto c = bare.sm->get_count(blocks[i]);
          return run.fail(fmt::format("decrement of free block {} accepted: its reference count is now {}", blocks[i],
                                      c ? fmt::format("{}", *c) : c.error().to_string())),
                 run.outcome(summary());
        }
        ++rejected;
        // Back to the last commit, as after any failed metadata operation.
        if (Status a = bare.abort(); !a) return run.fail(fmt::format("abort: {}", a.error().to_string())), run.outcome(summary());
        model = committed;
        continue;
      }
      if (!s) return run.fail(fmt::format("dec of block {} (count {}): {}", blocks[i], model[i], s.error().to_string())),
                     run.outcome(summary());
      --model[i];
    }
  }
  for (std::size_t i = 0; i < kBlocks && !run.failed(); ++i) {
    if (!ours[i]) continue;
    auto c = bare.sm->get_count(blocks[i]);
    if (!c || *c != model[i])
      run.fail(fmt::format("block {} has count {}, expected {}", blocks[i], c ? fmt::format("{}", *c) : c.error().to_string(), model[i]));
  }
  return run.outcome(summary());
}

}  // namespace

Scenario seed_g_scenario() {
  Scenario s;
  s.name = "seed_g_dec_wraps_free_block_count_4294967295";
  s.description =
      "Seed bug (g): decrementing a reference count of 0 wrapped to 4294967295 (bitmap value 3 plus an overflow "
      "entry) and counted the block as allocated, without any error, hiding double releases. Triggered by random "
      "increments, decrements and commits of metadata blocks against a count model that rejects decrements of free "
      "blocks. Symptom: the decrement of a free block is accepted and its count reads 4294967295.";
  s.catches = {Bug::g};
  s.generate = generate_g;
  s.replay = replay_g;
  s.grammar = {{"inc", {{"block index", 0, kBlocks - 1}}}, {"dec", {{"block index", 0, kBlocks - 1}}}, {"commit", {}}};
  s.run = [](std::uint64_t seed, const RunOptions& opts, std::ostream& trace) {
    return replay_g(seed, generate_g(seed), opts, trace);
  };
  return s;
}

}  // namespace pdsim::scenarios::seeds
