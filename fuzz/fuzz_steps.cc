// SPDX-License-Identifier: GPL-2.0-or-later
// Fuzz target: a step file into a step-based scenario's replay, as `pdsim run SCENARIO --replay
// FILE` runs it. The input's first line is `scenario NAME SEED`; the rest are steps. Lines the
// scenario's grammar refuses end the input (the runner refuses the file with a one-line error).
// Every step-based scenario but the differential ones (they need the kernel engine, which the
// fuzz build leaves out) is reachable. Properties beyond "no crash": with every seed-bug switch
// off, a replay passes or ends at a known divergence; a failure is a bug of ours, in the engine
// or in the harness.
#include <sstream>

#include <fmt/format.h>

#include "fuzz/fuzz_support.h"
#include "scenarios/runner/registry.h"

using namespace pdsim;

namespace {

constexpr std::string_view kTarget = "steps";
constexpr std::size_t kMaxSteps = 400;  // replays stay in milliseconds

class NullBuffer : public std::streambuf {
 protected:
  int overflow(int c) override { return c; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  std::string line;
  if (!std::getline(in, line)) return 0;
  std::istringstream head(line);
  std::string word, name;
  std::uint64_t seed = 0;
  if (!(head >> word >> name >> seed) || word != "scenario") return 0;
  const scenarios::Scenario* sc = scenarios::find_scenario(name);
  if (!sc || !sc->replay || name.rfind("differential", 0) == 0) return 0;
  scenarios::Steps steps;
  while (std::getline(in, line) && steps.size() < kMaxSteps) {
    if (!scenarios::check_step(sc->grammar, line)) return 0;
    steps.push_back(line);
  }
  scenarios::RunOptions opts;
  opts.thin_check = scenarios::ThinCheck::never;
  NullBuffer null;
  std::ostream trace(&null);
  const scenarios::SeedOutcome out = sc->replay(seed, steps, opts, trace);
  if (!out.passed)
    fuzz::fail(kTarget, fmt::format("{} seed {} fails on a replay of {} steps: {}", name, seed, steps.size(),
                                    out.failures.empty() ? out.summary : out.failures.front()));
  return 0;
}

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int seed) {
  return fuzz::custom_mutate(fuzz::mutate_text, 8, data, size, max_size, seed);
}
