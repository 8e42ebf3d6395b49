// SPDX-License-Identifier: GPL-2.0-or-later
// dm-cache metadata scenarios: the steps each seed runs (generate) and the scenarios around them.
// Replay is the harness's (scenarios/harness/cache_harness.h), shared by all three.
#include "scenarios/cache/cache_scenarios.h"

#include <map>
#include <optional>

#include <fmt/format.h>

#include "scenarios/harness/cache_harness.h"
#include "sim/rng.h"

namespace pdsim::scenarios {
namespace {

constexpr std::uint64_t kCrashSteps = 800;
constexpr std::uint32_t kMaxCacheBlocks = 4000;
constexpr std::uint64_t kOriginMask = (1u << 20) - 1;

// Odd seeds run version 1, even seeds version 2.
std::uint32_t version_of(std::uint64_t seed) { return seed % 2 == 1 ? 1 : 2; }

// The generator's view of the cache (it ignores faults: the harness skips what no longer applies).
struct Gen {
  explicit Gen(std::uint64_t seed, std::string_view label) : rng(sim::sub_seed(seed, label)), origin_salt(rng.next()) {}
  sim::Rng rng;
  Steps out;
  std::uint32_t blocks = 0;
  std::map<std::uint32_t, bool> mapped;  // cblock -> dirty
  std::uint64_t discards = 0;
  std::uint64_t origins = 0;
  std::uint64_t origin_salt;

  // Distinct for every call (an odd multiplier is a bijection modulo 2^20).
  std::uint64_t new_origin() { return (origins++ * 40503 + origin_salt) & kOriginMask; }
  void resize(std::uint32_t n) {
    bool refused = false;
    for (auto it = mapped.lower_bound(n); it != mapped.end(); ++it) refused = refused || it->second;
    out.push_back(fmt::format("resize {}", n));
    if (refused) return;
    mapped.erase(mapped.lower_bound(n), mapped.end());
    blocks = n;
  }
  void insert(std::uint32_t c) {
    out.push_back(fmt::format("insert {} {}", c, new_origin()));
    mapped[c] = false;
  }
  void dirty(std::uint32_t c, bool d) {
    out.push_back(fmt::format("dirty {} {}", c, d ? 1 : 0));
    mapped[c] = d;
  }
  std::uint32_t some_mapped() {
    auto it = mapped.begin();
    std::advance(it, static_cast<long>(rng.below(mapped.size())));
    return it->first;
  }
  std::string cut() {
    const auto& policies = sim::kSectorAtomicPowerCutPolicies;
    return fmt::format("cut {}", sim::to_string(policies[rng.below(policies.size())]));
  }
  std::string hints() { return fmt::format("hints {} {}", static_cast<std::uint32_t>(rng.next()), rng.chance(1, 2) ? "smq" : "mq"); }
};

std::string crash_plan(sim::Rng& rng) {
  switch (rng.below(6)) {
    case 0: return fmt::format("any p=1/{} -> error", rng.between(30, 150));
    case 1: return fmt::format("write p=1/{} -> error", rng.between(15, 80));
    case 2: return fmt::format("flush p=1/{} -> error", rng.between(2, 8));
    case 3: return fmt::format("write p=1/{} -> error; flush p=1/{} -> error", rng.between(30, 100), rng.between(3, 10));
    case 4: return fmt::format("read p=1/{} -> error", rng.between(5, 40));
    default: return "none";
  }
}

// How big the cache (and so its arrays) grows.
struct CacheSize {
  std::uint32_t initial_min, initial_max, max, grow_max;
};
constexpr CacheSize kCrashSize{200, 3000, kMaxCacheBlocks, 1500};
// Large arrays: hundreds of array blocks (a two-level array btree), grown and shrunk by
// thousands of entries across partial blocks.
constexpr CacheSize kSwarmSize{20000, 120000, 200000, 30000};
constexpr BlockNr kSwarmMetadataBlocks = 8192;

// The random workload: mappings, dirty flags, discards, hints, resizes both ways, commits with
// and without clean shutdown, power cuts under every sector-atomic policy, fault plans.
Steps generate_sized(std::uint64_t seed, const CacheSize& size) {
  Gen g(seed, "cache.steps");
  g.resize(static_cast<std::uint32_t>(g.rng.between(size.initial_min, size.initial_max)));
  for (std::uint64_t i = 0; i < kCrashSteps; ++i) {
    const std::uint64_t d = g.rng.below(100);
    if (d < 4) {
      // A third of the shrinks probe the dirty boundary: to the last dirty block (refused) or
      // just past it (allowed).
      std::optional<std::uint32_t> last_dirty;
      for (const auto& [c, dirty] : g.mapped)
        if (dirty) last_dirty = c;
      const bool grow = g.rng.chance(1, 2) || g.blocks <= 1;
      if (!grow && last_dirty && *last_dirty + 1 < g.blocks && g.rng.chance(1, 3)) {
        g.resize(*last_dirty + static_cast<std::uint32_t>(g.rng.below(2)));
        continue;
      }
      g.resize(grow ? std::min<std::uint32_t>(size.max, g.blocks + static_cast<std::uint32_t>(g.rng.between(1, size.grow_max)))
                    : static_cast<std::uint32_t>(g.rng.between(g.blocks / 2, g.blocks - 1)));
    } else if (d < 40) {
      g.insert(static_cast<std::uint32_t>(g.rng.below(g.blocks)));
    } else if (d < 48 && !g.mapped.empty()) {
      const std::uint32_t c = g.some_mapped();
      g.out.push_back(fmt::format("remove {}", c));
      g.mapped.erase(c);
    } else if (d < 63 && !g.mapped.empty()) {
      g.dirty(g.some_mapped(), g.rng.chance(2, 3));
    } else if (d < 66) {
      g.discards = g.rng.between(1, 700);
      g.out.push_back(fmt::format("discards {}", g.discards));
    } else if (d < 74 && g.discards > 0) {
      // A third of them probe a 64-bit word boundary of the discard bitset (bits 63 and 64 of a word pair).
      std::uint64_t bit = g.rng.below(g.discards);
      if (g.discards > 64 && g.rng.chance(1, 3)) bit = std::min<std::uint64_t>(g.discards - 1, (bit / 64) * 64 + 63 + g.rng.below(2));
      g.out.push_back(fmt::format("discard {} {}", bit, g.rng.chance(2, 3) ? 1 : 0));
    } else if (d < 77) {
      g.out.push_back(g.hints());
    } else if (d < 79) {
      g.out.push_back(fmt::format("stats {} {}", g.rng.below(1u << 30), g.rng.below(1u << 30)));
    } else if (d < 91) {
      g.out.push_back(fmt::format("commit {}", g.rng.chance(1, 3) ? 1 : 0));
    } else if (d < 94) {
      g.out.push_back(g.cut());
    } else {
      g.out.push_back("plan " + crash_plan(g.rng));
    }
  }
  return std::move(g.out);
}

Steps generate_crash(std::uint64_t seed) { return generate_sized(seed, kCrashSize); }
Steps generate_swarm(std::uint64_t seed) { return generate_sized(seed, kSwarmSize); }

// (j): a cache whose size is not a multiple of 509 blocks, its last (partial) mapping-array
// block fully mapped, committed, then grown across a block boundary.
Steps generate_grow(std::uint64_t seed) {
  Gen g(seed, "cache.j.steps");
  std::uint32_t n = static_cast<std::uint32_t>(g.rng.between(100, 2000));
  if (n % kCacheMappingsPerBlock == 0) ++n;
  g.resize(n);
  const std::uint32_t tail = n / kCacheMappingsPerBlock * kCacheMappingsPerBlock;
  for (std::uint32_t c = tail; c < n; ++c) g.insert(c);
  for (std::uint64_t k = tail == 0 ? 0 : g.rng.between(0, 30); k > 0; --k) g.insert(static_cast<std::uint32_t>(g.rng.below(tail)));
  for (std::uint64_t k = g.rng.between(0, 8); k > 0; --k) g.dirty(g.some_mapped(), true);
  if (g.rng.chance(1, 2)) g.out.push_back(g.hints());
  g.out.push_back("commit 0");
  g.resize((n / kCacheMappingsPerBlock + 1) * kCacheMappingsPerBlock + static_cast<std::uint32_t>(g.rng.between(1, 1200)));
  g.out.push_back("commit 0");
  g.out.push_back(g.cut());
  return std::move(g.out);
}

// (i): mappings committed, then cache blocks re-mapped to other origin blocks (and marked dirty)
// in the next transaction, committed with a clean shutdown, power cut.
Steps generate_remap(std::uint64_t seed) {
  Gen g(seed, "cache.i.steps");
  const auto n = static_cast<std::uint32_t>(g.rng.between(100, 3000));
  g.resize(n);
  for (std::uint64_t k = g.rng.between(20, 200); k > 0; --k) g.insert(static_cast<std::uint32_t>(g.rng.below(n)));
  g.out.push_back("commit 0");
  for (std::uint64_t k = g.rng.between(5, 40); k > 0; --k) {
    const std::uint32_t c = g.some_mapped();
    g.insert(c);
    if (g.rng.chance(1, 3)) g.dirty(c, true);
  }
  g.out.push_back("commit 1");
  g.out.push_back(g.cut());
  return std::move(g.out);
}

Scenario make(std::string name, std::string description, std::vector<std::string> marks, std::vector<Bug> catches,
              Steps (*generate)(std::uint64_t)) {
  Scenario s;
  s.name = name;
  s.description = std::move(description);
  s.required_marks = std::move(marks);
  s.catches = std::move(catches);
  s.generate = generate;
  s.grammar = cache_step_grammar();
  s.replay = [name](std::uint64_t seed, const Steps& steps, const RunOptions& opts, std::ostream& trace) {
    return run_cache_steps(name, seed, version_of(seed), steps, opts, trace);
  };
  s.run = [name, generate](std::uint64_t seed, const RunOptions& opts, std::ostream& trace) {
    return run_cache_steps(name, seed, version_of(seed), generate(seed), opts, trace);
  };
  return s;
}

}  // namespace

Scenario cache_crash_scenario() {
  return make("cache_crash",
              "dm-cache metadata, version 1 on odd seeds and 2 on even ones, under a random workload (mappings, "
              "re-mappings, dirty flags, discards, policy hints, grows and shrinks of the cache, commits with and "
              "without clean shutdown) with injected I/O errors and power cuts under every sector-atomic policy. After "
              "each: the durable metadata is exactly the last commit or the one in flight, never a mix; the cache "
              "checker is clean; every grow keeps every mapping; an engine error without an injected fault fails.",
              {"cache.abort", "cache.resize_grow", "cache.resize_shrink", "array.grow_fills_partial_tail",
               "array.grow_within_tail", "array.shrink_drops_blocks", "array.shrink_trims_partial_tail"},
              {}, generate_crash);
}

Scenario cache_swarm_scenario() {
  Scenario s = make("cache_swarm",
                    "cache_crash with large arrays: caches of 20k-200k blocks (hundreds of mapping-array blocks under "
                    "a two-level array btree), grown and shrunk by up to 30k entries across partial blocks; the same "
                    "checks.",
                    {"cache.resize_grow", "cache.resize_shrink"}, {}, generate_swarm);
  const std::string name = s.name;
  s.replay = [name](std::uint64_t seed, const Steps& steps, const RunOptions& opts, std::ostream& trace) {
    return run_cache_steps(name, seed, version_of(seed), steps, opts, trace, kSwarmMetadataBlocks);
  };
  s.run = [name](std::uint64_t seed, const RunOptions& opts, std::ostream& trace) {
    return run_cache_steps(name, seed, version_of(seed), generate_swarm(seed), opts, trace, kSwarmMetadataBlocks);
  };
  return s;
}

std::vector<Scenario> cache_scenarios() { return {cache_crash_scenario(), cache_swarm_scenario()}; }

std::vector<Scenario> cache_regression_scenarios() {
  std::vector<Scenario> v;
  v.push_back(make("cache_remap_after_commit_fails",
                   "Seed bug (i) through dm-cache: re-mapping a cache block after a commit shadows the mapping-array "
                   "block that holds it, and the bug released the old block twice. Triggered by committing mappings "
                   "and re-mapping some of them in the next transaction. Symptom: the re-map fails with no fault on "
                   "the disk (the block's reference count would go below zero): dm-cache would fail the metadata.",
                   {}, {Bug::i}, generate_remap));
  v.push_back(make("cache_grow_loses_tail_mappings",
                   "Seed bug (j) through dm-cache: growing the cache past the last, partial block of the mapping "
                   "array replaced that block with unmapped entries. Triggered by a cache of N blocks (N not a "
                   "multiple of 509) whose last array block is mapped, committed and grown across a block boundary. "
                   "Symptom: the mappings of the last partial block are lost by the grow.",
                   {"cache.resize_grow"}, {Bug::j}, generate_grow));
  return v;
}

}  // namespace pdsim::scenarios
