// SPDX-License-Identifier: GPL-2.0-or-later
#include "sim/crash_states.h"

#include <algorithm>
#include <numeric>
#include <set>

#include <fmt/format.h>

#include "core/common/assert.h"

namespace pdsim::sim {
namespace {

const Block kZeroBlock{};

std::uint64_t sat_add(std::uint64_t a, std::uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }
std::uint64_t sat_mul(std::uint64_t a, std::uint64_t b) {
  if (a != 0 && b > UINT64_MAX / a) return UINT64_MAX;
  return a * b;
}

// The combination of rank r (lexicographic) of k items out of n.
std::vector<std::uint64_t> unrank_combination(std::uint64_t n, std::uint64_t k, std::uint64_t r) {
  std::vector<std::uint64_t> out;
  out.reserve(static_cast<std::size_t>(k));
  std::uint64_t x = 0;
  for (std::uint64_t i = 0; i < k; ++i) {
    for (;; ++x) {
      std::uint64_t with_x = binomial(n - x - 1, k - i - 1);  // combinations starting with x here
      if (r < with_x) break;
      r -= with_x;
    }
    out.push_back(x++);
  }
  return out;
}

}  // namespace

std::uint64_t binomial(std::uint64_t n, std::uint64_t k) noexcept {
  if (k > n) return 0;
  k = std::min(k, n - k);
  std::uint64_t r = 1;
  for (std::uint64_t i = 1; i <= k; ++i) {
    // r * (n - k + i) / i stays exact because r is C(n-k+i-1, i-1).
    std::uint64_t num = n - k + i;
    std::uint64_t g = std::gcd(r, i);
    std::uint64_t rr = r / g;
    std::uint64_t ii = i / g;
    std::uint64_t nn = num / ii;  // ii divides num * rr and gcd(rr, ii) == 1, so ii divides num
    r = sat_mul(rr, nn);
    if (r == UINT64_MAX) return r;
  }
  return r;
}

std::string CrashState::describe() const {
  std::string s = fmt::format("after entry {}: durable", after_entries);
  for (auto k : kept) s += fmt::format(" + write#{}", k);
  if (torn) {
    if (tear_variant + 1 < kTornVariants) s += fmt::format(" + write#{} torn after sector {}", *torn, tear_variant + 1);
    else s += fmt::format(" + write#{} with a garbage sector", *torn);
  }
  return s;
}

std::uint64_t CrashStates::states_at(std::uint64_t pending, const CrashStateOptions& opts) noexcept {
  std::uint64_t n = 0;
  for (std::uint64_t k = 0; k <= opts.max_subset; ++k) n = sat_add(n, binomial(pending, k));
  if (opts.torn) n = sat_add(n, sat_mul(pending, kTornVariants));
  return n;
}

CrashStates::CrashStates(const WriteLog& log, CrashStateOptions opts)
    : log_(log), opts_(opts), rng_(opts.seed), state_{log.initial(), {}} {}

bool CrashStates::advance_point() {
  while (next_entry_ < log_.size()) {
    std::size_t i = next_entry_++;
    log_.apply(i, state_);
    const LogEntry& e = log_.entries()[i];
    LogOp op = e.op;
    // Only a plain write that went to the volatile cache leaves the durable image as it was;
    // anything else (a flush, a power cut, a FUA or faulty write) may change it.
    if (op != LogOp::read && !(op == LogOp::write && e.mode == WriteMode::normal && e.fault == FaultAction::none))
      ++durable_version_;
    if (op != LogOp::write && op != LogOp::flush) continue;
    ++points_;
    std::uint64_t total = states_at(state_.pending.size(), opts_);
    todo_.clear();
    cursor_ = 0;
    if (opts_.max_states_per_point == 0 || total <= opts_.max_states_per_point) {
      PDSIM_ASSERT(total != UINT64_MAX, "crash-state count overflows");
      todo_.resize(static_cast<std::size_t>(total));
      for (std::uint64_t j = 0; j < total; ++j) todo_[static_cast<std::size_t>(j)] = j;
    } else {
      // Floyd's algorithm: m distinct indices of [0, total), then sorted for a stable order.
      ++sampled_points_;
      std::set<std::uint64_t> chosen;
      std::uint64_t m = opts_.max_states_per_point;
      for (std::uint64_t j = total - m; j < total; ++j) {
        std::uint64_t t = rng_.below(j + 1);
        if (!chosen.insert(t).second) chosen.insert(j);
      }
      todo_.assign(chosen.begin(), chosen.end());
    }
    return true;
  }
  return false;
}

CrashState CrashStates::build(std::uint64_t index) const {
  CrashState cs;
  cs.after_entries = next_entry_;
  cs.image = state_.durable;
  cs.durable_version = durable_version_;
  const auto& pending = state_.pending;
  const std::uint64_t p = pending.size();
  for (std::uint64_t k = 0; k <= opts_.max_subset; ++k) {
    std::uint64_t c = binomial(p, k);
    if (index < c) {
      for (auto pos : unrank_combination(p, k, index)) {
        const PendingWrite& w = pending[static_cast<std::size_t>(pos)];
        cs.image.set(w.block, w.data);
        cs.kept.push_back(w.seq);
        cs.changed.push_back(w.block);
      }
      return cs;
    }
    index -= c;
  }
  PDSIM_ASSERT(opts_.torn, "torn variants asked for without torn writes enabled");
  const PendingWrite& w = pending[static_cast<std::size_t>(index / kTornVariants)];
  cs.torn = w.seq;
  cs.tear_variant = index % kTornVariants;
  cs.changed.push_back(w.block);
  const SharedBlock& old = state_.durable.get(w.block);
  const std::uint8_t* old_bytes = old ? old->data() : kZeroBlock.data();
  auto torn = std::make_shared<Block>(*w.data);
  if (cs.tear_variant + 1 < kTornVariants) {
    std::size_t new_sectors = static_cast<std::size_t>(cs.tear_variant) + 1;
    std::copy(old_bytes + new_sectors * kSectorSize, old_bytes + kBlockSize, torn->begin() + new_sectors * kSectorSize);
  } else {
    // The garbage is a function of (seed, write) alone, so sampling order cannot change it.
    Rng g(opts_.seed ^ (w.seq * 0x9E3779B97F4A7C15ull));
    auto sector = static_cast<std::size_t>(g.below(kSectorsPerBlock));
    g.fill(std::span<std::uint8_t>(torn->data() + sector * kSectorSize, kSectorSize));
  }
  cs.image.set(w.block, std::move(torn));
  return cs;
}

std::optional<CrashState> CrashStates::next() {
  while (!at_point_ || cursor_ >= todo_.size()) {
    if (!advance_point()) return std::nullopt;
    at_point_ = true;
  }
  ++produced_;
  return build(todo_[cursor_++]);
}

}  // namespace pdsim::sim
