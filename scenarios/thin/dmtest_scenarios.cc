// SPDX-License-Identifier: GPL-2.0-or-later
// device-mapper-test-suite tests re-created in simulation (../shared/spec/dmtest-scenarios.md):
// what each test does and asserts, reduced to metadata operations on a PoolHarness.
#include <fmt/format.h>

#include <sstream>

#include "core/thin/thin_dump.h"
#include "scenarios/harness/pool_harness.h"
#include "scenarios/thin/thin_scenarios.h"
#include "sim/rng.h"

namespace pdsim::scenarios {
namespace {

using thin::PoolMode;

bool is_ro(PoolMode m) { return m == PoolMode::read_only || m == PoolMode::out_of_metadata_space; }

void expect_total_metadata(PoolHarness& h, BlockNr want, const char* when) {
  if (!h.has_pool()) return h.fail(fmt::format("{}: no pool", when));
  auto n = h.pool().metadata().metadata_nr_blocks();
  if (!n) return h.fail(fmt::format("{}: {}", when, n.error().to_string()));
  if (*n != want) h.fail(fmt::format("{}: total metadata blocks {}, expected {}", when, *n, want));
}

void expect_mode(PoolHarness& h, bool ok, const char* what) {
  if (!ok) h.fail(fmt::format("{} (mode is {})", what, thin::to_string(h.mode())));
}

// §3.1 / §3.2: grow the metadata device of an idle pool in steps; the pool sees each size.
SeedOutcome resize_no_io(std::uint64_t seed, const RunOptions& opts, std::ostream&) {
  static constexpr std::array<BlockNr, 7> kTotals = {512, 1280, 3072, 11008, 28160, 158976, 420864};
  PoolHarness h("resize_no_io", seed, {.metadata_blocks = 256, .device_blocks = 420864, .data_blocks = 1600}, opts);
  if (!h.start()) return h.outcome("resize_no_io");
  expect_total_metadata(h, 256, "start");
  for (BlockNr total : kTotals) {
    thin::PoolTable t = h.table();
    t.metadata_blocks = total;
    if (Status s = h.reload(t); !s) h.fail(fmt::format("grow metadata to {}: {}", total, s.error().to_string()));
    expect_total_metadata(h, total, "after the grow");
    // The _with_extra_checking variant: tear down, check, re-activate on odd seeds.
    if (seed % 2 == 1) h.teardown_and_reopen("a metadata grow");
    if (h.failed()) break;
  }
  h.check_image("the last grow");
  return h.outcome("grew metadata 256 -> 420864 blocks in 7 steps");
}

// §3.3: grow the metadata device while a thin device is being provisioned.
SeedOutcome resize_with_io(std::uint64_t seed, const RunOptions& opts, std::ostream&) {
  PoolHarness h("resize_with_io", seed, {.metadata_blocks = 256, .device_blocks = 512, .data_blocks = 16384}, opts);
  if (!h.start()) return h.outcome("resize_with_io");
  if (Status s = h.create_thin(0); !s) h.fail(s.error().to_string());
  sim::Rng rng(sim::sub_seed(seed, "resize_with_io.workload"));
  const std::uint64_t grow_at = rng.below(800);
  for (std::uint64_t v = 0; v < 800 && !h.failed(); ++v) {
    if (v == grow_at) {
      thin::PoolTable t = h.table();
      t.metadata_blocks = 512;
      if (Status s = h.reload(t); !s) h.fail(fmt::format("grow during I/O: {}", s.error().to_string()));
    }
    if (Status s = h.write(0, v); !s) h.fail(fmt::format("provisioning block {}: {}", v, s.error().to_string()));
    if (v % 100 == 99)
      if (Status s = h.commit(); !s) h.fail(s.error().to_string());
  }
  expect_total_metadata(h, 512, "after the writer");
  h.teardown_and_reopen("the writer finished");
  return h.outcome(fmt::format("800 blocks provisioned, metadata grown 256 -> 512 at block {}", grow_at));
}

// Provisions thin 0 from `from` until an error; returns the first unprovisioned block.
std::uint64_t provision_until_error(PoolHarness& h, std::uint64_t from, std::uint64_t end) {
  std::uint64_t v = from;
  for (; v < end; ++v) {
    if (!h.write(0, v)) break;
    if (v % 64 == 63 && !h.commit()) break;  // the periodic commits a real pool does
  }
  return v;
}

// §3.4: a pool out of metadata space recovers when the metadata device grows.
SeedOutcome resize_after_exhaust(std::uint64_t seed, const RunOptions& opts, std::ostream&) {
  PoolHarness h("resize_after_exhaust", seed, {.metadata_blocks = 128, .device_blocks = 7808, .data_blocks = 120000}, opts);
  if (!h.start()) return h.outcome("resize_after_exhaust");
  if (Status s = h.create_thin(0); !s) h.fail(s.error().to_string());
  const std::uint64_t thin_blocks = 30000;
  const std::uint64_t stopped = provision_until_error(h, 0, thin_blocks);
  if (stopped >= thin_blocks) h.fail("128 metadata blocks held 30000 mappings: exhaustion never happened");
  expect_mode(h, is_ro(h.mode()), "after metadata ran out the pool must be read-only");
  h.teardown_and_reopen("metadata exhaustion");
  thin::PoolTable t = h.table();
  t.metadata_blocks = 7808;
  if (Status s = h.reload(t); !s) h.fail(fmt::format("grow metadata: {}", s.error().to_string()));
  expect_mode(h, h.mode() == PoolMode::write, "after the metadata grow the pool must be rw");
  const std::uint64_t done = provision_until_error(h, stopped, thin_blocks);
  if (done != thin_blocks) h.fail(fmt::format("provisioning stopped again at block {} after the grow", done));
  h.teardown_and_reopen("the grown pool was filled");
  return h.outcome(fmt::format("exhausted at block {}, recovered, {} blocks provisioned", stopped, thin_blocks));
}

// §3.5: running out of metadata space leaves the pool read-only, also after re-activation.
SeedOutcome exhausting_metadata_space_aborts_to_ro_mode(std::uint64_t seed, const RunOptions& opts, std::ostream&) {
  PoolHarness h("exhausting_metadata_space_aborts_to_ro_mode", seed, {.metadata_blocks = 64, .data_blocks = 32768}, opts);
  if (!h.start()) return h.outcome("exhausting_metadata_space");
  if (Status s = h.create_thin(0); !s) h.fail(s.error().to_string());
  const std::uint64_t stopped = provision_until_error(h, 0, 16384);
  if (stopped >= 16384) h.fail("64 metadata blocks never ran out");
  expect_mode(h, is_ro(h.mode()), "the pool must be read-only after metadata ran out");
  h.teardown_and_reopen("metadata exhaustion");
  if (Status s = h.commit(); s) h.fail("a commit after re-activation succeeded on a full pool");
  expect_mode(h, is_ro(h.mode()), "the pool must still be read-only after re-activation");
  return h.outcome(fmt::format("metadata ran out at block {}", stopped));
}

// §3.6: after growing the metadata device, deleting thins works (the regression for bug (c)).
SeedOutcome thin_remove_works_after_resize(std::uint64_t seed, const RunOptions& opts, std::ostream&) {
  PoolHarness h("thin_remove_works_after_resize", seed, {.metadata_blocks = 512, .device_blocks = 65536, .data_blocks = 1600}, opts);
  if (!h.start()) return h.outcome("thin_remove_works_after_resize");
  for (std::uint64_t id : {0ull, 1ull})
    if (Status s = h.create_thin(id); !s) h.fail(s.error().to_string());
  sim::Rng rng(sim::sub_seed(seed, "thin_remove_works_after_resize.workload"));
  for (std::uint64_t i = 0; i < rng.below(200); ++i) (void)h.write(rng.below(2), rng.below(1600));
  expect_total_metadata(h, 512, "before the grow");
  thin::PoolTable t = h.table();
  t.metadata_blocks = 65536;
  if (Status s = h.reload(t); !s) h.fail(fmt::format("grow metadata: {}", s.error().to_string()));
  if (Status s = h.delete_thin(0); !s) h.fail(fmt::format("first delete after the grow: {}", s.error().to_string()));
  expect_total_metadata(h, 65536, "after the first delete");
  expect_mode(h, h.mode() == PoolMode::write, "the first delete after a grow must leave the pool rw");
  if (Status s = h.delete_thin(1); !s) h.fail(fmt::format("second delete after the grow: {}", s.error().to_string()));
  h.teardown_and_reopen("the deletes");
  return h.outcome("grew metadata 512 -> 65536, deleted both thins");
}

// §5.1: a failed commit sets needs_check, which survives re-activation and keeps the pool ro.
SeedOutcome commit_failure_sets_needs_check(std::uint64_t seed, const RunOptions& opts, std::ostream&) {
  PoolHarness h("commit_failure_sets_needs_check", seed, {.metadata_blocks = 1024, .data_blocks = 49152}, opts);
  if (!h.start()) return h.outcome("commit_failure_sets_needs_check");
  if (Status s = h.create_thin(0); !s) h.fail(s.error().to_string());
  if (Status s = h.write(0, 0); !s) h.fail(s.error().to_string());
  if (Status s = h.commit(); !s) h.fail(s.error().to_string());
  // Every metadata I/O but block 0 fails from now on.
  h.disk().set_plan(sim::FaultPlan{}.add(sim::FaultRule{sim::Selector{.blocks = sim::Range{1, std::nullopt}}, sim::FaultAction::error}));
  (void)h.write(0, 1);  // may already fail: the lookup reads a shadowable block
  if (Status s = h.commit(); s) h.fail("a commit succeeded although every metadata block but 0 failed");
  const PoolMode m = h.mode();
  expect_mode(h, m == PoolMode::read_only || m == PoolMode::fail, "a failed commit must leave the pool ro or failed");
  h.teardown_and_reopen("the failed commit");
  if (!h.needs_check() && m == PoolMode::read_only) h.fail("needs_check is not set after the failed commit");
  if (h.needs_check())
    expect_mode(h, h.mode() == PoolMode::read_only, "a pool with needs_check must come up read-only");
  if (h.committed().mappings() != 1) h.fail(fmt::format("{} mappings survived, expected the one committed", h.committed().mappings()));
  return h.outcome(fmt::format("commit failed, pool {}, needs_check {}", thin::to_string(m), h.needs_check()));
}

// §6: read-only tables. Phase 1 read-write, phase 2 with the read_only feature.
enum class RoCase { provision, create, remove, read_holes };
SeedOutcome read_only_case(RoCase c, const char* name, std::uint64_t seed, const RunOptions& opts) {
  PoolHarness h(name, seed, {.metadata_blocks = 1024, .data_blocks = 32768}, opts);
  if (!h.start()) return h.outcome(name);
  if (c != RoCase::create)
    if (Status s = h.create_thin(0); !s) h.fail(s.error().to_string());
  sim::Rng rng(sim::sub_seed(seed, fmt::format("{}.workload", name)));
  const std::uint64_t mapped = rng.below(50);
  for (std::uint64_t v = 0; v < mapped; ++v) (void)h.write(0, v);
  thin::PoolTable t = h.table();
  t.read_only = true;
  t.error_if_no_space = true;
  h.teardown_and_reopen("phase 1");
  if (Status s = h.reload(t); !s) h.fail(fmt::format("read-only activation: {}", s.error().to_string()));
  switch (c) {
    case RoCase::provision:
      if (Status s = h.write(0, 1000 + rng.below(1000)); s) h.fail("a read-only pool provisioned a new block");
      for (std::uint64_t v = 0; v < mapped; ++v)
        if (Status s = h.write(0, v); !s) h.fail(fmt::format("rewriting mapped block {} failed: {}", v, s.error().to_string()));
      break;
    case RoCase::create:
      if (Status s = h.create_thin(0); s) h.fail("a read-only pool created a thin device");
      break;
    case RoCase::remove:
      if (Status s = h.delete_thin(0); s) h.fail("a read-only pool deleted a thin device");
      break;
    case RoCase::read_holes:
      for (std::uint64_t v = 0; v < 2000; v += 7)
        if (Status s = h.read(0, v); !s) h.fail(fmt::format("reading block {}: {}", v, s.error().to_string()));
      break;
  }
  expect_mode(h, h.mode() == PoolMode::read_only, "the read_only table must keep the pool read-only");
  h.teardown_and_reopen("phase 2");
  return h.outcome(fmt::format("{} mapped blocks, read-only phase done", mapped));
}

// §7.2: out of data space, then the pool is resized and every held write completes.
SeedOutcome out_of_data_space_resize(std::uint64_t seed, const RunOptions& opts, std::ostream&) {
  PoolHarness h("out_of_data_space_resize", seed, {.metadata_blocks = 1024, .data_blocks = 512}, opts);
  if (!h.start()) return h.outcome("out_of_data_space_resize");
  if (Status s = h.create_thin(0); !s) h.fail(s.error().to_string());
  std::uint64_t v = 0;
  for (; v < 2048; ++v)
    if (!h.write(0, v)) break;
  if (v != 512) h.fail(fmt::format("the pool ran out of data space at block {}, expected 512", v));
  expect_mode(h, h.mode() == PoolMode::out_of_data_space, "a full pool must be out_of_data_space");
  if (Status s = h.read(0, 3); !s) h.fail(fmt::format("a read of a mapped block failed: {}", s.error().to_string()));
  thin::PoolTable t = h.table();
  t.data_blocks = 2048;
  if (Status s = h.reload(t); !s) h.fail(fmt::format("resize: {}", s.error().to_string()));
  expect_mode(h, h.mode() == PoolMode::write, "the resize must return the pool to write mode");
  for (; v < 2048; ++v)
    if (Status s = h.write(0, v); !s) {
      h.fail(fmt::format("block {} after the resize: {}", v, s.error().to_string()));
      break;
    }
  h.teardown_and_reopen("the resized pool was filled");
  return h.outcome("out of data space at 512 blocks, resized to 2048, filled");
}

// §4.1: metadata left behind by a crash during metadata exhaustion comes up: random snapshots,
// deletes, provisioning and breaking of sharing until metadata runs out, then the power fails.
SeedOutcome recover_after_crash(std::uint64_t seed, const RunOptions& opts, std::ostream&) {
  PoolHarness h("recover_after_crash", seed, {.metadata_blocks = 96, .device_blocks = 2048, .data_blocks = 100000}, opts);
  if (!h.start()) return h.outcome("recover_after_crash");
  if (Status s = h.create_thin(0); !s) h.fail(s.error().to_string());
  sim::Rng rng(sim::sub_seed(seed, "recover_after_crash.workload"));
  std::vector<std::uint64_t> ids{0};
  std::uint64_t next_id = 1, ops = 0;
  for (; ops < 60000 && h.mode() == PoolMode::write && !h.failed(); ++ops) {
    const auto dice = rng.below(100);
    const std::uint64_t id = ids[rng.below(ids.size())];
    if (dice < 2 && ids.size() < 8) {
      if (h.snapshot(next_id, id)) ids.push_back(next_id);
      ++next_id;
    } else if (dice < 3 && ids.size() > 1) {
      const std::size_t k = rng.below(ids.size());
      if (h.delete_thin(ids[k])) ids.erase(ids.begin() + static_cast<long>(k));
    } else {
      (void)h.write(id, rng.below(20000));  // provisions, or breaks sharing with a snapshot
    }
    if (ops % 50 == 49) (void)h.commit();
  }
  if (h.mode() == PoolMode::write) h.fail(fmt::format("metadata never ran out in {} operations", ops));
  const sim::PowerCutPolicy policy = sim::kSectorAtomicPowerCutPolicies[rng.below(sim::kSectorAtomicPowerCutPolicies.size())];
  h.power_cut(policy);  // "crash the machine now": reopen, compare with the last commit, check
  // thin_dump must succeed on what the crash left.
  {
    sim::ImageDevice image(h.disk().current());
    std::ostringstream xml;
    if (Status s = thin::dump_xml(image, {}, xml); !s) h.fail(fmt::format("dump after the crash: {}", s.error().to_string()));
  }
  if (!h.failed()) {
    if (h.needs_check()) h.repair();
    thin::PoolTable t = h.table();
    t.metadata_blocks = 2048;
    if (Status s = h.reload(t); !s) h.fail(fmt::format("grow metadata after the crash: {}", s.error().to_string()));
    expect_mode(h, h.mode() == PoolMode::write, "after the crash and a metadata grow the pool must be rw");
    if (Status s = h.write(ids.front(), 30000); !s) h.fail(fmt::format("provisioning after recovery: {}", s.error().to_string()));
    h.teardown_and_reopen("the recovered pool");
  }
  return h.outcome(fmt::format("metadata full after {} operations, {} thins, power cut ({})", ops, ids.size(),
                               sim::to_string(policy)));
}

}  // namespace

std::vector<Scenario> dmtest_scenarios() {
  auto ro = [](RoCase c, const char* name) {
    return [c, name](std::uint64_t seed, const RunOptions& o, std::ostream&) { return read_only_case(c, name, seed, o); };
  };
  return {
      {"resize_no_io", "dmtest MetadataResizeTests#resize_no_io (and _with_extra_checking on odd seeds): an idle pool's "
       "metadata device grows 256 -> 420864 blocks in seven steps, adding 1, 8 and 16 bitmaps at once; each total is "
       "seen, the checker and thin_check pass.", {}, {}, &resize_no_io, {}, {}},
      {"resize_with_io", "dmtest resize_with_io: thin 0 is provisioned block by block while the metadata device grows "
       "256 -> 512 at a seeded point; every write succeeds and the total doubles.",
       {"thin.resize_metadata", "sm.metadata_extend", "sm.ll_extend", "sm.bootstrap_alloc", "sm.extend_commit_loop_again"},
       {}, &resize_with_io, {}, {}},
      {"resize_after_exhaust", "dmtest resize_after_exhaust: a 128-block metadata device runs out while thin 0 is "
       "provisioned; the pool goes read-only; after re-activation and a grow to 7808 blocks it is rw again and "
       "provisioning completes.", {}, {}, &resize_after_exhaust, {}, {}},
      {"exhausting_metadata_space_aborts_to_ro_mode", "dmtest: a 64-block metadata device runs out; the pool is "
       "read-only, and still read-only after it is torn down and activated again.", {}, {},
       &exhausting_metadata_space_aborts_to_ro_mode, {}, {}},
      {"thin_remove_works_after_resize", "dmtest thin_remove_works_after_resize (the report behind bug (c)): after the "
       "metadata grows 512 -> 65536 blocks, two deletes both succeed and the pool stays rw; counts exact.", {}, {},
       &thin_remove_works_after_resize, {}, {}},
      {"commit_failure_sets_needs_check", "dmtest NeedsCheckTests: every metadata block but the superblock fails; the "
       "commit fails, the pool goes ro (or fails), needs_check reaches the superblock, the committed mapping survives and "
       "the pool comes back read-only.", {}, {}, &commit_failure_sets_needs_check, {}, {}},
      {"cant_provision_new_blocks", "dmtest ReadOnlyTests: with the read_only feature, writes to unprovisioned blocks "
       "fail and rewrites of mapped blocks succeed.", {}, {}, ro(RoCase::provision, "cant_provision_new_blocks"), {}, {}},
      {"cant_create_new_thins", "dmtest ReadOnlyTests: create_thin is refused by a read-only pool.", {}, {},
       ro(RoCase::create, "cant_create_new_thins"), {}, {}},
      {"cant_delete_thins", "dmtest ReadOnlyTests: delete is refused by a read-only pool.", {}, {},
       ro(RoCase::remove, "cant_delete_thins"), {}, {}},
      {"can_read_unprovisioned_regions", "dmtest ReadOnlyTests: reads of holes return zeros (unmapped) in a read-only "
       "pool.", {}, {}, ro(RoCase::read_holes, "can_read_unprovisioned_regions"), {}, {}},
      {"recover_after_crash", "dmtest MetadataExhaustionTests#recover_after_crash: random snapshots, deletes, "
       "provisioning and breaking of sharing until a 96-block metadata device is full, then a power cut under a seeded "
       "policy; the image is the last commit, checks clean, dumps, and after a metadata grow the pool is rw again.",
       {}, {}, &recover_after_crash, {}, {}},
      {"out_of_data_space_resize", "dmtest PoolResizeWhenOutOfSpaceTests: a 512-block pool fills, goes "
       "out_of_data_space (reads of mapped blocks still work), is resized to 2048 and returns to write mode; the rest "
       "provisions.", {}, {}, &out_of_data_space_resize, {}, {}},
  };
}

}  // namespace pdsim::scenarios
