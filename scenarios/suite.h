// Suites: named groups of seeded checks that `pdsim run NAME` executes.
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace pdsim::scenarios {

struct RunOptions {
  bool trace = false;  // print every disk operation of the run
};

struct SeedOutcome {
  bool passed = true;
  std::string summary;                // one line: what the seed did
  std::vector<std::string> failures;  // one line each
};

struct Suite {
  std::string name;
  std::string description;
  std::function<SeedOutcome(std::uint64_t seed, const RunOptions&, std::ostream& trace)> run_seed;
};

[[nodiscard]] const std::vector<Suite>& all_suites();
[[nodiscard]] const Suite* find_suite(const std::string& name);

}  // namespace pdsim::scenarios
