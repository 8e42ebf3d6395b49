// SPDX-License-Identifier: GPL-2.0-or-later
// A scenario: a named, seeded workload with its fault plan and its checks. Suites group them;
// `pdsim run SUITE|SCENARIO` runs them seed by seed (scenarios/runner/runner.h).
//
// A scenario that can be shrunk splits into generate (the seed's steps, one text line each) and
// replay (run exactly those steps). The runner then reduces a failing run's steps by delta
// debugging to a short list that still fails, and prints it as a replayable file.
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "core/common/seed_bugs.h"
#include "core/seam/cache_metadata.h"
#include "core/seam/thin_metadata.h"
#include "scenarios/runner/step_grammar.h"

namespace pdsim::scenarios {

enum class ThinCheck : std::uint8_t { never, sample, always };

struct RunOptions {
  bool trace = false;              // print every disk operation of the run
  seam::ThinEngine* thin_engine = nullptr;    // the thin-metadata engine behind the seam; nullptr is ours
  seam::CacheEngine* cache_engine = nullptr;  // the cache-metadata engine behind the seam; nullptr is ours
  // The second engine of the differential scenarios, compared with ours; nullptr: the kernel's
  // code (kernel::thin_engine(), kernel::cache_engine()), or a failure saying the build has none.
  seam::ThinEngine* peer_thin_engine = nullptr;
  seam::CacheEngine* peer_cache_engine = nullptr;
  ThinCheck thin_check = ThinCheck::sample;  // run the real thin_check on recovered images
  std::string save_images_dir;     // where failing runs leave their images ("" = nowhere)
};

struct SeedOutcome {
  bool passed = true;
  std::string summary;                // one line: what the seed did
  std::vector<std::string> failures;  // one line each; the first names the symptom
  std::uint64_t operations = 0;       // workload operations executed
  std::uint64_t crash_states = 0;     // crash states checked
  std::uint64_t thin_checks = 0;      // images the real thin_check passed
  // Set when a known divergence of the engine ended the run early: the kernel's code dropped an
  // error a fault caused (ErrorKind::dropped), so its metadata no longer matches what it
  // reports and nothing after can be judged. The run passes unless the request is strict.
  std::string divergence;
};

using Steps = std::vector<std::string>;

struct Scenario {
  std::string name;
  std::string description;                  // one paragraph
  std::vector<std::string> required_marks;  // coverage marks a passing run must hit
  std::vector<Bug> catches;                 // the seed bugs this scenario is the regression for
  std::function<SeedOutcome(std::uint64_t seed, const RunOptions&, std::ostream& trace)> run;
  // Optional, for shrinking: the steps a seed runs, and running given steps (same seed).
  std::function<Steps(std::uint64_t seed)> generate;
  std::function<SeedOutcome(std::uint64_t seed, const Steps& steps, const RunOptions&, std::ostream& trace)> replay;
  // With replay: what a step may say. A steps file is checked against it line by line first.
  StepGrammar grammar;
};

}  // namespace pdsim::scenarios
