// SPDX-License-Identifier: GPL-2.0-or-later
// Btree hot paths on the real engine (metadata space map on a SimDisk): insert of sequential and
// random keys, lookup, remove. Each reports ns per operation and, as a counter, device blocks
// written per operation (measured across commits every 1024 operations).
#include <benchmark/benchmark.h>

#include <stdexcept>

#include "core/btree/btree.h"
#include "core/sm/metadata_space_map.h"
#include "sim/sim_disk.h"

namespace pdsim {
namespace {

struct Tree {
  sim::SimDisk disk;
  BlockManager bm;
  TransactionManager tm;
  std::unique_ptr<sm::MetadataSpaceMap> sm;
  btree::Info info;
  BlockNr root = 0;

  Tree() : disk(400000, 1), bm(disk, 4096), tm(bm) {
    disk.set_logging(false);
    auto r = sm::MetadataSpaceMap::create(tm, disk.nr_blocks());
    if (!r) throw std::runtime_error(r.error().to_string());
    sm = std::move(r).value();
    info = btree::Info{&tm, 1, btree::plain_value_type(8)};
    auto e = btree::create_empty(info);
    if (!e) throw std::runtime_error(e.error().to_string());
    root = *e;
    commit();
  }
  void commit() {
    Status s = tm.pre_commit();
    if (s) {
      auto sb = bm.write_lock_zero(0, nullptr);
      s = sb ? tm.commit(std::move(sb).value()) : Status(sb.error());
    }
    if (!s) throw std::runtime_error(s.error().to_string());
  }
  // Commits every 1024 operations, outside the timed region.
  void tick(benchmark::State& state, std::uint64_t ops_done) {
    if (ops_done % 1024 != 0) return;
    state.PauseTiming();
    commit();
    state.ResumeTiming();
  }
  // Final commit, then items/s and device blocks written per operation.
  void finish(benchmark::State& state, std::uint64_t writes_before) {
    commit();
    state.SetItemsProcessed(state.iterations());
    state.counters["blocks_written_per_op"] =
        static_cast<double>(disk.counters().writes - writes_before) / static_cast<double>(state.iterations());
  }
  void insert(std::uint64_t k) {
    std::array<std::uint8_t, 8> v{};
    store_le<std::uint64_t>(v.data(), k);
    auto r = btree::insert(info, root, std::span<const std::uint64_t>(&k, 1), v);
    if (!r) throw std::runtime_error(r.error().to_string());
    root = r->root;
  }
};

std::uint64_t scramble(std::uint64_t i) { return (i * 0x9E3779B97F4A7C15ull) >> 20; }

void run_inserts(benchmark::State& state, bool random) {
  Tree t;
  std::uint64_t i = 0;
  const auto writes0 = t.disk.counters().writes;
  for (auto _ : state) {
    t.insert(random ? scramble(i) : i);
    t.tick(state, ++i);
  }
  t.finish(state, writes0);
}

void BM_BtreeInsertSequential(benchmark::State& state) { run_inserts(state, false); }
void BM_BtreeInsertRandom(benchmark::State& state) { run_inserts(state, true); }
BENCHMARK(BM_BtreeInsertSequential);
BENCHMARK(BM_BtreeInsertRandom);

void BM_BtreeLookup(benchmark::State& state) {
  Tree t;
  const std::uint64_t n = 100000;
  for (std::uint64_t i = 0; i < n; ++i) t.insert(scramble(i));
  t.commit();
  std::uint64_t i = 0;
  for (auto _ : state) {
    const std::uint64_t k = scramble(i++ % n);
    auto v = btree::lookup(t.info, t.root, std::span<const std::uint64_t>(&k, 1));
    if (!v || !v->has_value()) state.SkipWithError("lookup failed");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BtreeLookup);

void BM_BtreeRemove(benchmark::State& state) {
  Tree t;
  const std::uint64_t n = 200000;
  for (std::uint64_t i = 0; i < n; ++i) t.insert(scramble(i));
  t.commit();
  std::uint64_t i = 0;
  const auto writes0 = t.disk.counters().writes;
  for (auto _ : state) {
    if (i == n) {
      state.SkipWithError("ran out of keys to remove");
      break;
    }
    const std::uint64_t k = scramble(i++);
    auto r = btree::remove(t.info, t.root, std::span<const std::uint64_t>(&k, 1));
    if (!r) {
      state.SkipWithError(r.error().to_string().c_str());
      break;
    }
    t.root = *r;
    t.tick(state, i);
  }
  t.finish(state, writes0);
}
BENCHMARK(BM_BtreeRemove)->Iterations(100000);

}  // namespace
}  // namespace pdsim
