// SPDX-License-Identifier: GPL-2.0-or-later
// Hot paths of the foundation: checksums, the simulated disk, crash-state enumeration and the
// block manager's cached read. Run: build/bench/pdsim_bench (see README for how figures are taken).
#include <benchmark/benchmark.h>

#include "core/block/block_manager.h"
#include "core/block/checksum.h"
#include "core/common/crc32c.h"
#include "sim/crash_states.h"
#include "sim/sim_disk.h"

namespace pdsim {
namespace {

Block random_block(std::uint64_t seed) {
  Block b;
  sim::Rng rng(seed);
  rng.fill(std::span<std::uint8_t>(b));
  return b;
}

void BM_Crc32cHardware(benchmark::State& state) {
  Block b = random_block(1);
  if (!crc32c_hardware_available()) {
    state.SkipWithError("no SSE4.2 on this CPU");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(crc32c_hardware(0xFFFFFFFFu, b.data(), b.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kBlockSize));
}
BENCHMARK(BM_Crc32cHardware);

void BM_Crc32cPortable(benchmark::State& state) {
  Block b = random_block(1);
  for (auto _ : state) benchmark::DoNotOptimize(crc32c_portable(0xFFFFFFFFu, b.data(), b.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kBlockSize));
}
BENCHMARK(BM_Crc32cPortable);

void BM_BlockChecksum(benchmark::State& state) {
  Block b = random_block(2);
  for (auto _ : state) benchmark::DoNotOptimize(block_checksum(ConstBlockSpan(b), salt::btree_node));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kBlockSize));
}
BENCHMARK(BM_BlockChecksum);

// Writes to a SimDisk's volatile cache, with a flush every `range(0)` writes.
void BM_SimDiskWriteFlush(benchmark::State& state) {
  const auto batch = state.range(0);
  sim::SimDisk disk(1 << 16, 1);
  disk.set_logging(false);
  Block b = random_block(3);
  std::uint64_t i = 0;
  for (auto _ : state) {
    for (std::int64_t k = 0; k < batch; ++k) {
      auto s = disk.write((i++ * 7919) % disk.nr_blocks(), ConstBlockSpan(b));
      if (!s) state.SkipWithError("write failed");
    }
    if (!disk.flush()) state.SkipWithError("flush failed");
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.SetBytesProcessed(state.iterations() * batch * static_cast<std::int64_t>(kBlockSize));
}
BENCHMARK(BM_SimDiskWriteFlush)->Arg(1)->Arg(64)->Arg(1024);

// A write with a fault plan to evaluate (three probability rules) and logging on.
void BM_SimDiskWriteWithPlanAndLog(benchmark::State& state) {
  auto plan = sim::FaultPlan::parse("write p=1/1000 -> flip=1; read p=1/1000 -> rot=1; any p=1/1000 -> error");
  Block b = random_block(4);
  for (auto _ : state) {
    state.PauseTiming();
    sim::SimDisk disk(4096, 1, *plan);
    state.ResumeTiming();
    for (BlockNr k = 0; k < 1024; ++k) benchmark::DoNotOptimize(disk.write(k, ConstBlockSpan(b)).ok());
    benchmark::DoNotOptimize(disk.flush().ok());
  }
  state.SetItemsProcessed(state.iterations() * 1024);
}
BENCHMARK(BM_SimDiskWriteWithPlanAndLog);

// A power cut over `range(0)` pending writes, per policy.
void BM_SimDiskPowerCut(benchmark::State& state) {
  const auto pending = state.range(0);
  const auto policy = static_cast<sim::PowerCutPolicy>(state.range(1));
  Block b = random_block(5);
  sim::SimDisk disk(1 << 14, 1);
  disk.set_logging(false);
  for (auto _ : state) {
    state.PauseTiming();
    for (std::int64_t k = 0; k < pending; ++k)
      if (!disk.write(static_cast<BlockNr>(k * 13) % disk.nr_blocks(), ConstBlockSpan(b))) state.SkipWithError("write");
    state.ResumeTiming();
    benchmark::DoNotOptimize(disk.power_cut(policy));
  }
  state.SetItemsProcessed(state.iterations() * pending);
  state.SetLabel(std::string(to_string(policy)));
}
BENCHMARK(BM_SimDiskPowerCut)
    ->Args({256, static_cast<int>(sim::PowerCutPolicy::subset)})
    ->Args({256, static_cast<int>(sim::PowerCutPolicy::reorder)})
    ->Args({256, static_cast<int>(sim::PowerCutPolicy::torn)});

// Crash-state enumeration over a log of `range(0)` writes without a flush (so the last point has
// that many pending writes), K = 2, torn variants on, on a 64k-block image with 4k blocks written.
void BM_CrashStateEnumeration(benchmark::State& state) {
  const auto writes = state.range(0);
  sim::Image img(1 << 16);
  for (BlockNr k = 0; k < 4096; ++k) img.write(k * 16, ConstBlockSpan(random_block(k)));
  sim::SimDisk disk(img, 1);
  Block b = random_block(6);
  for (std::int64_t k = 0; k < writes; ++k)
    if (!disk.write(static_cast<BlockNr>(k * 31) % disk.nr_blocks(), ConstBlockSpan(b))) state.SkipWithError("write");
  std::uint64_t produced = 0;
  for (auto _ : state) {
    sim::CrashStates cs(disk.log(), {.max_subset = 2, .torn = true});
    while (auto s = cs.next()) benchmark::DoNotOptimize(s->image.nr_blocks());
    produced += cs.produced();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(produced));
  state.counters["states_per_run"] = static_cast<double>(produced) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_CrashStateEnumeration)->Arg(16)->Arg(64)->Unit(benchmark::kMillisecond);

// A read lock of a block already in the cache (validated once), then its release.
void BM_BlockManagerCachedRead(benchmark::State& state) {
  sim::SimDisk disk(1024, 1);
  disk.set_logging(false);
  const HeaderValidator v("bench", salt::btree_node, 8);
  BlockManager bm(disk, 256);
  for (BlockNr k = 0; k < 128; ++k) {
    auto w = bm.write_lock_zero(k, &v);
    if (!w) state.SkipWithError("write lock");
  }
  if (!bm.flush()) state.SkipWithError("flush");
  BlockNr k = 0;
  for (auto _ : state) {
    auto r = bm.read_lock(k, &v);
    benchmark::DoNotOptimize(r.ok());
    k = (k + 1) % 128;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BlockManagerCachedRead);

// A read through a cold cache: device read plus validation (checksum) on every lock.
void BM_BlockManagerColdRead(benchmark::State& state) {
  sim::SimDisk disk(4096, 1);
  disk.set_logging(false);
  const HeaderValidator v("bench", salt::btree_node, 8);
  {
    BlockManager bm(disk, 64);
    for (BlockNr k = 0; k < 4096; ++k)
      if (!bm.write_lock_zero(k, &v)) state.SkipWithError("write lock");
    if (!bm.flush()) state.SkipWithError("flush");
  }
  BlockManager bm(disk, 16);  // far smaller than the working set: every read misses
  BlockNr k = 0;
  for (auto _ : state) {
    auto r = bm.read_lock(k, &v);
    benchmark::DoNotOptimize(r.ok());
    k = (k + 97) % 4096;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BlockManagerColdRead);

}  // namespace
}  // namespace pdsim
