// SPDX-License-Identifier: GPL-2.0-or-later
#include "scenarios/engine/engine_rollback.h"

#include <fmt/format.h>

#include "scenarios/harness/engine_store.h"
#include "scenarios/harness/failures.h"
#include "sim/sim_disk.h"

namespace pdsim::scenarios {
namespace {

constexpr BlockNr kMetadataBlocks = 3000;
constexpr BlockNr kDataBlocks = 20000;

struct FaultRun {
  Failures failures;
  bool failed() const { return !failures.empty(); }
  std::uint64_t seed;
  sim::SimDisk disk;
  sim::Rng rng;
  std::unique_ptr<EngineStore> store;
  StoreContents committed;
  StoreContents current;
  // After a commit whose final flush failed but whose superblock we read back, the disk may still
  // hold the previous transaction: a power cut may legitimately return to it.
  std::optional<StoreContents> previous;
  std::uint64_t errors = 0, power_cuts = 0, commits = 0, durable_in_flight = 0, checks = 0;

  explicit FaultRun(std::uint64_t s)
      : failures(fmt::format("seed {}: ", s)), seed(s), disk(kMetadataBlocks, sim::sub_seed(s, "disk")), rng(sim::sub_seed(s, "engine_rollback.workload")) {}

  void fail(std::string what) { failures.add(std::move(what)); }

  // After an error: abort, and accept the in-flight commit only if its superblock is what we read.
  void recover(const StoreContents& attempted) {
    Status s = store->abort();
    if (!s) {
      // Reading the committed state back failed too (the fault plan is still active): retry clean.
      disk.set_plan(sim::FaultPlan{});
      s = store->abort();
    }
    if (!s) return fail(s.error().to_string());
    expect_committed(attempted);
  }

  void expect_committed(const StoreContents& attempted) {
    // Read back with the faults paused: this is the check, not the workload.
    auto c = [&] {
      sim::PausedPlan paused(disk);
      return store->contents();
    }();
    if (!c) return fail(c.error().to_string());
    if (c->txn == committed.txn + 1 && attempted.txn == committed.txn + 1) {
      ++durable_in_flight;
      previous = committed;
      committed = attempted;
    } else if (previous && c->txn == previous->txn && c->txn + 1 == committed.txn) {
      committed = *previous;
      previous.reset();
    }
    if (c->txn != committed.txn)
      return fail(fmt::format("transaction {} after recovery, expected {}", c->txn, committed.txn));
    expect_clean_check("after recovery");
    if (!(*c == committed)) return fail(fmt::format("contents after recovery differ from transaction {}", committed.txn));
    current = committed;
  }

  // The independent checker on what a reader of the device sees now.
  void expect_clean_check(std::string_view when) {
    sim::ImageDevice image(disk.current());
    auto problems = check_store_image(image);
    if (!problems) return fail(problems.error().to_string());
    if (!problems->empty()) {
      std::string all;
      for (const auto& p : *problems) all += "; " + p;
      return fail(fmt::format("checker {}: {} problems{}", when, problems->size(), all));
    }
    ++checks;
  }

  std::uint64_t pick(const std::map<std::uint64_t, std::uint64_t>& m) {
    auto it = m.begin();
    std::advance(it, static_cast<long>(rng.below(m.size())));
    return it->first;
  }

  void step() {
    StoreContents next = current;
    Status s;
    const auto dice = rng.below(100);
    if (dice < 30) {
      std::uint64_t k = rng.below(5000), v = rng.next();
      s = store->insert(k, v);
      next.map[k] = v;
    } else if (dice < 40 && !current.map.empty()) {
      std::uint64_t k = pick(current.map);
      s = store->remove(k);
      next.map.erase(k);
    } else if (dice < 70) {
      std::uint64_t vol = rng.below(4), vb = rng.below(3000);
      auto b = store->map_block(vol, vb);
      if (b) next.volumes[vol][vb] = *b;
      else s = b.error();
    } else if (dice < 78 && !current.volumes.empty()) {
      auto vit = current.volumes.begin();
      std::advance(vit, static_cast<long>(rng.below(current.volumes.size())));
      if (vit->second.empty()) return;
      std::uint64_t vb = pick(vit->second);
      s = store->unmap_block(vit->first, vb);
      next.volumes[vit->first].erase(vb);
    } else if (dice < 82 && !current.volumes.empty()) {
      std::uint64_t origin = current.volumes.begin()->first;
      std::uint64_t snap = 10 + rng.below(6);
      if (current.volumes.count(snap)) return;
      s = store->snapshot(origin, snap);
      next.volumes[snap] = current.volumes[origin];
    } else if (dice < 85 && current.volumes.size() > 1) {
      std::uint64_t vol = std::prev(current.volumes.end())->first;
      s = store->delete_volume(vol);
      next.volumes.erase(vol);
    } else if (dice < 95) {
      next.txn = current.txn + 1;
      s = store->commit();
      if (s) {
        ++commits;
        committed = next;
        previous.reset();
        expect_clean_check("after a commit");
      }
    } else {
      const auto policy = sim::kSectorAtomicPowerCutPolicies[rng.below(sim::kSectorAtomicPowerCutPolicies.size())];
      StoreContents attempted = current;
      attempted.txn = committed.txn;  // a power cut commits nothing
      disk.power_cut(policy);
      ++power_cuts;
      {
        sim::PausedPlan paused(disk);
        store.reset();
        auto reopened = EngineStore::open(disk);
        if (!reopened) return fail(fmt::format("reopen after power cut ({}): {}", to_string(policy), reopened.error().to_string()));
        store = std::move(reopened).value();
      }
      expect_committed(attempted);
      return;
    }
    if (!s) {
      ++errors;
      recover(next);
      return;
    }
    current = next;
  }
};

constexpr int kSteps = 400;

}  // namespace

SeedOutcome run_engine_rollback(std::uint64_t seed, const RunOptions& opts, std::ostream& trace) {
  FaultRun run(seed);
  SeedOutcome out;
  auto f = EngineStore::format(run.disk, kDataBlocks);
  if (!f) {
    out.passed = false;
    out.failures.push_back(fmt::format("seed {}: format: {}", seed, f.error().to_string()));
    return out;
  }
  run.store = std::move(f).value();
  auto c = run.store->contents();
  if (!c) {
    out.passed = false;
    out.failures.push_back(fmt::format("seed {}: {}", seed, c.error().to_string()));
    return out;
  }
  run.committed = run.current = *c;
  // Each seed draws its own fault rate and kinds.
  std::string plan = fmt::format("any p=1/{} -> error", run.rng.between(40, 400));
  if (run.rng.chance(1, 2)) plan += fmt::format("; flush p=1/{} -> error", run.rng.between(3, 20));
  auto parsed = sim::FaultPlan::parse(plan);
  if (!parsed) {
    out.passed = false;
    out.failures.push_back(parsed.error().to_string());
    return out;
  }
  run.disk.set_plan(*parsed);
  for (int i = 0; i < kSteps && !run.failed(); ++i) run.step();
  if (opts.trace)
    for (std::size_t i = 0; i < run.disk.log().size(); ++i)
      trace << fmt::format("  engine #{}: {}\n", i, run.disk.log().entries()[i].describe());
  out.failures = run.failures.lines();
  out.passed = out.failures.empty();
  out.summary = fmt::format(
      "\n  engine        plan [{}]: {} commits, {} errors rolled back, {} power cuts, {} in-flight commits found "
      "durable, {} clean checks, txn {}, log {:016x}",
      plan, run.commits, run.errors, run.power_cuts, run.durable_in_flight, run.checks, run.committed.txn,
      run.disk.log().digest());
  return out;
}

}  // namespace pdsim::scenarios
