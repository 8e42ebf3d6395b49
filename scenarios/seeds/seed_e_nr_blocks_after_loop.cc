// SPDX-License-Identifier: GPL-2.0-or-later
// Regression for seed bug (e), "dm space map common: make sure new space is used during extend".
//
// What broke: the common extend allocated the new bitmap blocks first and raised nr_blocks
// afterwards. During a metadata extend the bootstrap allocator hands out blocks from the old end
// only below nr_blocks, so the first new bitmap found no block.
//
// Trigger: extend a pool's metadata space map so that the new size needs a new bitmap (crosses
// a multiple of 16320 blocks). Extends inside the last bitmap still work, which made the bug look
// intermittent; the scenario mixes both.
//
// Symptom: the extend fails with no space although the device was enlarged.
#include <fmt/format.h>

#include "core/sm/sm_format.h"
#include "scenarios/seeds/seed_common.h"

namespace pdsim::scenarios::seeds {
namespace {

SeedOutcome run_e(std::uint64_t seed, const RunOptions&, std::ostream&) {
  Run run(seed, "seed.e.workload");
  const BlockNr first = run.rng.between(200, 12000);
  // Up to four extends: some inside the current last bitmap, at least one across a boundary.
  std::vector<BlockNr> sizes;
  BlockNr size = first;
  const int rounds = static_cast<int>(run.rng.between(1, 4));
  const int crossing = static_cast<int>(run.rng.below(static_cast<std::uint64_t>(rounds)));
  for (int r = 0; r < rounds; ++r) {
    const BlockNr next_boundary = (size / sm::kEntriesPerBitmap + 1) * sm::kEntriesPerBitmap;
    if (r == crossing || next_boundary - size < 2) size = next_boundary + run.rng.between(1, 10000);
    else size += run.rng.between(1, next_boundary - size - 1);
    sizes.push_back(size);
  }
  PoolRig rig(first, size, seed);
  const auto summary = [&] {
    std::string s = fmt::format("metadata {}", first);
    for (BlockNr n : sizes) s += fmt::format(" -> {}", n);
    return s + " blocks";
  };
  Status s = rig.format(100000);
  if (s) s = rig.map_some(run.rng, run.rng.between(10, 800));
  if (s) s = rig.commit();
  if (!s) return run.fail(fmt::format("setup: {}", s.error().to_string())), run.outcome(summary());
  BlockNr from = first;
  for (BlockNr to : sizes) {
    ++run.operations;
    s = rig.extend(to);
    const bool new_bitmap = (to + sm::kEntriesPerBitmap - 1) / sm::kEntriesPerBitmap >
                            (from + sm::kEntriesPerBitmap - 1) / sm::kEntriesPerBitmap;
    if (!s) {
      return run.fail(fmt::format("metadata extend from {} to {} blocks ({}) failed with {} although the device was "
                                  "enlarged: {}",
                                  from, to, new_bitmap ? "a new bitmap" : "no new bitmap", to_string(s.error().kind()),
                                  s.error().to_string())),
             run.outcome(summary());
    }
    s = rig.map_some(run.rng, run.rng.between(0, 300));
    if (s) s = rig.commit();
    if (!s) return run.fail(fmt::format("commit after extending to {} blocks: {}", to, s.error().to_string())), run.outcome(summary());
    auto nr = rig.md->metadata_nr_blocks();
    if (!nr || *nr != to)
      return run.fail(fmt::format("metadata space map has {} blocks after extending to {}", nr ? *nr : 0, to)), run.outcome(summary());
    if (auto problems = rig.check(); !problems.empty())
      return run.fail(fmt::format("checker after extending to {} blocks: {}", to, summarize(problems))), run.outcome(summary());
    from = to;
  }
  if (auto diff = rig.compare(); !diff.empty()) run.fail(diff);
  return run.outcome(summary());
}

}  // namespace

Scenario seed_e_scenario() {
  Scenario s;
  s.name = "seed_e_nr_blocks_after_loop_extend_no_space";
  s.description =
      "Seed bug (e): the common space-map extend raised nr_blocks only after allocating the new bitmaps, while the "
      "metadata map's bootstrap allocator hands out blocks from the old end only below nr_blocks. Triggered by "
      "extending a pool's metadata across a 16320-block bitmap boundary (extends inside the last bitmap still "
      "work). Symptom: the extend fails with no space although the device was enlarged.";
  s.catches = {Bug::e};
  s.run = run_e;
  return s;
}

}  // namespace pdsim::scenarios::seeds
