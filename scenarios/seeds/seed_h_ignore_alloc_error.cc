// SPDX-License-Identifier: GPL-2.0-or-later
// Regression for seed bug (h), "dm space map metadata: return on failure in
// sm_metadata_new_block".
//
// What broke: the metadata space map's allocation wrapper logged a failed allocation, then
// overwrote the error with the result of the free-count query and returned success; the caller
// used whatever block number its variable held.
//
// Trigger: fill a small metadata device with mappings (committing now and then) until an insert
// needs a block and none is free.
//
// Symptom: instead of failing with no space, the insert "succeeds" on a block that is already
// in use (here the last block handed out): live metadata is overwritten, and the checker finds
// damaged nodes or wrong counts, or the allocation fails later with an unrelated error.
#include <fmt/format.h>

#include "scenarios/seeds/seed_common.h"

namespace pdsim::scenarios::seeds {
namespace {

SeedOutcome run_h(std::uint64_t seed, const RunOptions&, std::ostream&) {
  Run run(seed, "seed.h.workload");
  const BlockNr size = run.rng.between(40, 120);
  const std::uint64_t batch = run.rng.between(50, 600);
  const std::uint64_t cap = size * 400;  // far more mappings than the device can hold
  PoolRig rig(size, size, seed);
  std::string ending = "cap";
  const auto summary = [&] {
    return fmt::format("{} metadata blocks filled in batches of {}: {} mappings committed, ended by {}", size, batch,
                       rig.committed.size(), ending);
  };
  if (Status s = rig.format(cap + 1000); !s) return run.fail(fmt::format("setup: {}", s.error().to_string())), run.outcome(summary());
  Status s;
  while (rig.mappings.size() < cap) {
    ++run.operations;
    s = rig.map_some(run.rng, batch);
    if (s) s = rig.commit();
    if (!s) break;
  }
  if (s) {
    run.fail(fmt::format("a failed metadata allocation reported success: {} mappings fit in {} metadata blocks", rig.mappings.size(), size));
  } else if (s.error().kind() != ErrorKind::no_space) {
    ending = s.error().to_string();
    run.fail(fmt::format("a failed metadata allocation reported success: live metadata block reused, then: {}", ending));
  } else {
    ending = "no space";
  }
  if (!s) (void)rig.abort();
  // Whatever happened, the durable image must be the last commit, intact.
  rig.md.reset();
  rig.disk.power_cut(sim::PowerCutPolicy::none);
  auto problems = check_thin_image(rig.disk.durable());
  if (!problems.empty()) {
    run.failures.add_first(fmt::format("a failed metadata allocation reported success: live metadata overwritten, checker: {}",
                                       summarize(problems)));
    return run.outcome(summary());
  }
  auto md = thin::PoolMetadata::open(rig.view, 128);
  if (!md) return run.fail(fmt::format("reopen: {}", md.error().to_string())), run.outcome(summary());
  rig.md = std::move(md).value();
  rig.mappings = rig.committed;
  if (auto diff = rig.compare(); !diff.empty()) run.fail(fmt::format("after reopen: {}", diff));
  return run.outcome(summary());
}

}  // namespace

Scenario seed_h_scenario() {
  Scenario s;
  s.name = "seed_h_ignore_alloc_error_live_metadata_overwritten";
  s.description =
      "Seed bug (h): the metadata space map's allocation wrapper turned a failed allocation into success and the "
      "caller used a stale block number. Triggered by filling a small metadata device with mappings, committing "
      "in batches, until an insert needs a block and none is free. Symptom: instead of failing with no space the "
      "insert succeeds on a block already in use, overwriting live metadata (checker: damaged nodes, wrong counts).";
  s.catches = {Bug::h};
  s.run = run_h;
  return s;
}

}  // namespace pdsim::scenarios::seeds
