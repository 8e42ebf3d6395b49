// SPDX-License-Identifier: GPL-2.0-or-later
// FaultPlan: what goes wrong on a SimDisk, and when. Faults are data: a plan prints as one line
// and parses back from it, so a failing run's reproduce command carries its plan.
//
// A plan is a list of rules `selector -> action`, tried in order; the first rule whose selector
// matches an operation and whose action applies to that operation's kind fires.
//
// Line syntax (rules separated by ';', terms by spaces):
//     write nth=3 -> error; read blocks=10-20 -> rot=1; any p=1/100 -> error;
//     any flakey=50/10 -> error; write blocks=900- -> nospace; flush nth=2 -> lie
// Selector terms (all given terms must hold):
//     read | write | flush | any     which operations (default any)
//     nth=N                          the Nth operation of that kind (1-based)
//     ops=A-B | ops=A-               that kind's operation count within [A, B] (B open if absent)
//     blocks=A-B | blocks=A-         the operation's block within [A, B] (never a flush)
//     p=P/Q                          with probability P/Q, drawn from the disk's Rng
//     flakey=UP/DOWN                 dm-flakey: of every UP+DOWN operations (all kinds counted),
//                                    the last DOWN match
// Actions:
//     error          fail with an I/O error (read, write, flush)
//     drop           drop a write but report success (dm-flakey drop_writes)
//     flip=N         flip N random bits of the data as it is written (bit rot, persisted)
//     rot=N          flip N random bits of the data returned by a read (not persisted)
//     misdirect=D    store the write at block (b + D) mod nr_blocks instead of b
//     lie            a flush that reports success but makes nothing durable
//     nospace        fail a write with ErrorKind::no_space (use with blocks=N- for "past a size")
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/result.h"
#include "core/io/block_device.h"

namespace pdsim::sim {

enum class OpKind : std::uint8_t { read, write, flush };
[[nodiscard]] std::string_view to_string(OpKind k) noexcept;

enum class FaultAction : std::uint8_t { none, error, drop, flip, rot, misdirect, lie, nospace };
inline constexpr std::size_t kFaultActionCount = 8;
[[nodiscard]] std::string_view to_string(FaultAction a) noexcept;
[[nodiscard]] bool action_applies(FaultAction a, OpKind k) noexcept;

struct Range {
  std::uint64_t lo = 0;
  std::optional<std::uint64_t> hi;  // inclusive; open when absent
  [[nodiscard]] bool contains(std::uint64_t x) const { return x >= lo && (!hi || x <= *hi); }
  friend bool operator==(const Range&, const Range&) = default;
};

struct Selector {
  std::optional<OpKind> kind;  // nullopt = any
  std::optional<std::uint64_t> nth;
  std::optional<Range> ops;
  std::optional<Range> blocks;
  std::optional<std::pair<std::uint64_t, std::uint64_t>> probability;  // p/q
  std::optional<std::pair<std::uint64_t, std::uint64_t>> flakey;       // up/down
  friend bool operator==(const Selector&, const Selector&) = default;
};

struct FaultRule {
  Selector selector;
  FaultAction action = FaultAction::error;
  std::int64_t param = 0;  // bits for flip / rot, delta for misdirect
  friend bool operator==(const FaultRule&, const FaultRule&) = default;
};

// What the disk knows about the operation being decided.
struct OpContext {
  OpKind kind;
  std::uint64_t kind_count;  // 1-based count of operations of this kind, this one included
  std::uint64_t op_count;    // 1-based count of all operations, this one included
  std::optional<BlockNr> block;
};

class Rng;

class FaultPlan {
 public:
  FaultPlan() = default;
  explicit FaultPlan(std::vector<FaultRule> rules) : rules_(std::move(rules)) {}

  // Parses the one-line form; "none" or "" is the empty plan. Errors are ErrorKind::invalid and
  // name the rule and the term at fault.
  [[nodiscard]] static Result<FaultPlan> parse(std::string_view line);
  // The one-line form; parse(to_string()) gives an equal plan.
  [[nodiscard]] std::string to_string() const;

  FaultPlan& add(FaultRule rule) {
    rules_.push_back(std::move(rule));
    return *this;
  }
  [[nodiscard]] const std::vector<FaultRule>& rules() const { return rules_; }
  [[nodiscard]] bool empty() const { return rules_.empty(); }

  // The first rule that fires for this operation, if any. Draws from rng only for rules with a
  // probability term whose other terms matched, so the draw sequence is a function of the plan.
  [[nodiscard]] const FaultRule* decide(const OpContext& op, Rng& rng) const;

  friend bool operator==(const FaultPlan&, const FaultPlan&) = default;

 private:
  std::vector<FaultRule> rules_;
};

}  // namespace pdsim::sim
