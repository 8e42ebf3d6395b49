// SPDX-License-Identifier: GPL-2.0-or-later
// thin_metadata_pack throughput: pack (classify, encode, deflate) and unpack (inflate, decode,
// verify checksums, index in memory: what `pdsim dump FILE.pack` pays before it reads) of a pool
// with about 1M mappings. bytes_per_second counts the whole image (zero blocks included);
// the `metadata` rate counts only the blocks the pack holds, the honest figure.
#include <benchmark/benchmark.h>

#include <stdexcept>

#include "core/pack/pack.h"
#include "core/thin/pool_metadata.h"
#include "sim/image.h"

namespace pdsim {
namespace {

constexpr BlockNr kMetadataBlocks = 16384;  // 64 MiB
constexpr std::uint64_t kDevices = 4;
constexpr std::uint64_t kMappingsPerDevice = 1u << 18;  // 1,048,576 mappings in all

void check(const Status& s) {
  if (!s) throw std::runtime_error(s.error().to_string());
}

// Built once: four thin devices, each with 256 Ki sequential virtual blocks mapped to scattered
// data blocks (a multiplicative permutation), committed every 64 Ki inserts.
const sim::Image& large_pool() {
  static const sim::Image image = [] {
    sim::ImageDevice dev{sim::Image(kMetadataBlocks)};
    auto pool = thin::PoolMetadata::format(dev, 128);
    check(pool.ok() ? Status{} : Status(pool.error()));
    const std::uint64_t nr_data = kDevices * kMappingsPerDevice;
    check((*pool)->resize_data(nr_data));
    check((*pool)->commit());
    std::uint64_t n = 0;
    for (std::uint64_t id = 1; id <= kDevices; ++id) {
      check((*pool)->create_thin(id));
      for (std::uint64_t v = 0; v < kMappingsPerDevice; ++v, ++n) {
        check((*pool)->restore_mapping(id, v, (n * 2654435761u) % nr_data, static_cast<std::uint32_t>(v % 7)));
        if (n % 65536 == 65535) check((*pool)->commit());
      }
    }
    check((*pool)->commit());
    pool->reset();
    return dev.image();
  }();
  return image;
}

std::vector<std::uint8_t> pack_image(BlockDevice& dev, pack::PackStats* stats) {
  std::vector<std::uint8_t> out;
  auto r = pack::write_pack(dev, [&](std::span<const std::uint8_t> b) {
    out.insert(out.end(), b.begin(), b.end());
    return Status{};
  });
  check(r.ok() ? Status{} : Status(r.error()));
  *stats = *r;
  return out;
}

void report(benchmark::State& state, const pack::PackStats& stats) {
  const auto iterations = static_cast<double>(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(stats.nr_blocks * kBlockSize));
  state.counters["metadata_MiB/s"] = benchmark::Counter(
      iterations * static_cast<double>(stats.blocks * kBlockSize) / (1024.0 * 1024.0), benchmark::Counter::kIsRate);
  state.counters["blocks_packed"] = static_cast<double>(stats.blocks);
  state.counters["pack_bytes"] = static_cast<double>(stats.file_bytes);
}

void BM_PackLargePool(benchmark::State& state) {
  sim::ImageDevice dev{large_pool()};
  pack::PackStats stats;
  for (auto _ : state) {
    auto bytes = pack_image(dev, &stats);
    benchmark::DoNotOptimize(bytes.data());
  }
  report(state, stats);
}
BENCHMARK(BM_PackLargePool)->Unit(benchmark::kMillisecond);

void BM_UnpackLargePool(benchmark::State& state) {
  sim::ImageDevice dev{large_pool()};
  pack::PackStats stats;
  const auto bytes = pack_image(dev, &stats);
  for (auto _ : state) {
    auto loaded = pack::load_pack(bytes);
    check(loaded.ok() ? Status{} : Status(loaded.error()));
    benchmark::DoNotOptimize(loaded->get());
  }
  report(state, stats);
}
BENCHMARK(BM_UnpackLargePool)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace pdsim
