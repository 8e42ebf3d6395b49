// SPDX-License-Identifier: GPL-2.0-or-later
// What a step line may say, per scenario: its words, how many numbers each takes and their
// ranges, and the relations between them. Step files are user input (`pdsim run --replay`): the
// runner checks every line against the scenario's grammar before anything runs, so a bad line is
// one clear error naming the file, the line and the step, never an abort deep in a model.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/result.h"

namespace pdsim::scenarios {

struct ArgRange {
  std::string name;  // as the error names it ("cache blocks")
  std::uint64_t min = 0;
  std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
};

struct StepForm {
  // What follows the numbers.
  enum class Tail : std::uint8_t {
    none,
    fault_plan,   // the rest of the line is a fault-plan line (sim/fault_plan.h)
    power_cut,    // one power-cut policy name
    policy_name,  // one cache policy name, 1 to 15 characters
  };
  std::string word;
  std::vector<ArgRange> args;
  std::size_t optional = 0;  // how many of the last args may be left out
  Tail tail = Tail::none;
  // Relations between the numbers (all given): "" when they hold, else what is wrong.
  std::function<std::string(const std::vector<std::uint64_t>&)> relation;
};

using StepGrammar = std::vector<StepForm>;

// OK when `step` is one of the grammar's forms with its numbers in range; otherwise one line
// saying what is wrong ("discard: begin 9 is past end 3").
[[nodiscard]] Status check_step(const StepGrammar& grammar, std::string_view step);

// A relation for a half-open range given by the args at `begin` and `end`: begin <= end, and, with
// `stride_at` given, at most `max_count` blocks ((end - begin) / stride).
[[nodiscard]] std::function<std::string(const std::vector<std::uint64_t>&)> range_relation(
    std::size_t begin, std::size_t end, std::uint64_t max_count = std::numeric_limits<std::uint64_t>::max(),
    std::size_t stride_at = SIZE_MAX);

// The grammars the step-based scenarios share (limits chosen so that a model of the largest
// allowed state fits in a few hundred MiB).
inline constexpr std::uint64_t kMaxThinId = (1ull << 24) - 1;     // dm-thin device ids are 24 bits
inline constexpr std::uint64_t kMaxVirtualBlock = (1ull << 40) - 1;
inline constexpr std::uint64_t kMaxBlocksPerStep = 1ull << 20;    // a fill, punch or range
inline constexpr std::uint64_t kMaxCacheBlocks = 1ull << 22;
inline constexpr std::uint64_t kMaxDiscardBlocks = 1ull << 24;
inline constexpr std::uint64_t kMaxOriginBlock = (1ull << 48) - 1;

[[nodiscard]] const StepGrammar& thin_step_grammar();    // scenarios/thin/thin_steps.h
[[nodiscard]] const StepGrammar& cache_step_grammar();   // scenarios/harness/cache_harness.h

}  // namespace pdsim::scenarios
