// SPDX-License-Identifier: GPL-2.0-or-later
// Hot paths of the engine's lower layers: shadowing a clean block, space-map count changes and
// allocation, and the commit of N dirty blocks. Each reports ns per operation and, as a counter,
// device blocks written per operation.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "core/block/checksum.h"
#include "core/sm/disk_space_map.h"
#include "core/sm/metadata_space_map.h"
#include "sim/sim_disk.h"

namespace pdsim {
namespace {

const HeaderValidator kV("bench", salt::btree_node, 8);

struct Engine {
  sim::SimDisk disk;
  BlockManager bm;
  TransactionManager tm;
  std::unique_ptr<sm::MetadataSpaceMap> sm;
  explicit Engine(BlockNr n) : disk(n, 1), bm(disk, 4096), tm(bm) {
    disk.set_logging(false);
    auto r = sm::MetadataSpaceMap::create(tm, n);
    if (!r) throw std::runtime_error(r.error().to_string());
    sm = std::move(r).value();
    check(commit());
  }
  static void check(const Status& s) {
    if (!s) throw std::runtime_error(s.error().to_string());
  }
  Status commit() {
    PDSIM_TRY(tm.pre_commit());
    PDSIM_TRY_ASSIGN(WriteRef sb, bm.write_lock_zero(0, nullptr));
    return tm.commit(std::move(sb));
  }
};

void report_writes(benchmark::State& state, const sim::SimDisk& disk, std::uint64_t writes_before, std::int64_t ops) {
  state.counters["blocks_written_per_op"] =
      static_cast<double>(disk.counters().writes - writes_before) / static_cast<double>(ops);
}

// Shadow of a committed (clean, unshared) block: allocate, decrement, copy 4 KiB.
void BM_ShadowCleanBlock(benchmark::State& state) {
  Engine e(200000);
  std::vector<BlockNr> blocks;
  for (int i = 0; i < 1000; ++i) {
    auto w = e.tm.new_block(&kV);
    Engine::check(w.ok() ? Status{} : Status(w.error()));
    blocks.push_back(w->location());
  }
  Engine::check(e.commit());
  std::size_t i = 0;
  std::int64_t ops = 0;
  auto writes = e.disk.counters().writes;
  for (auto _ : state) {
    auto sh = e.tm.shadow_block(blocks[i], &kV);
    if (!sh) state.SkipWithError(sh.error().to_string().c_str());
    blocks[i] = sh->block.location();
    sh->block.release();
    ++ops;
    if (++i == blocks.size()) {
      state.PauseTiming();
      Engine::check(e.commit());
      i = 0;
      state.ResumeTiming();
    }
  }
  report_writes(state, e.disk, writes, ops);
  state.SetItemsProcessed(ops);
}
BENCHMARK(BM_ShadowCleanBlock);

void BM_MetadataSmNewBlock(benchmark::State& state) {
  Engine e(4000000);
  std::int64_t ops = 0;
  for (auto _ : state) {
    auto b = e.sm->new_block();
    if (!b || !b->has_value()) {
      state.SkipWithError("allocation failed");
      break;
    }
    ++ops;
  }
  state.SetItemsProcessed(ops);
}
BENCHMARK(BM_MetadataSmNewBlock);

// inc then dec of one block whose count sits at 1 / 2 / 3+ (overflow tree).
void BM_MetadataSmIncDec(benchmark::State& state) {
  Engine e(100000);
  auto b = e.sm->new_block();
  Engine::check(b.ok() ? Status{} : Status(b.error()));
  for (std::int64_t i = 1; i < state.range(0); ++i) Engine::check(e.sm->inc(**b));
  Engine::check(e.commit());
  for (auto _ : state) {
    Engine::check(e.sm->inc(**b));
    Engine::check(e.sm->dec(**b));
  }
  state.SetItemsProcessed(state.iterations() * 2);
  state.SetLabel(fmt::format("count {}", state.range(0)));
}
BENCHMARK(BM_MetadataSmIncDec)->Arg(1)->Arg(2)->Arg(5);

void BM_DiskSmNewBlock(benchmark::State& state) {
  Engine e(100000);
  auto data = sm::DiskSpaceMap::create(e.tm, 4000000);
  if (!data) {
    state.SkipWithError(data.error().to_string().c_str());
    return;
  }
  std::int64_t ops = 0;
  for (auto _ : state) {
    auto b = (*data)->new_block();
    if (!b || !b->has_value()) {
      state.SkipWithError("allocation failed");
      break;
    }
    ++ops;
  }
  state.SetItemsProcessed(ops);
}
BENCHMARK(BM_DiskSmNewBlock);

// A commit of N dirty blocks (new this transaction): pre-commit flush, superblock, flush.
void BM_CommitDirtyBlocks(benchmark::State& state) {
  Engine e(400000);
  const auto n = state.range(0);
  std::int64_t commits = 0;
  auto writes = e.disk.counters().writes;
  for (auto _ : state) {
    state.PauseTiming();
    for (std::int64_t i = 0; i < n; ++i) {
      auto w = e.tm.new_block(&kV);
      if (!w) {
        state.SkipWithError(w.error().to_string().c_str());
        return;
      }
    }
    state.ResumeTiming();
    Engine::check(e.commit());
    ++commits;
  }
  report_writes(state, e.disk, writes, commits);
  state.SetItemsProcessed(commits * n);
}
BENCHMARK(BM_CommitDirtyBlocks)->Arg(16)->Arg(256)->Iterations(100);

}  // namespace
}  // namespace pdsim
