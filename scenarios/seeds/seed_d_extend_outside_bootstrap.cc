// SPDX-License-Identifier: GPL-2.0-or-later
// Regression for seed bug (d), "dm space map metadata: fix extending the space map".
//
// What broke: extend left bootstrap mode as soon as the new bitmaps were allocated; counting them
// and committing the index were done in normal mode. The normal allocator of that era only
// handed out blocks below the committed size, searching from a cursor that bootstrap mode had
// left inside the new area — so there was no candidate at all until a commit succeeded, and the
// commit itself needed blocks.
//
// Trigger: fill the metadata device until an insert fails with no space, abort, enlarge the
// device across a bitmap boundary, resize the metadata, commit, insert more.
//
// Symptom: no space during the extend or the first commit after it, although thousands of new
// blocks are free; the resize fails and the pool would drop to read-only.
#include <fmt/format.h>

#include "core/sm/sm_format.h"
#include "scenarios/seeds/seed_common.h"

namespace pdsim::scenarios::seeds {
namespace {

SeedOutcome run_d(std::uint64_t seed, const RunOptions&, std::ostream&) {
  Run run(seed, "seed.d.workload");
  const BlockNr old_size = run.rng.between(60, 140);
  const BlockNr new_size = sm::kEntriesPerBitmap + run.rng.between(1, 16000);
  PoolRig rig(old_size, new_size, seed);
  std::uint64_t inserted = 0;
  const auto summary = [&] {
    return fmt::format("metadata of {} blocks filled ({} mappings), extended to {} blocks", old_size, inserted, new_size);
  };
  Status s = rig.format(100000);
  if (!s) return run.fail(fmt::format("setup: {}", s.error().to_string())), run.outcome(summary());
  // Fill: commit every 500 mappings until an insert runs out of metadata space.
  for (;;) {
    s = rig.map_some(run.rng, 500);
    if (s) s = rig.commit();
    ++run.operations;
    if (!s) break;
    inserted = rig.committed.size();
  }
  if (s.error().kind() != ErrorKind::no_space)
    return run.fail(fmt::format("filling the metadata: {}", s.error().to_string())), run.outcome(summary());
  if (Status a = rig.abort(); !a) return run.fail(fmt::format("abort: {}", a.error().to_string())), run.outcome(summary());
  auto free_before = rig.md->metadata_sm().nr_free();
  s = rig.extend(new_size);
  ++run.operations;
  if (s) s = rig.commit();
  if (!s) {
    return run.fail(fmt::format("no space during the metadata extend from {} to {} blocks or the first commit after it, "
                                "although {} new blocks exist ({} free before): {}",
                                old_size, new_size, new_size - old_size, free_before ? *free_before : 0,
                                s.error().to_string())),
           run.outcome(summary());
  }
  ++run.operations;
  s = rig.map_some(run.rng, run.rng.between(500, 3000));
  if (s) s = rig.commit();
  if (!s) return run.fail(fmt::format("inserting after the extend: {}", s.error().to_string())), run.outcome(summary());
  if (auto problems = rig.check(); !problems.empty())
    return run.fail(fmt::format("checker after the extend: {}", summarize(problems))), run.outcome(summary());
  if (auto diff = rig.compare(); !diff.empty()) run.fail(diff);
  return run.outcome(summary());
}

}  // namespace

Scenario seed_d_scenario() {
  Scenario s;
  s.name = "seed_d_extend_commit_outside_bootstrap_no_space_after_resize";
  s.description =
      "Seed bug (d): extend left bootstrap mode right after allocating the new bitmaps, so counting them and the next "
      "commit used the normal allocator, which then only considered blocks below the committed size from a cursor "
      "already past it. Triggered by filling the metadata device to no space, enlarging it across a bitmap boundary "
      "and resizing. Symptom: no space during the extend or the first commit after it although new space exists.";
  s.catches = {Bug::d};
  s.run = run_d;
  return s;
}

}  // namespace pdsim::scenarios::seeds
