// SPDX-License-Identifier: GPL-2.0-or-later
// Regression for seed bug (b), "dm space map metadata: fix refcount decrement below 0 which
// caused corruption".
//
// What broke: the metadata space map's queue of recursive operations was applied newest first.
// Removing an overflow-btree entry shadows the nodes on its path (INC copy, DEC original) and,
// when two leaves merge, releases the right one (DEC) — often the copy made moments earlier.
// Newest first, that DEC runs before the INC and takes a count of 0 below zero.
//
// Trigger: give hundreds of metadata blocks a count of 3 (an overflow btree of several leaves),
// commit, then decrement them one by one from 3 to 2, committing after every decrement so every
// removal has to copy the overflow nodes again.
//
// Symptom: a decrement fails with "reference count would go below zero" (or, with the check
// gone too, a count wraps and the checker finds a live block with count 0).
#include <fmt/format.h>

#include "scenarios/seeds/seed_common.h"

namespace pdsim::scenarios::seeds {
namespace {

constexpr BlockNr kMetadataBlocks = 4096;

// Steps: "count3 N" (allocate N blocks with count 3, commit), then "dec I" (decrement the I-th
// of them, commit).
Steps generate_b(std::uint64_t seed) {
  Run run(seed, "seed.b.workload");
  const std::uint64_t n = run.rng.between(450, 800);
  Steps steps{fmt::format("count3 {}", n)};
  // Ascending, with a seeded stride so different seeds empty different leaves first.
  const std::uint64_t stride = run.rng.chance(1, 2) ? 1 : 2;
  const std::uint64_t first = run.rng.below(n / 4);
  for (std::uint64_t k = 0; k < n; ++k) {
    const std::uint64_t i = (first + k * stride) % n;
    steps.push_back(fmt::format("dec {}", i));
  }
  return steps;
}

SeedOutcome replay_b(std::uint64_t seed, const Steps& steps, const RunOptions&, std::ostream& trace) {
  Run run(seed, "seed.b.workload");
  Bare bare(kMetadataBlocks, seed);
  std::vector<BlockNr> blocks;
  std::vector<std::uint32_t> model;
  const auto summary = [&] { return fmt::format("{} blocks at count 3, {} steps", blocks.size(), steps.size()); };
  if (Status s = bare.format(); !s) return run.fail(fmt::format("format: {}", s.error().to_string())), run.outcome(summary());
  for (const std::string& step : steps) {
    const std::string word = step_word(step);
    const auto args = step_args(step);
    if (args.empty()) continue;
    ++run.operations;
    if (word == "count3") {
      for (std::uint64_t k = 0; k < args[0]; ++k) {
        auto b = bare.sm->new_block();
        if (!b || !*b) return run.fail(fmt::format("setup: allocation {} failed", k)), run.outcome(summary());
        Status s = bare.sm->inc(**b);
        if (s) s = bare.sm->inc(**b);
        if (!s) return run.fail(fmt::format("setup: {}", s.error().to_string())), run.outcome(summary());
        blocks.push_back(**b);
        model.push_back(3);
      }
    } else if (word == "dec") {
      if (args[0] >= blocks.size() || model[args[0]] == 0) continue;
      const BlockNr b = blocks[args[0]];
      Status s = bare.sm->dec(b);
      if (!s) {
        const auto victim = below_zero_block(s.error());
        run.fail(fmt::format("reference count of block {} would go below zero: decrementing block {} ({} -> {}) at "
                             "step {} failed: {}",
                             victim ? fmt::format("{}", *victim) : "?", b, model[args[0]], model[args[0]] - 1,
                             run.operations, s.error().to_string()));
        break;
      }
      --model[args[0]];
    } else {
      continue;
    }
    if (Status s = bare.commit(); !s) {
      const auto victim = below_zero_block(s.error());
      run.fail(victim ? fmt::format("reference count of block {} would go below zero: commit after step {} failed: {}",
                                    *victim, run.operations, s.error().to_string())
                      : fmt::format("commit after step {} failed: {}", run.operations, s.error().to_string()));
      break;
    }
  }
  if (!run.failed()) {
    // Every count equals the model, and the space map's own structures check clean.
    for (std::size_t i = 0; i < blocks.size() && !run.failed(); ++i) {
      auto c = bare.sm->get_count(blocks[i]);
      if (!c) run.fail(fmt::format("count of block {}: {}", blocks[i], c.error().to_string()));
      else if (*c != model[i]) run.fail(fmt::format("block {} has count {}, expected {}", blocks[i], *c, model[i]));
    }
  }
  trace << fmt::format("  seed_b: {} blocks, {} steps, queue left {}\n", blocks.size(), run.operations, bare.sm->queued());
  return run.outcome(summary());
}

}  // namespace

Scenario seed_b_scenario() {
  Scenario s;
  s.name = "seed_b_lifo_queue_refcount_below_zero";
  s.description =
      "Seed bug (b): the metadata space map applied its queue of recursive operations newest first, so when an "
      "overflow-btree removal merged two leaves, the release of the right leaf (a copy made moments earlier by the "
      "same removal) ran before the increment that created it. Triggered by giving hundreds of metadata blocks a "
      "count of 3 and decrementing them to 2 one by one with a commit after each. Symptom: a decrement fails "
      "because a reference count would go below zero.";
  s.catches = {Bug::b};
  s.generate = generate_b;
  s.replay = replay_b;
  s.grammar = {{"count3", {{"blocks", 0, kMetadataBlocks}}}, {"dec", {{"block index", 0, kMetadataBlocks}}}};
  s.run = [](std::uint64_t seed, const RunOptions& opts, std::ostream& trace) {
    return replay_b(seed, generate_b(seed), opts, trace);
  };
  return s;
}

}  // namespace pdsim::scenarios::seeds
