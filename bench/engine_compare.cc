// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim's engine and the kernel's own persistent-data code, the same workloads side by side on a
// SimDisk (logging off), alternating engines, REPEATS times each; prints a Markdown table of
// medians and the kernel/pdsim ratio. A plain program, not Google Benchmark: the kernel's code is
// GPL-2.0 and Google Benchmark is Apache-2.0, so the two are never linked into one binary.
//
// Usage: pdsim_engine_compare [REPEATS] [MAPPINGS]   (defaults 5, 200000)
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench/bench_util.h"
#include "core/thin/pool_metadata.h"
#include "kernel/kernel_engine.h"
#include "sim/rng.h"
#include "sim/sim_disk.h"

namespace {

using namespace pdsim;
using pdsim::bench::median;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kCacheBlocks = 1024;
constexpr std::uint64_t kCommitEvery = 1024;

struct Sample {
  double seconds = 0;
  std::uint64_t ops = 0, writes = 0, commits = 0;
  double commit_seconds = 0;
  std::uint64_t commit_writes = 0;
};

[[noreturn]] void die(const std::string& what, const Error& e) {
  std::fprintf(stderr, "pdsim_engine_compare: %s: %s\n", what.c_str(), e.to_string().c_str());
  std::exit(1);
}

template <typename T>
T must(Result<T> r, const std::string& what) {
  if (!r) die(what, r.error());
  return std::move(r).value();
}
void must(Status s, const std::string& what) {
  if (!s) die(what, s.error());
}

// A pool with one device, `n` mappings provisioned in `order` (alloc + insert), committed every
// kCommitEvery operations; then the workload `phase` timed on it (fresh pool every run).
Sample run(seam::ThinEngine& engine, std::uint64_t n, const std::string& phase, std::uint64_t seed) {
  sim::SimDisk disk(1 << 16, seed);
  disk.set_logging(false);
  auto md = must(engine.format(disk, 128, kCacheBlocks), "format");
  must(md->resize_data(4 * n + 1024), "resize_data");
  must(md->create_thin(1), "create_thin");
  must(md->commit(), "commit");
  sim::Rng rng(seed);
  std::vector<std::uint64_t> keys(n);
  for (std::uint64_t i = 0; i < n; ++i) keys[i] = i;
  if (phase == "insert random" || phase == "lookup random") {
    for (std::uint64_t i = n; i > 1; --i) std::swap(keys[i - 1], keys[rng.below(i)]);
  }
  Sample s;
  auto commit = [&] {
    const auto w0 = disk.counters().writes;
    const auto t0 = Clock::now();
    must(md->commit(), "commit");
    s.commit_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
    s.commit_writes += disk.counters().writes - w0;
    ++s.commits;
  };
  auto provision = [&](std::uint64_t id, std::uint64_t v) {
    auto b = must(md->alloc_data_block(), "alloc_data_block");
    if (!b) die("alloc_data_block", Error::no_space("data device full"));
    must(md->insert_mapping(id, v, *b), "insert_mapping");
  };
  const bool timed_inserts = phase.starts_with("insert");
  if (!timed_inserts) {
    for (std::uint64_t i = 0; i < n; ++i) {
      provision(1, keys[i]);
      if (i % kCommitEvery == kCommitEvery - 1) must(md->commit(), "commit");
    }
    must(md->commit(), "commit");
    if (phase == "overwrite after snapshot") {
      must(md->create_snapshot(2, 1), "create_snapshot");
      must(md->commit(), "commit");
    }
  }
  const auto w0 = disk.counters().writes;
  const auto t0 = Clock::now();
  for (std::uint64_t i = 0; i < n; ++i) {
    if (timed_inserts) {
      provision(1, keys[i]);
    } else if (phase.starts_with("lookup")) {
      auto r = must(md->find_block(1, keys[i]), "find_block");
      if (!r) die("find_block", Error::no_data("a provisioned block is unmapped"));
    } else if (phase == "overwrite after snapshot") {
      provision(1, keys[i]);  // breaks the sharing with the snapshot, leaf by leaf
    } else if (phase == "remove") {
      must(md->remove_mapping(1, keys[i]), "remove_mapping");
    }
    ++s.ops;
    if (!phase.starts_with("lookup") && i % kCommitEvery == kCommitEvery - 1) commit();
  }
  if (!phase.starts_with("lookup")) commit();
  s.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  s.writes = disk.counters().writes - w0;
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (!pdsim::kernel::available()) {
    fmt::print(stderr, "pdsim_engine_compare: this build has no kernel engine ({})\n", pdsim::kernel::source_description());
    return 2;
  }
  const int repeats = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
  const std::uint64_t n = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 200000;
  std::array<seam::ThinEngine*, 2> engines{&thin::pdsim_thin_engine(), &pdsim::kernel::thin_engine()};
  const std::vector<std::string> phases{"insert sequential", "insert random", "lookup sequential", "lookup random",
                                        "overwrite after snapshot", "remove"};
  fmt::print("{} mappings, {} repeats, medians; kernel: {}\n\n", n, repeats, pdsim::kernel::source_description());
  fmt::print("| workload | pdsim ops/s | kernel ops/s | kernel / pdsim time | pdsim blocks written / op | kernel blocks "
             "written / op | pdsim commit µs (blocks) | kernel commit µs (blocks) |\n");
  fmt::print("|---|---|---|---|---|---|---|---|\n");
  for (const auto& phase : phases) {
    std::array<std::vector<double>, 2> secs, wpo, csec, cw;
    // A warm-up run of each engine, not counted: the first run in a process pays the page faults
    // of a heap that later runs reuse, which would count against whoever goes first.
    for (std::size_t e = 0; e < 2; ++e) (void)run(*engines[e], n, phase, 999);
    for (int r = 0; r < repeats; ++r) {
      for (std::size_t e = 0; e < 2; ++e) {
        const std::size_t which = (r % 2 == 0) ? e : 1 - e;  // alternate who goes first
        const Sample s = run(*engines[which], n, phase, 1000 + static_cast<std::uint64_t>(r));
        secs[which].push_back(s.seconds);
        wpo[which].push_back(static_cast<double>(s.writes) / static_cast<double>(s.ops));
        csec[which].push_back(s.commits ? s.commit_seconds / static_cast<double>(s.commits) * 1e6 : 0);
        cw[which].push_back(s.commits ? static_cast<double>(s.commit_writes) / static_cast<double>(s.commits) : 0);
      }
    }
    const double ours = median(secs[0]), theirs = median(secs[1]);
    auto commit_cell = [&](std::size_t e) {
      return phase.starts_with("lookup") ? std::string("-") : fmt::format("{:.0f} ({:.1f})", median(csec[e]), median(cw[e]));
    };
    fmt::print("| {} | {:.0f} k | {:.0f} k | {:.2f} | {:.3f} | {:.3f} | {} | {} |\n", phase,
               static_cast<double>(n) / ours / 1e3, static_cast<double>(n) / theirs / 1e3, theirs / ours, median(wpo[0]),
               median(wpo[1]), commit_cell(0), commit_cell(1));
  }
  return 0;
}
