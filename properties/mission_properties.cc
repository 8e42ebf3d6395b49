// SPDX-License-Identifier: GPL-2.0-or-later
// The three mission properties of issue 6 (RapidCheck), each run twice: with every seed-bug
// switch off it must hold; with its bugs on it must find a counterexample, which is printed with
// the RapidCheck seed that replays it and the `pdsim run` command of the matching regression
// scenario.
//
//   * rollback atomicity (bugs a, h): a workload on a small pool, one fault (a failed write or
//     flush during a commit, or none) and a power cut with any sector-atomic policy; afterwards
//     the durable pool is exactly the last committed transaction (or the attempted one, intact,
//     when its superblock became durable) and the checker finds nothing;
//   * non-negative reference counts under FIFO recursion (bugs b, g): overflow-btree removals
//     that rebalance and merge (the seed (b) workload with generated sizes and orders), and
//     random inc / dec / commit with decrements of free blocks that must be rejected (the seed
//     (g) workload with generated steps); no decrement goes below zero, every count is the model's;
//   * correct extend (bugs c, d, e): metadata extends of generated sizes, across bitmap
//     boundaries or not, from a full device or not, interleaved with mappings, commits and power
//     cuts; afterwards the checker is clean (no count-0 block in use, no leak), the size is right,
//     and new mappings fit.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <sstream>

#include <fmt/format.h>

#include "core/sm/sm_format.h"
#include "scenarios/seeds/seed_common.h"
#include "scenarios/seeds/seeds.h"

namespace pdsim {
namespace {

using scenarios::seeds::PoolRig;

// Runs `prop` with fixed parameters (a fixed seed: the run is reproducible); returns the failure
// message, empty when the property held.
template <typename Prop>
std::string run_property(const std::string& name, Prop prop, int max_success) {
  rc::detail::TestParams params;
  params.seed = 0x5eed;
  params.maxSuccess = max_success;
  params.maxSize = 100;
  rc::detail::TestMetadata meta;
  meta.id = name;
  meta.description = name;
  const auto result = rc::detail::checkTestable(prop, meta, params);
  if (result.template is<rc::detail::SuccessResult>()) return {};
  std::ostringstream os;
  rc::detail::printResultMessage(result, os);
  return os.str();
}

void expect_counterexample(const std::string& name, const std::string& failure, const std::string& scenario, Bug bug) {
  ASSERT_FALSE(failure.empty()) << name << " found no counterexample with " << bug_info(bug).name << " on";
  std::cout << name << " with " << bug_info(bug).name << ": counterexample found\n"
            << failure << "\n  reproduce: RC_PARAMS=\"seed=" << 0x5eed << "\" with this test (fixed seed)"
            << "\n  regression: ./pdsim run " << scenario << " --seed 1 --bug " << bug_info(bug).name << "\n";
}

// ---------- rollback atomicity ----------

struct AtomicityCase {
  BlockNr meta_blocks;
  std::uint64_t before, during;
  int fault;  // 0 none, 1 write error, 2 flush error
  std::uint64_t nth;
  std::size_t policy;
  std::uint64_t seed;
};

std::string atomicity_case(const AtomicityCase& c) {
  PoolRig rig(c.meta_blocks, c.meta_blocks, c.seed);
  sim::Rng rng(c.seed);
  if (Status s = rig.format(60000); !s) return {};  // too small to format: nothing to check
  for (std::uint64_t done = 0; done < c.before; done += 400) {
    Status s = rig.map_some(rng, std::min<std::uint64_t>(400, c.before - done));
    if (s) s = rig.commit();
    if (!s) {
      if (Status a = rig.abort(); !a) return "abort: " + a.error().to_string();
      break;
    }
  }
  const auto committed = rig.committed;
  Status s = rig.map_some(rng, c.during);
  auto attempted = rig.mappings;
  if (s) {
    const std::uint64_t w = c.fault == 2 ? rig.disk.counters().flushes + c.nth : rig.disk.counters().writes + c.nth;
    auto plan = sim::FaultPlan::parse(c.fault == 0   ? std::string("none")
                                      : c.fault == 1 ? fmt::format("write ops={}-{} blocks=1- -> error", w, w)
                                                     : fmt::format("flush ops={}-{} -> error", w, w));
    if (!plan) return plan.error().to_string();
    rig.disk.set_plan(*plan);
    s = rig.md->commit();
    rig.disk.set_plan(sim::FaultPlan{});
  }
  if (!s) (void)rig.md->abort();
  rig.md.reset();
  rig.disk.power_cut(sim::kSectorAtomicPowerCutPolicies[c.policy % sim::kSectorAtomicPowerCutPolicies.size()]);
  auto problems = scenarios::seeds::check_thin_image(rig.disk.durable());
  if (!problems.empty()) return "checker after recovery: " + scenarios::seeds::summarize(problems);
  auto md = thin::PoolMetadata::open(rig.view, 128);
  if (!md) return "reopen: " + md.error().to_string();
  rig.md = std::move(md).value();
  rig.mappings = committed;
  std::string diff = rig.compare();
  if (diff.empty()) return {};
  rig.mappings = attempted;
  if (rig.compare().empty()) return {};  // the attempted transaction's superblock became durable, intact
  return "the durable pool is neither the last commit nor the attempted one: " + diff;
}

auto atomicity_property() {
  return [] {
    AtomicityCase c;
    c.meta_blocks = *rc::gen::inRange<BlockNr>(40, 400);
    c.before = *rc::gen::inRange<std::uint64_t>(0, 30000);
    c.during = *rc::gen::inRange<std::uint64_t>(1, 3000);
    c.fault = *rc::gen::inRange(0, 3);
    c.nth = *rc::gen::inRange<std::uint64_t>(1, 8);
    c.policy = *rc::gen::inRange<std::size_t>(0, 6);
    c.seed = c.meta_blocks + c.during;  // derived, not generated: fewer dimensions to shrink
    const std::string failure = atomicity_case(c);
    RC_ASSERT(failure == std::string());
  };
}

TEST(MissionRollbackAtomicity, HoldsWithEverySwitchOff) {
  ScopedBugs off({});
  const std::string f = run_property("rollback atomicity", atomicity_property(), 25);
  EXPECT_TRUE(f.empty()) << f;
}

TEST(MissionRollbackAtomicity, FindsSeedBugA) {
  ScopedBugs on({Bug::a});
  expect_counterexample("rollback atomicity", run_property("rollback atomicity", atomicity_property(), 100),
                        "seed_a_nonatomic_commit_superblock_after_failed_flush", Bug::a);
}

TEST(MissionRollbackAtomicity, FindsSeedBugH) {
  ScopedBugs on({Bug::h});
  expect_counterexample("rollback atomicity", run_property("rollback atomicity", atomicity_property(), 100),
                        "seed_h_ignore_alloc_error_live_metadata_overwritten", Bug::h);
}

// ---------- non-negative reference counts under FIFO recursion ----------

auto refcount_property() {
  return [] {
    const auto all = scenarios::seed_scenarios();
    std::ostringstream trace;
    // The overflow-btree workload: n blocks at count 3, decremented in a generated order.
    const auto n = *rc::gen::inRange<std::uint64_t>(337, 800);
    const auto stride = *rc::gen::inRange<std::uint64_t>(1, 4);
    const auto first = *rc::gen::inRange<std::uint64_t>(0, n);
    scenarios::Steps merge{fmt::format("count3 {}", n)};
    for (std::uint64_t k = 0; k < n; ++k) merge.push_back(fmt::format("dec {}", (first + k * stride) % n));
    const auto a = all[1].replay(1, merge, scenarios::RunOptions{}, trace);
    RC_ASSERT(a.failures == std::vector<std::string>());
    // Random inc / dec / commit; decrements of free blocks must be rejected.
    const auto ops = *rc::gen::container<std::vector<std::pair<int, int>>>(
        rc::gen::pair(rc::gen::inRange(0, 3), rc::gen::inRange(0, 24)));
    scenarios::Steps random;
    for (const auto& [kind, i] : ops)
      random.push_back(kind == 0 ? fmt::format("inc {}", i) : kind == 1 ? fmt::format("dec {}", i) : std::string("commit"));
    const auto b = all[6].replay(1, random, scenarios::RunOptions{}, trace);
    RC_ASSERT(b.failures == std::vector<std::string>());
  };
}

TEST(MissionNonNegativeRefcounts, HoldsWithEverySwitchOff) {
  ScopedBugs off({});
  const std::string f = run_property("non-negative refcounts", refcount_property(), 6);
  EXPECT_TRUE(f.empty()) << f;
}

TEST(MissionNonNegativeRefcounts, FindsSeedBugB) {
  ScopedBugs on({Bug::b});
  expect_counterexample("non-negative refcounts", run_property("non-negative refcounts", refcount_property(), 20),
                        "seed_b_lifo_queue_refcount_below_zero", Bug::b);
}

TEST(MissionNonNegativeRefcounts, FindsSeedBugG) {
  ScopedBugs on({Bug::g});
  expect_counterexample("non-negative refcounts", run_property("non-negative refcounts", refcount_property(), 20),
                        "seed_g_dec_wraps_free_block_count_4294967295", Bug::g);
}

// ---------- correct extend ----------

struct ExtendCase {
  BlockNr old_size;
  std::vector<BlockNr> extra;
  bool fill_up;
  std::uint64_t work;
  bool power_cut;
  std::uint64_t seed;
};

std::string extend_case(const ExtendCase& c) {
  BlockNr size = c.old_size;
  BlockNr max = size;
  for (BlockNr e : c.extra) max += e;
  PoolRig rig(size, max, c.seed);
  sim::Rng rng(c.seed);
  if (Status s = rig.format(200000); !s) return {};
  Status s;
  do {
    s = rig.map_some(rng, c.work);
    if (s) s = rig.commit();
  } while (s && c.fill_up);
  if (!s && s.error().kind() != ErrorKind::no_space) return "workload: " + s.error().to_string();
  if (!s) {
    if (Status a = rig.abort(); !a) return "abort: " + a.error().to_string();
  }
  for (BlockNr e : c.extra) {
    size += e;
    s = rig.extend(size);
    if (s) s = rig.commit();
    if (!s) return fmt::format("extend to {} blocks and commit: {}", size, s.error().to_string());
    auto nr = rig.md->metadata_nr_blocks();
    if (!nr || *nr != size) return fmt::format("space map has {} blocks after extending to {}", nr ? *nr : 0, size);
    if (auto problems = rig.check(); !problems.empty())
      return fmt::format("checker after extending to {}: {}", size, scenarios::seeds::summarize(problems));
    s = rig.map_some(rng, c.work);
    if (s) s = rig.commit();
    if (!s) return fmt::format("new mappings after extending to {} blocks: {}", size, s.error().to_string());
    if (c.power_cut) {
      rig.md.reset();
      rig.disk.power_cut(sim::PowerCutPolicy::subset);
      auto md = thin::PoolMetadata::open(rig.view, 128);
      if (!md) return "reopen: " + md.error().to_string();
      rig.md = std::move(md).value();
    }
    if (auto problems = rig.check(); !problems.empty())
      return fmt::format("checker after work at {} blocks: {}", size, scenarios::seeds::summarize(problems));
  }
  if (std::string diff = rig.compare(); !diff.empty()) return diff;
  return {};
}

auto extend_property() {
  return [] {
    ExtendCase c;
    c.fill_up = *rc::gen::inRange(0, 4) == 0;
    c.old_size = c.fill_up ? *rc::gen::inRange<BlockNr>(60, 120) : *rc::gen::inRange<BlockNr>(60, 20000);
    c.extra = *rc::gen::container<std::vector<BlockNr>>(
        rc::gen::oneOf(rc::gen::inRange<BlockNr>(1, 2000), rc::gen::inRange<BlockNr>(sm::kEntriesPerBitmap, 2 * sm::kEntriesPerBitmap)));
    if (c.extra.size() > 2) c.extra.resize(2);
    c.work = *rc::gen::inRange<std::uint64_t>(1, 300);
    c.power_cut = *rc::gen::arbitrary<bool>();
    c.seed = c.old_size + c.work;  // derived, not generated: fewer dimensions to shrink
    const std::string failure = extend_case(c);
    RC_ASSERT(failure == std::string());
  };
}

TEST(MissionCorrectExtend, HoldsWithEverySwitchOff) {
  ScopedBugs off({});
  const std::string f = run_property("correct extend", extend_property(), 25);
  EXPECT_TRUE(f.empty()) << f;
}

TEST(MissionCorrectExtend, FindsSeedBugC) {
  ScopedBugs on({Bug::c});
  expect_counterexample("correct extend", run_property("correct extend", extend_property(), 100),
                        "seed_c_extend_single_commit_blocks_left_at_count_zero", Bug::c);
}

TEST(MissionCorrectExtend, FindsSeedBugD) {
  ScopedBugs on({Bug::d});
  expect_counterexample("correct extend", run_property("correct extend", extend_property(), 100),
                        "seed_d_extend_commit_outside_bootstrap_no_space_after_resize", Bug::d);
}

TEST(MissionCorrectExtend, FindsSeedBugE) {
  ScopedBugs on({Bug::e});
  expect_counterexample("correct extend", run_property("correct extend", extend_property(), 100),
                        "seed_e_nr_blocks_after_loop_extend_no_space", Bug::e);
}

}  // namespace
}  // namespace pdsim
