// SPDX-License-Identifier: GPL-2.0-or-later
// Regression for seed bug (f), "dm thin: allow pool in read-only mode to transition to
// read-write mode".
//
// What broke: binding a newly loaded table to the pool kept the worse of the current and the
// requested mode, so a pool that had gone read-only never returned to write mode, even after
// the user added space and reloaded a writable table.
//
// Trigger: a pool in write mode is reloaded with the read_only feature, then reloaded (possibly
// grown) without it; a write to an unmapped block follows.
//
// Symptom: the pool stays read-only and the write fails. Companion checks that hold with the
// fix too: FAIL is never left, NEEDS_CHECK keeps the pool out of write mode.
#include <fmt/format.h>

#include "core/thin/pool.h"
#include "scenarios/seeds/seed_common.h"

namespace pdsim::scenarios::seeds {
namespace {

SeedOutcome run_f(std::uint64_t seed, const RunOptions&, std::ostream&) {
  Run run(seed, "seed.f.workload");
  sim::SimDisk disk(2048, sim::sub_seed(seed, "disk"));
  thin::PoolTable table;
  table.data_blocks = run.rng.between(32, 256);
  table.metadata_blocks = 2048;
  const std::uint64_t writes = run.rng.between(1, table.data_blocks / 2);
  const bool grow = run.rng.chance(1, 2);
  const auto summary = [&] {
    return fmt::format("{} data blocks, {} writes, read-only reload, writable reload{}", table.data_blocks, writes,
                       grow ? " with more data space" : "");
  };
  auto md = thin::PoolMetadata::format(disk, 128);
  if (!md) return run.fail(fmt::format("format: {}", md.error().to_string())), run.outcome(summary());
  auto pool = thin::Pool::create(std::move(md).value(), table);
  if (!pool) return run.fail(fmt::format("create: {}", pool.error().to_string())), run.outcome(summary());
  thin::Pool& p = **pool;
  Status s = p.create_thin(1);
  for (std::uint64_t v = 0; s && v < writes; ++v) {
    auto w = p.write(1, v);
    if (!w) s = w.error();
    ++run.operations;
  }
  if (s) s = p.commit();
  if (!s) return run.fail(fmt::format("setup: {}", s.error().to_string())), run.outcome(summary());
  table.read_only = true;
  s = p.reload(table);
  ++run.operations;
  if (!s || p.mode() != thin::PoolMode::read_only)
    return run.fail(fmt::format("reload with read_only: mode {}", to_string(p.mode()))), run.outcome(summary());
  table.read_only = false;
  if (grow) table.data_blocks += run.rng.between(1, 64);
  s = p.reload(table);
  ++run.operations;
  if (!s) return run.fail(fmt::format("writable reload: {}", s.error().to_string())), run.outcome(summary());
  if (p.mode() != thin::PoolMode::write)
    return run.fail(fmt::format("read-only pool stayed {} after the table was reloaded writable (expected write)",
                                to_string(p.mode()))),
           run.outcome(summary());
  auto w = p.write(1, writes + run.rng.below(1000));
  ++run.operations;
  if (!w) return run.fail(fmt::format("write to an unmapped block after the writable reload: {}", w.error().to_string())),
              run.outcome(summary());
  if (s = p.commit(); !s) return run.fail(fmt::format("commit after the writable reload: {}", s.error().to_string())),
                                  run.outcome(summary());
  // Companion: NEEDS_CHECK keeps a degraded pool out of write mode, whatever the table asks.
  s = p.metadata().set_needs_check();
  table.read_only = true;
  if (s) s = p.reload(table);
  table.read_only = false;
  if (s) s = p.reload(table);
  if (!s) return run.fail(fmt::format("needs_check reloads: {}", s.error().to_string())), run.outcome(summary());
  if (p.mode() == thin::PoolMode::write) run.fail("a pool with NEEDS_CHECK returned to write mode");
  if (auto problems = check_thin_image(disk.current()); !problems.empty())
    run.fail(fmt::format("checker: {}", summarize(problems)));
  return run.outcome(summary());
}

}  // namespace

Scenario seed_f_scenario() {
  Scenario s;
  s.name = "seed_f_sticky_degraded_mode_read_only_forever";
  s.description =
      "Seed bug (f): binding a new table to a thin pool kept the worse of the current and the requested mode, so a "
      "pool that had gone read-only could never return to write mode. Triggered by reloading a writing pool with "
      "the read_only feature and then reloading it writable (with or without more data space). Symptom: the pool "
      "stays read-only and writes to unmapped blocks keep failing.";
  s.catches = {Bug::f};
  s.run = run_f;
  return s;
}

}  // namespace pdsim::scenarios::seeds
