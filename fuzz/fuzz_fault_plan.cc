// SPDX-License-Identifier: GPL-2.0-or-later
// Fuzz target: a fault-plan line into FaultPlan::parse. A line it accepts prints back as one that
// parses to an equal plan and prints the same (the reproduce line carries the plan); a refused
// one gets a one-line error.
#include <string>

#include <fmt/format.h>

#include "fuzz/fuzz_support.h"
#include "sim/fault_plan.h"

using namespace pdsim;

namespace {
constexpr std::string_view kTarget = "fault_plan";
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string line(reinterpret_cast<const char*>(data), size);
  auto plan = sim::FaultPlan::parse(line);
  if (!plan) {
    fuzz::require_one_line(kTarget, plan.error(), "parse");
    return 0;
  }
  const std::string printed = plan->to_string();
  auto again = sim::FaultPlan::parse(printed);
  if (!again) fuzz::fail(kTarget, fmt::format("'{}' prints as '{}', which does not parse: {}", line, printed,
                                              again.error().to_string()));
  if (!(*again == *plan)) fuzz::fail(kTarget, fmt::format("'{}' prints as '{}', which parses to another plan", line, printed));
  if (again->to_string() != printed) fuzz::fail(kTarget, fmt::format("'{}' does not print stably", printed));
  return 0;
}

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int seed) {
  return fuzz::custom_mutate(fuzz::mutate_text, 4, data, size, max_size, seed);
}
