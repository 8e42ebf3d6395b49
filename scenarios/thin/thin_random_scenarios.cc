// SPDX-License-Identifier: GPL-2.0-or-later
// Random thin-pool workloads: snapshot storms, discard storms and the swarm (each seed draws its
// own operation mix and fault plan), as step lists (scenarios/thin/thin_steps.h).

#include <fmt/format.h>

#include "scenarios/thin/thin_steps.h"
#include "scenarios/thin/thin_scenarios.h"
#include "sim/rng.h"

namespace pdsim::scenarios {
namespace {

struct Mix {
  // Weights out of their sum.
  std::uint64_t write = 40, read = 10, discard = 4, snap = 4, del = 2, create = 2, commit = 8, cut = 2, reopen = 1;
  std::uint64_t plan_every = 0;  // 0: no faults; else a new fault plan about every N steps
  std::uint64_t vblocks = 600;
  std::uint64_t steps = 300;
  bool corrupting = false;  // plans that flip bits and misdirect writes instead of failing I/O
};

// Bit flips on write and rot on read: what checksums exist to catch. Misdirected writes are left
// to the block-level self-test (sim_selftest: a block never passes with another block's data):
// at the pool level a misdirected write is also a *lost* write at its target, which can leave an
// older, self-consistent version of that block in place, and the on-disk format (checksum and
// block number, no transaction stamp) cannot tell that version from the current one — in the
// kernel either.
std::string corrupting_plan(sim::Rng& rng) {
  switch (rng.below(3)) {
    case 0: return fmt::format("write p=1/{} -> flip=1", rng.between(3, 30));
    case 1: return fmt::format("read p=1/{} -> rot=2", rng.between(3, 30));
    default: return fmt::format("write p=1/{} -> flip=3; read p=1/{} -> rot=1", rng.between(3, 30), rng.between(3, 30));
  }
}

Steps generate_steps(std::uint64_t seed, const Mix& mix) {
  sim::Rng rng(sim::sub_seed(seed, "storm.steps"));
  Steps out;
  std::vector<std::uint64_t> ids;
  std::uint64_t next_id = 0;
  out.push_back("create 0");
  ids.push_back(next_id++);
  const std::uint64_t total = mix.write + mix.read + mix.discard + mix.snap + mix.del + mix.create + mix.commit + mix.cut + mix.reopen;
  for (std::uint64_t i = 0; i < mix.steps; ++i) {
    if (mix.plan_every != 0 && rng.below(mix.plan_every) == 0)
      out.push_back("plan " + (mix.corrupting ? corrupting_plan(rng) : random_fault_plan(rng)));
    std::uint64_t d = rng.below(total);
    const std::uint64_t id = ids.empty() ? 0 : ids[rng.below(ids.size())];
    const std::uint64_t v = rng.below(mix.vblocks);
    if (d < mix.write) { out.push_back(fmt::format("write {} {}", id, v)); continue; }
    d -= mix.write;
    if (d < mix.read) { out.push_back(fmt::format("read {} {}", id, v)); continue; }
    d -= mix.read;
    if (d < mix.discard) { out.push_back(fmt::format("discard {} {} {}", id, v, v + rng.between(1, 64))); continue; }
    d -= mix.discard;
    if (d < mix.snap) {
      out.push_back(fmt::format("snap {} {}", next_id, id));
      ids.push_back(next_id++);
      continue;
    }
    d -= mix.snap;
    if (d < mix.del) {
      if (ids.size() > 1) {
        const std::size_t k = rng.below(ids.size());
        out.push_back(fmt::format("delete {}", ids[k]));
        ids.erase(ids.begin() + static_cast<long>(k));
      }
      continue;
    }
    d -= mix.del;
    if (d < mix.create) {
      out.push_back(fmt::format("create {}", next_id));
      ids.push_back(next_id++);
      continue;
    }
    d -= mix.create;
    if (d < mix.commit) { out.push_back("commit"); continue; }
    d -= mix.commit;
    if (d < mix.cut) {
      out.push_back(fmt::format("cut {}", sim::to_string(sim::kSectorAtomicPowerCutPolicies[rng.below(sim::kSectorAtomicPowerCutPolicies.size())])));
      continue;
    }
    out.push_back("reopen");
  }
  out.push_back("reopen");
  return out;
}

Scenario random_scenario(const char* name, const char* description, Mix mix, HarnessConfig cfg, bool swarm) {
  auto gen = [mix, swarm](std::uint64_t seed) {
    Mix m = mix;
    if (swarm) {
      // Each seed draws its own operation mix and fault rates.
      sim::Rng rng(sim::sub_seed(seed, "swarm.mix"));
      m.write = rng.between(5, 60);
      m.read = rng.between(0, 20);
      m.discard = rng.between(0, 10);
      m.snap = rng.between(0, 8);
      m.del = rng.between(0, 4);
      m.create = rng.between(0, 4);
      m.commit = rng.between(1, 15);
      m.cut = rng.between(0, 4);
      m.reopen = rng.between(0, 2);
      m.plan_every = rng.between(5, 80);
      m.vblocks = rng.between(50, 2000);
    }
    return generate_steps(seed, m);
  };
  return thin_step_scenario(name, description, gen, cfg);
}

}  // namespace

std::vector<Scenario> thin_random_scenarios() {
  std::vector<Scenario> out;
  Mix storm;
  storm.snap = 20;
  storm.del = 8;
  storm.write = 50;
  out.push_back(random_scenario(
      "snapshot_storm",
      "Snapshots of snapshots, writes that break sharing, deletes and commits, with power cuts under every "
      "sector-atomic policy: after each cut the pool is exactly the last commit, the checker (data-block counts "
      "included) is clean and writes never reach a block reachable from the committed superblock.",
      storm, {.metadata_blocks = 2048, .data_blocks = 8192}, false));
  out.back().required_marks = {"thin.snapshot", "btree.shadow_inc_children"};
  Mix discard;
  discard.discard = 30;
  discard.write = 50;
  out.push_back(random_scenario(
      "discard_storm",
      "Writes and range discards (remove_leaves over many leaves) with commits and power cuts: rollback exact, "
      "freed data blocks reusable, counts exact.",
      discard, {.metadata_blocks = 2048, .data_blocks = 4096}, false));
  out.back().required_marks = {"btree.remove_leaves"};
  Mix faults;
  faults.plan_every = 25;
  out.push_back(random_scenario(
      "thin_faults",
      "A mixed thin workload under I/O errors (reads, writes, flushes) and transient read corruption, with a 32-block "
      "metadata cache (dirty blocks are evicted, and their write errors must fail the next flush): every error "
      "aborts to the last commit or to the commit whose superblock became durable, never a mix, and a corrupted "
      "read is an error, never data.",
      faults, {.metadata_blocks = 2048, .data_blocks = 8192, .cache_blocks = 16}, false));
  Mix corrupt;
  corrupt.plan_every = 30;
  corrupt.corrupting = true;
  corrupt.cut = 4;
  corrupt.reopen = 4;  // fresh block caches read what the disk really holds
  out.push_back(random_scenario(
      "thin_corruption",
      "Faults that corrupt what is stored: bit flips on write and rotten reads. No engine can roll "
      "back destroyed committed metadata, so the rule is that corruption is detected — a validator error, a refused "
      "open, a checker problem — and never returned as data: every read that succeeds equals the model.",
      corrupt, {.metadata_blocks = 2048, .data_blocks = 8192, .corruption_faults = true}, false));
  out.push_back(random_scenario(
      "thin_swarm",
      "Swarm: each seed draws its own operation mix, fault kinds and rates, and power-cut policies, over the thin "
      "pool; all the thin checks apply. Failing seeds shrink to a short replayable step list.",
      Mix{}, {.metadata_blocks = 2048, .data_blocks = 8192}, true));
  return out;
}

}  // namespace pdsim::scenarios
