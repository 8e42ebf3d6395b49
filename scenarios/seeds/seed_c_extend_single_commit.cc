// SPDX-License-Identifier: GPL-2.0-or-later
// Regression for seed bug (c), "dm space map metadata: fix bug in resizing of thin metadata".
//
// What broke: extending the metadata space map ran one round of {count the blocks handed out in
// bootstrap mode; commit the index} and stopped. That commit itself allocates (it shadows the
// index block, and counting the new bitmap shadows an old bitmap); the bootstrap allocator does
// not count, so those blocks were left with a count of 0 while in use.
//
// Trigger: a pool whose metadata space map is extended across a multiple of 16320 blocks (a new
// bitmap is needed), then committed and used.
//
// Symptom: the checker finds metadata blocks in use with reference count 0 ("expected 1, got 0")
// right after the extend's commit; the next transactions decrement them below zero.
#include <fmt/format.h>

#include "core/sm/sm_format.h"
#include "scenarios/seeds/seed_common.h"

namespace pdsim::scenarios::seeds {
namespace {

SeedOutcome run_c(std::uint64_t seed, const RunOptions&, std::ostream&) {
  Run run(seed, "seed.c.workload");
  const BlockNr old_size = run.rng.chance(1, 2) ? run.rng.between(1000, 16000) : run.rng.between(16321, 30000);
  const BlockNr boundary = (old_size / sm::kEntriesPerBitmap + 1) * sm::kEntriesPerBitmap;
  const BlockNr new_size = boundary + run.rng.between(1, 12000);
  const std::uint64_t fill = run.rng.between(50, 1500);
  PoolRig rig(old_size, new_size, seed);
  const auto summary = [&] {
    return fmt::format("metadata {} -> {} blocks with {} mappings, then 2 insert+commit rounds", old_size, new_size, fill);
  };
  Status s = rig.format(100000);
  if (s) s = rig.map_some(run.rng, fill);
  if (s) s = rig.commit();
  if (!s) return run.fail(fmt::format("setup: {}", s.error().to_string())), run.outcome(summary());
  s = rig.extend(new_size);
  ++run.operations;
  if (s) s = rig.commit();
  if (!s) return run.fail(fmt::format("extend from {} to {} blocks and commit: {}", old_size, new_size, s.error().to_string())),
               run.outcome(summary());
  if (auto problems = rig.check(); !problems.empty())
    return run.fail(fmt::format("metadata reference counts wrong after the extend from {} to {} blocks: {}", old_size,
                                new_size, summarize(problems))),
           run.outcome(summary());
  for (int round = 0; round < 2; ++round) {
    ++run.operations;
    s = rig.map_some(run.rng, run.rng.between(1, 400));
    if (s) s = rig.commit();
    if (!s) {
      const auto victim = below_zero_block(s.error());
      return run.fail(victim ? fmt::format("reference count of block {} would go below zero in commit {} after the extend: {}",
                                           *victim, round + 1, s.error().to_string())
                             : fmt::format("commit {} after the extend: {}", round + 1, s.error().to_string())),
             run.outcome(summary());
    }
    if (auto problems = rig.check(); !problems.empty())
      return run.fail(fmt::format("metadata reference counts wrong in commit {} after the extend: {}", round + 1,
                                  summarize(problems))),
             run.outcome(summary());
  }
  if (auto diff = rig.compare(); !diff.empty()) run.fail(diff);
  return run.outcome(summary());
}

}  // namespace

Scenario seed_c_scenario() {
  Scenario s;
  s.name = "seed_c_extend_single_commit_blocks_left_at_count_zero";
  s.description =
      "Seed bug (c): extending the metadata space map committed its index once while still in bootstrap mode and "
      "stopped, so the blocks that commit allocated (the index block's shadow, a shadowed bitmap) were never counted. "
      "Triggered by extending a pool's metadata across a 16320-block bitmap boundary and committing. Symptom: the "
      "checker finds metadata blocks in use with reference count 0, and later commits decrement them below zero.";
  s.catches = {Bug::c};
  s.run = run_c;
  return s;
}

}  // namespace pdsim::scenarios::seeds
