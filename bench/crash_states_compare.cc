// SPDX-License-Identifier: GPL-2.0-or-later
// Where a crash state's time goes, and the crash explorer's rate with and without reusing the
// durable image's verdict, side by side in one run: the crash explorer's own workload and crash
// states (scenarios/thin/crash_explorer.h), seeds FIRST..FIRST+SEEDS-1, each run both ways,
// alternating, REPEATS times; prints a Markdown table of medians. One core (no --jobs). A plain
// program: the scenarios library links the kernel engine (GPL-2.0), which Google Benchmark
// (Apache-2.0) is never linked with.
//
// Usage: pdsim_crash_states_compare [REPEATS] [SEEDS] [FIRST]   (defaults 3, 8, 1)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bench/bench_util.h"
#include "scenarios/thin/crash_explorer.h"

namespace {

using namespace pdsim;
using pdsim::bench::median;

struct Sample {
  scenarios::CrashExplorerTimes times;
  double seconds = 0;
  std::uint64_t states = 0;
};

Sample run_once(bool reuse, std::uint64_t first, std::uint64_t seeds) {
  Sample s;
  scenarios::CrashExplorerOptions x;
  x.reuse_verdicts = reuse;
  x.times = &s.times;
  std::ostringstream trace;
  const auto t0 = std::chrono::steady_clock::now();
  for (std::uint64_t seed = first; seed < first + seeds; ++seed) {
    const auto out = scenarios::explore_crash_states(seed, scenarios::RunOptions{}, x, trace);
    if (!out.passed) {
      std::fprintf(stderr, "pdsim_crash_states_compare: seed %llu failed: %s\n", static_cast<unsigned long long>(seed),
                   out.failures.empty() ? "" : out.failures.front().c_str());
      std::exit(1);
    }
    s.states += out.crash_states;
  }
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const std::uint64_t repeats = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 3;
  const std::uint64_t seeds = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 8;
  const std::uint64_t first = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1;
  if (repeats == 0 || seeds == 0) {
    std::fprintf(stderr, "usage: pdsim_crash_states_compare [REPEATS>0] [SEEDS>0] [FIRST]\n");
    return 2;
  }
  (void)run_once(true, first, 1);  // warm-up: page in the code and the allocator
  std::vector<Sample> full, reuse;
  for (std::uint64_t r = 0; r < repeats; ++r) {
    full.push_back(run_once(false, first, seeds));
    reuse.push_back(run_once(true, first, seeds));
  }
  auto med = [](const std::vector<Sample>& v, auto field) {
    std::vector<double> xs;
    for (const auto& s : v) xs.push_back(field(s));
    return median(xs);
  };
  const double n = static_cast<double>(full.front().states);
  fmt::print("crash explorer, seeds {}..{}: {} crash states a run; medians of {} runs each, one core\n\n", first,
             first + seeds - 1, full.front().states, repeats);
  fmt::print("| way | states/s | µs a state | building µs | opening µs | reading µs | checking µs | states reusing the durable verdict |\n");
  fmt::print("|---|---|---|---|---|---|---|---|\n");
  for (const auto* rows : {&full, &reuse}) {
    const bool r = rows == &reuse;
    const double secs = med(*rows, [](const Sample& s) { return s.seconds; });
    fmt::print("| {} | {:.0f} | {:.1f} | {:.1f} | {:.1f} | {:.1f} | {:.1f} | {} |\n",
               r ? "reuse the durable image's verdict (now)" : "open, read and check every state (before)", n / secs,
               1e6 * secs / n, 1e6 * med(*rows, [](const Sample& s) { return s.times.build; }) / n,
               1e6 * med(*rows, [](const Sample& s) { return s.times.open; }) / n,
               1e6 * med(*rows, [](const Sample& s) { return s.times.read; }) / n,
               1e6 * med(*rows, [](const Sample& s) { return s.times.check; }) / n, rows->front().times.reused);
  }
  fmt::print("\nspeed-up: {:.1f}x\n", med(full, [](const Sample& s) { return s.seconds; }) /
                                         med(reuse, [](const Sample& s) { return s.seconds; }));
  return 0;
}
