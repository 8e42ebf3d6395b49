// SPDX-License-Identifier: GPL-2.0-or-later
// Cache metadata under I/O errors and power cuts on the simulated disk: after any fault — an
// aborted transaction or a power cut followed by a reopen — the metadata holds exactly the last
// committed state (or the commit in flight, when its superblock became durable), and the
// independent checker finds it clean.
#include <gtest/gtest.h>

#include <sstream>

#include <fmt/format.h>

#include "core/cache/cache_dump.h"
#include "core/cache/cache_metadata.h"
#include "core/check/cache_input.h"
#include "sim/image.h"
#include "sim/sim_disk.h"
#include "tests/cache_model.h"

namespace pdsim::cache {
namespace {

using testing::CacheModel;

struct FaultRun {
  std::uint32_t version;
  std::uint64_t seed;
  sim::SimDisk disk;
  sim::Rng rng;
  std::unique_ptr<CacheMetadata> md;
  CacheModel committed, current;
  std::optional<CacheModel> previous;  // after a failed commit found durable: the one before it
  std::uint32_t txn = 0;               // stats.write_hits of the committed state
  std::uint64_t errors = 0, power_cuts = 0, commits = 0, in_flight = 0;
  std::vector<std::string> failures;

  FaultRun(std::uint32_t v, std::uint64_t s, const sim::FaultPlan& plan)
      : version(v), seed(s), disk(1024, s, plan), rng(s * 7919 + v) {}

  void fail(std::string what) { failures.push_back(fmt::format("v{} seed {}: {}", version, seed, what)); }

  // What a reader of the device sees now, faults paused.
  std::pair<std::string, std::uint32_t> durable_view() {
    sim::ImageDevice image(disk.current());
    std::ostringstream out;
    Status s = dump_cache_xml(image, out, DumpOptions{true});
    if (!s) return {"dump failed: " + s.error().to_string(), 0};
    auto rep = check::check_cache(image);
    if (!rep) return {"check failed: " + rep.error().to_string(), 0};
    if (!rep->report.problems.empty()) return {"checker: " + check::to_string(rep->report.problems.front()), 0};
    const auto sb = Superblock::unpack(image.image().get(0)->data());
    return {out.str(), sb.stats.write_hits};
  }

  void expect_committed(const std::optional<CacheModel>& attempted) {
    const sim::FaultPlan plan = disk.plan();
    disk.set_plan(sim::FaultPlan{});
    auto [xml, got_txn] = durable_view();
    disk.set_plan(plan);
    if (attempted && got_txn == attempted->stats.write_hits && got_txn == txn + 1) {
      ++in_flight;
      previous = committed;
      committed = *attempted;
      txn = got_txn;
    } else if (previous && got_txn == previous->stats.write_hits && got_txn + 1 == txn) {
      committed = *previous;
      txn = got_txn;
      previous.reset();
    }
    if (xml != committed.xml(false, true)) return fail(fmt::format("after recovery (txn {}): {}", got_txn, xml.substr(0, 200)));
    current = committed;
  }

  void recover(const std::optional<CacheModel>& attempted) {
    ++errors;
    Status s = md->abort();
    if (!s) {
      disk.set_plan(sim::FaultPlan{});  // the plan is still active: retry clean (and stay clean)
      s = md->abort();
    }
    if (!s) return fail("abort: " + s.error().to_string());
    expect_committed(attempted);
  }

  void power_cut() {
    const auto policy = sim::kSectorAtomicPowerCutPolicies[rng.below(sim::kSectorAtomicPowerCutPolicies.size())];
    disk.power_cut(policy);
    ++power_cuts;
    md.reset();
    const sim::FaultPlan plan = disk.plan();
    disk.set_plan(sim::FaultPlan{});
    auto reopened = CacheMetadata::open(disk, 128);
    disk.set_plan(plan);
    if (!reopened) return fail(fmt::format("reopen after a power cut ({}): {}", sim::to_string(policy), reopened.error().to_string()));
    md = std::move(reopened).value();
    expect_committed(std::nullopt);
  }

  void step() {
    const auto dice = rng.below(100);
    if (dice < 10) {
      CacheModel attempted = current;
      attempted.stats.write_hits = txn + 1;
      md->set_stats(attempted.stats);
      Status s = md->commit(rng.chance(1, 2));
      if (!s) return recover(attempted);
      ++commits;
      previous.reset();
      committed = current = attempted;
      txn = attempted.stats.write_hits;
      return;
    }
    if (dice < 14) return power_cut();
    Status s = testing::random_op(*md, current, rng);
    if (!s) recover(std::nullopt);
  }
};

class CacheFaults : public ::testing::TestWithParam<std::uint32_t> {};

TEST_P(CacheFaults, RollBackToTheLastCommit) {
  const char* plans[] = {"any p=1/120 -> error", "write p=1/60 -> error; flush p=1/8 -> error", "read p=1/80 -> error"};
  std::uint64_t commits = 0, errors = 0, cuts = 0;
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    auto plan = sim::FaultPlan::parse(plans[seed % 3]);
    ASSERT_TRUE(plan.ok());
    FaultRun run(GetParam(), seed, sim::FaultPlan{});
    auto md = CacheMetadata::format(run.disk, 128, GetParam());
    ASSERT_TRUE(md.ok()) << md.error().to_string();
    run.md = std::move(md).value();
    run.committed.version = run.current.version = GetParam();
    run.disk.set_plan(*plan);
    for (int i = 0; i < 300 && run.failures.empty(); ++i) run.step();
    ASSERT_TRUE(run.failures.empty()) << run.failures.front() << " (plan " << plans[seed % 3] << ")";
    commits += run.commits;
    errors += run.errors;
    cuts += run.power_cuts;
  }
  // The faults really happened: otherwise this test proves nothing.
  EXPECT_GT(commits, 50u);
  EXPECT_GT(errors, 20u);
  EXPECT_GT(cuts, 50u);
}

INSTANTIATE_TEST_SUITE_P(V, CacheFaults, ::testing::Values(1u, 2u));

}  // namespace
}  // namespace pdsim::cache
