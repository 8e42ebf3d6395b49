// SPDX-License-Identifier: GPL-2.0-or-later
#include "scenarios/engine/sim_selftest.h"

#include <map>
#include <optional>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "core/block/block_manager.h"
#include "core/block/checksum.h"
#include "core/common/assert.h"
#include "core/common/endian.h"
#include "scenarios/harness/failures.h"
#include "sim/crash_states.h"
#include "sim/sim_disk.h"

namespace pdsim::scenarios {
namespace {

using sim::FaultAction;
using sim::PowerCutPolicy;
using sim::Rng;
using sim::SimDisk;

constexpr BlockNr kDurabilityBlocks = 48;
constexpr std::size_t kDurabilityOps = 240;
constexpr BlockNr kValidatorBlocks = 64;
constexpr std::size_t kValidatorRounds = 12;
constexpr std::uint64_t kCrashStatesBudget = 64;  // per point, beyond which states are sampled


void fill_pattern(Block& b, Rng& rng) { rng.fill(std::span<std::uint8_t>(b)); }

void print_log(std::ostream& out, const sim::WriteLog& log, std::string_view phase) {
  for (std::size_t i = 0; i < log.size(); ++i) fmt::print(out, "  {} #{}: {}\n", phase, i, log.entries()[i].describe());
}

// Phase 1: an independent model of durability (durable map + pending list) against SimDisk,
// through writes, FUA writes, reads, flushes and power cuts of every policy.
struct DurabilityResult {
  std::uint64_t power_cuts = 0;
  std::uint64_t log_digest = 0;
  std::uint64_t image_digest = 0;
};

// The independent model of durability: what a flush made durable, and the writes since.
struct DurabilityModel {
  std::map<BlockNr, Block> durable;                // absent = zeros
  std::vector<std::pair<BlockNr, Block>> pending;  // in write order
};

Block durable_block(SimDisk& disk, BlockNr b) {
  Block out{};
  disk.durable().read(b, BlockSpan(out));
  return out;
}

// A power cut under a random policy, checked block by block against what the policy may keep;
// the model then adopts what the disk kept.
void check_power_cut(std::uint64_t seed, Failures& c, SimDisk& disk, Rng& rng, DurabilityModel& m) {
  auto& durable = m.durable;
  auto& pending = m.pending;
  auto disk_durable = [&](BlockNr b) { return durable_block(disk, b); };
  auto policy = sim::kAllPowerCutPolicies[rng.below(sim::kAllPowerCutPolicies.size())];
  std::map<BlockNr, Block> before = durable;
  auto rep = disk.power_cut(policy);
  c.expect(rep.pending == pending.size(), fmt::format("seed {}: power cut saw {} pending writes, model {}", seed,
                                                      rep.pending, pending.size()));
  c.expect(rep.kept_whole + rep.torn + rep.lost == rep.pending, fmt::format("seed {}: power-cut report does not add up", seed));
  for (BlockNr blk = 0; blk < disk.nr_blocks(); ++blk) {
    Block now = disk_durable(blk);
    auto it = before.find(blk);
    Block old = it == before.end() ? Block{} : it->second;
    std::vector<const Block*> versions;
    for (auto& [pb, data] : pending)
      if (pb == blk) versions.push_back(&data);
    if (versions.empty()) {
      c.expect(now == old, fmt::format("seed {}: power cut ({}) changed block {} that had no pending write", seed,
                                       to_string(policy), blk));
      continue;
    }
    bool is_version = now == old;
    for (auto* v : versions) is_version = is_version || now == *v;
    switch (policy) {
      case PowerCutPolicy::none:
        c.expect(now == old, fmt::format("seed {}: power cut (none) kept a write to block {}", seed, blk));
        break;
      case PowerCutPolicy::all:
        c.expect(now == *versions.back(), fmt::format("seed {}: power cut (all) lost the newest write to block {}", seed, blk));
        break;
      case PowerCutPolicy::prefix:
      case PowerCutPolicy::subset:
      case PowerCutPolicy::reorder:
        c.expect(is_version, fmt::format("seed {}: power cut ({}) left block {} with data never written", seed,
                                         to_string(policy), blk));
        break;
      case PowerCutPolicy::torn:
      case PowerCutPolicy::garbage: break;  // sectors may be mixed or garbage: only untouched blocks are checked
    }
  }
  if (policy == PowerCutPolicy::prefix) {
    // A prefix: once a write is lost, no later write may have landed.
    std::size_t kept = rep.kept_whole;
    std::map<BlockNr, Block> expect = before;
    for (std::size_t i = 0; i < kept; ++i) expect[pending[i].first] = pending[i].second;
    for (BlockNr blk = 0; blk < disk.nr_blocks(); ++blk) {
      auto it = expect.find(blk);
      c.expect(disk_durable(blk) == (it == expect.end() ? Block{} : it->second),
               fmt::format("seed {}: power cut (prefix) of {} writes is not a prefix at block {}", seed, kept, blk));
    }
  }
  // Adopt what the disk kept; the model has no pending writes after a cut.
  durable.clear();
  for (BlockNr blk = 0; blk < disk.nr_blocks(); ++blk) {
    Block now = disk_durable(blk);
    if (now != Block{}) durable[blk] = now;
  }
  pending.clear();
}

DurabilityResult durability_phase(std::uint64_t seed, Failures& c, SimDisk& disk, Rng& rng) {
  DurabilityResult r;
  DurabilityModel m;
  auto& durable = m.durable;
  auto& pending = m.pending;
  auto model_block = [&](BlockNr b) {
    for (auto it = pending.rbegin(); it != pending.rend(); ++it)
      if (it->first == b) return it->second;
    auto d = durable.find(b);
    return d == durable.end() ? Block{} : d->second;
  };
  auto disk_durable = [&](BlockNr b) { return durable_block(disk, b); };
  auto check_durable_equals_model = [&](std::string_view when) {
    for (BlockNr b = 0; b < disk.nr_blocks(); ++b) {
      auto d = durable.find(b);
      Block want = d == durable.end() ? Block{} : d->second;
      c.expect(disk_durable(b) == want, fmt::format("seed {}: durable block {} differs from the model {}", seed, b, when));
    }
  };

  for (std::size_t op = 0; op < kDurabilityOps; ++op) {
    auto dice = rng.below(100);
    BlockNr b = rng.below(disk.nr_blocks());
    if (dice < 55) {
      Block data;
      fill_pattern(data, rng);
      bool fua = rng.chance(1, 8);
      c.expect(disk.write(b, ConstBlockSpan(data), fua ? WriteMode::fua : WriteMode::normal).ok(),
               fmt::format("seed {}: fault-free write failed", seed));
      if (fua) {
        durable[b] = data;
        std::erase_if(pending, [&](const auto& p) { return p.first == b; });
      } else {
        pending.emplace_back(b, data);
      }
    } else if (dice < 75) {
      Block out{};
      c.expect(disk.read(b, BlockSpan(out)).ok(), fmt::format("seed {}: fault-free read failed", seed));
      c.expect(out == model_block(b), fmt::format("seed {}: read of block {} is not the newest write", seed, b));
    } else if (dice < 92) {
      c.expect(disk.flush().ok(), fmt::format("seed {}: fault-free flush failed", seed));
      for (auto& [pb, data] : pending) durable[pb] = data;
      pending.clear();
      check_durable_equals_model("after a flush");
    } else {
      check_power_cut(seed, c, disk, rng, m);
      ++r.power_cuts;
    }
  }
  // The log must rebuild exactly the image the disk holds.
  auto replayed = disk.log().replay(disk.log().size());
  c.expect(replayed.durable.same_content(disk.durable()), fmt::format("seed {}: write-log replay differs from the durable image", seed));
  c.expect(replayed.pending.size() == disk.pending().size(), fmt::format("seed {}: write-log replay pending count differs", seed));
  r.log_digest = disk.log().digest();
  r.image_digest = disk.durable().digest();
  return r;
}

// Phase 2: crash states of the phase-1 log: per-point counts match the combinatorics, and every
// state differs from the durable prefix only in blocks that had pending writes.
struct CrashResult {
  std::uint64_t states = 0;
  std::uint64_t points = 0;
  std::uint64_t sampled_points = 0;
};

CrashResult crash_phase(std::uint64_t seed, Failures& c, const sim::WriteLog& log) {
  sim::CrashStateOptions opts{.max_subset = 2, .torn = true, .max_states_per_point = kCrashStatesBudget, .seed = seed};
  sim::CrashStates states(log, opts);
  std::size_t point = SIZE_MAX;
  std::uint64_t at_point = 0;
  sim::WriteLog::State ref{log.initial(), {}};
  std::size_t applied = 0;
  auto close_point = [&] {
    if (point == SIZE_MAX) return;
    std::uint64_t want = std::min(sim::CrashStates::states_at(ref.pending.size(), opts), kCrashStatesBudget);
    c.expect(at_point == want, fmt::format("seed {}: {} crash states after entry {}, expected {}", seed, at_point, point, want));
  };
  while (auto cs = states.next()) {
    if (cs->after_entries != point) {
      close_point();
      point = cs->after_entries;
      at_point = 0;
      while (applied < point) log.apply(applied++, ref);
    }
    ++at_point;
    std::vector<bool> pending_block(static_cast<std::size_t>(log.initial().nr_blocks()), false);
    for (auto& p : ref.pending) pending_block[static_cast<std::size_t>(p.block)] = true;
    for (BlockNr b = 0; b < log.initial().nr_blocks(); ++b) {
      if (pending_block[static_cast<std::size_t>(b)]) continue;
      Block x{}, y{};
      cs->image.read(b, BlockSpan(x));
      ref.durable.read(b, BlockSpan(y));
      if (x != y) {
        c.expect(false, fmt::format("seed {}: crash state '{}' changed block {} with no pending write", seed, cs->describe(), b));
        break;
      }
    }
  }
  close_point();
  return {states.produced(), states.points(), states.sampled_points()};
}

// Phase 3: a block manager with checksumming validators over a faulty disk. Whatever the faults,
// a block read back after a power cut is either refused (corruption / I/O error) or exactly a
// version that was written to that block: never damaged or misplaced data passed as good. A
// round in which no fault fired must read back exactly.
struct ValidatorResult {
  std::string plan;
  std::uint64_t good = 0, refused = 0, exact_rounds = 0;
  sim::SimDiskCounters counters;
  std::uint64_t log_digest = 0;
};

sim::FaultPlan draw_plan(Rng& rng) {
  std::vector<std::string> menu = {
      fmt::format("write p=1/{} -> flip={}", rng.between(8, 30), rng.between(1, 3)),
      fmt::format("read p=1/{} -> rot={}", rng.between(10, 40), rng.between(1, 3)),
      fmt::format("write p=1/{} -> misdirect={}", rng.between(10, 40), rng.between(1, 5)),
      fmt::format("write p=1/{} -> drop", rng.between(10, 40)),
      fmt::format("any p=1/{} -> error", rng.between(20, 60)),
      fmt::format("flush p=1/{} -> lie", rng.between(4, 12)),
      fmt::format("any flakey={}/{} -> error", rng.between(60, 120), rng.between(2, 8)),
      fmt::format("write blocks={}- -> nospace", rng.between(kValidatorBlocks - 8, kValidatorBlocks - 1)),
  };
  std::string line;
  for (const auto& rule : menu)
    if (rng.chance(1, 3)) line += (line.empty() ? "" : "; ") + rule;
  auto plan = sim::FaultPlan::parse(line);
  PDSIM_ASSERT(plan.ok(), "the self-test's fault plan must parse");
  return std::move(plan).value();
}

ValidatorResult validator_phase(std::uint64_t seed, Failures& c, Rng& rng, std::ostream* trace) {
  ValidatorResult r;
  const HeaderValidator validator("selftest", salt::btree_node, 8);
  sim::FaultPlan plan = draw_plan(rng);
  r.plan = plan.to_string();
  SimDisk disk(kValidatorBlocks, rng.next(), plan);
  std::map<BlockNr, std::vector<Block>> written;  // every version stamped for each block

  for (std::size_t round = 0; round < kValidatorRounds; ++round) {
    auto faults_before = disk.counters().faults_fired();
    std::map<BlockNr, Block> latest;
    bool all_ok = true;
    {
      BlockManager bm(disk, 8);  // small cache: evictions write back under faults too
      auto nblocks = rng.between(1, 12);
      for (std::uint64_t i = 0; i < nblocks; ++i) {
        BlockNr b = rng.below(kValidatorBlocks);
        auto ref = bm.write_lock_zero(b, &validator);
        if (!ref) {
          all_ok = false;
          continue;
        }
        auto data = ref->data();
        store_le<std::uint64_t>(data.data() + 16, seed);
        store_le<std::uint64_t>(data.data() + 24, round);
        rng.fill(data.subspan(32));
        // Record the version exactly as the validator will stamp it at write-back.
        Block v;
        std::copy(data.begin(), data.end(), v.begin());
        validator.prepare_for_write(BlockSpan(v), b);
        written[b].push_back(v);
        latest[b] = v;
        ref->release();
      }
      all_ok = bm.flush().ok() && all_ok;
    }
    disk.power_cut(sim::kAllPowerCutPolicies[rng.below(sim::kAllPowerCutPolicies.size())]);
    // Reopen: a fresh cache reads everything from the disk.
    BlockManager bm(disk, 8);
    bool exact = true;
    for (auto& [b, versions] : written) {
      auto ref = bm.read_lock(b, &validator);
      if (!ref) {
        ++r.refused;
        if (latest.count(b) != 0) exact = false;
        continue;
      }
      Block got;
      std::copy(ref->data().begin(), ref->data().end(), got.begin());
      bool known = false;
      for (auto& v : versions) known = known || v == got;
      c.expect(known, fmt::format("seed {}: block {} passed its validator with data never written there (plan: {})", seed, b,
                                  r.plan));
      ++r.good;
      if (auto it = latest.find(b); it != latest.end() && got != it->second) exact = false;
    }
    bool clean_round = all_ok && disk.counters().faults_fired() == faults_before;
    if (clean_round) {
      c.expect(exact, fmt::format("seed {}: round {} had no fault but did not read back exactly", seed, round));
      ++r.exact_rounds;
    }
  }
  if (trace != nullptr) print_log(*trace, disk.log(), "validators");
  r.counters = disk.counters();
  r.log_digest = disk.log().digest();
  return r;
}

}  // namespace

SeedOutcome run_sim_selftest(std::uint64_t seed, const RunOptions& opts, std::ostream& trace) {
  Failures c({}, 20);
  Rng rng(sim::sub_seed(seed, "sim_selftest"));
  Rng durability_rng = rng.fork();
  Rng validator_rng = rng.fork();

  SimDisk disk(kDurabilityBlocks, durability_rng.next());
  DurabilityResult d = durability_phase(seed, c, disk, durability_rng);
  if (opts.trace) print_log(trace, disk.log(), "durability");
  CrashResult cr = crash_phase(seed, c, disk.log());
  ValidatorResult v = validator_phase(seed, c, validator_rng, opts.trace ? &trace : nullptr);

  SeedOutcome out;
  out.failures = c.lines();
  out.passed = out.failures.empty();
  out.summary = fmt::format(
      "\n  durability    {} ops, {} power cuts, log {:016x}, image {:016x}"
      "\n  crash states  {} at {} points ({} sampled)"
      "\n  validators    plan [{}]: {} good reads, {} refused, {} exact clean rounds"
      "\n  faulty disk   {}, log {:016x}",
      disk.log().size(), d.power_cuts, d.log_digest, d.image_digest, cr.states, cr.points, cr.sampled_points, v.plan,
      v.good, v.refused, v.exact_rounds, v.counters.summary(), v.log_digest);
  return out;
}

}  // namespace pdsim::scenarios
