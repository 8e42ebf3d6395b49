// SPDX-License-Identifier: GPL-2.0-or-later
// CrashStates: every disk image a power cut could leave behind, for each point of a WriteLog.
//
// After each write and each flush in the log, the candidate states are: the durable image plus
// each subset of at most K pending writes (applied in log order), then, if torn writes are on,
// each pending write torn alone: for kTornVariants ways per write (the first 1..7 sectors new
// and the rest old, or one garbage sector inside the new data). With P pending writes a point
// has sum_{k<=K} C(P, k) + (torn ? kTornVariants * P : 0) states; with K = 2 that is
// 1 + P + P(P-1)/2 subsets.
//
// States are produced lazily, one at a time, each a copy-on-write Image (a copy of the durable
// image's chunk pointers plus at most K block writes). When a point has more states than
// max_states_per_point (and that bound is not 0), a uniform sample of that many distinct states
// is taken with the Rng instead, so large logs stay tractable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sim/rng.h"
#include "sim/write_log.h"

namespace pdsim::sim {

inline constexpr std::uint64_t kTornVariants = kSectorsPerBlock;  // 7 prefix tears + 1 garbage sector

struct CrashStateOptions {
  std::size_t max_subset = 2;               // K
  bool torn = true;
  std::uint64_t max_states_per_point = 0;   // 0: exhaustive
  std::uint64_t seed = 0;                   // for sampling and garbage sectors
};

struct CrashState {
  std::size_t after_entries = 0;       // the log prefix this state follows (entries [0, n))
  std::vector<std::uint64_t> kept;     // log indices of the pending writes applied whole
  std::optional<std::uint64_t> torn;   // log index of the torn write, if any
  std::uint64_t tear_variant = 0;      // 0..6: first tear_variant+1 sectors new; 7: garbage sector
  Image image;
  // The blocks where `image` may differ from the point's durable image (CrashStates::durable()),
  // and which durable image that is: equal versions, equal durable images.
  std::vector<BlockNr> changed;
  std::uint64_t durable_version = 0;

  [[nodiscard]] std::string describe() const;
};

// Binomial coefficient, saturating at UINT64_MAX.
[[nodiscard]] std::uint64_t binomial(std::uint64_t n, std::uint64_t k) noexcept;

class CrashStates {
 public:
  CrashStates(const WriteLog& log, CrashStateOptions opts);

  // The next state, or nullopt when every point is done.
  [[nodiscard]] std::optional<CrashState> next();

  // States at one point with P pending writes, when enumerated exhaustively (saturating).
  [[nodiscard]] static std::uint64_t states_at(std::uint64_t pending, const CrashStateOptions& opts) noexcept;

  // The durable image of the point of the state next() returned last.
  [[nodiscard]] const Image& durable() const { return state_.durable; }

  [[nodiscard]] std::uint64_t produced() const { return produced_; }
  [[nodiscard]] std::uint64_t points() const { return points_; }
  [[nodiscard]] std::uint64_t sampled_points() const { return sampled_points_; }

 private:
  bool advance_point();
  [[nodiscard]] CrashState build(std::uint64_t index) const;

  const WriteLog& log_;
  CrashStateOptions opts_;
  Rng rng_;
  WriteLog::State state_;
  std::size_t next_entry_ = 0;       // entries applied to state_
  std::vector<std::uint64_t> todo_;  // state indices still to produce at this point
  std::size_t cursor_ = 0;
  bool at_point_ = false;
  std::uint64_t produced_ = 0;
  std::uint64_t points_ = 0;
  std::uint64_t sampled_points_ = 0;
  std::uint64_t durable_version_ = 0;  // bumped by every entry that may change the durable image
};

}  // namespace pdsim::sim
