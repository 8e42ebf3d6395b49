// SPDX-License-Identifier: GPL-2.0-or-later
// Coverage marks: named counters in the engine's rare paths (a btree merge, a space-map extend
// round, a queue application...). A scenario reports which marks its runs hit and may require
// some, failing when its workload never reached the path it exists for.
//
//   PDSIM_MARK("btree.split_two_into_three");
//
// Each mark site registers itself once (a function-local static) and then costs one increment.
// Counts are process-wide; scenario runs are single-threaded. Marks are deterministic: they count
// what the run did, nothing else.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace pdsim::marks {

// The counter of a mark, registered under `name` on first use.
[[nodiscard]] std::uint64_t& counter(std::string_view name);
// Every mark registered so far (hit or not) with its count.
[[nodiscard]] std::map<std::string, std::uint64_t> snapshot();
// Zeroes every count (the registry stays).
void reset();
// The counts of `after` minus `before`, for marks hit in between.
[[nodiscard]] std::map<std::string, std::uint64_t> diff(const std::map<std::string, std::uint64_t>& before,
                                                         const std::map<std::string, std::uint64_t>& after);

}  // namespace pdsim::marks

#define PDSIM_MARK(name)                                                         \
  do {                                                                           \
    static std::uint64_t& pdsim_mark_counter_ = ::pdsim::marks::counter(name); \
    ++pdsim_mark_counter_;                                                       \
  } while (false)
