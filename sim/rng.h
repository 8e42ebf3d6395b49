// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — the one random source of a run.
//
// xoshiro256** seeded through splitmix64: small, portable, identical on every platform and
// standard library. No std::*_distribution (their output differs between libraries), no floating
// point, no clock, no global state: every choice of a run derives from its seed.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <utility>

#include "core/common/assert.h"

namespace pdsim::sim {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) noexcept {
    std::uint64_t x = seed;
    for (auto& s : s_) s = splitmix64(x);
  }

  [[nodiscard]] std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, n), unbiased (rejection of the short top range). REQUIRES: n > 0.
  [[nodiscard]] std::uint64_t below(std::uint64_t n) noexcept {
    PDSIM_ASSERT(n > 0, "below(0) has no value");
    const std::uint64_t threshold = (0 - n) % n;  // 2^64 mod n
    for (;;) {
      std::uint64_t x = next();
      if (x >= threshold) return x % n;
    }
  }

  // Uniform in [lo, hi], inclusive. REQUIRES: lo <= hi.
  [[nodiscard]] std::uint64_t between(std::uint64_t lo, std::uint64_t hi) noexcept {
    PDSIM_ASSERT(lo <= hi, "range with lo > hi");
    if (hi - lo == UINT64_MAX) return next();
    return lo + below(hi - lo + 1);
  }

  // True with probability p/q. REQUIRES: q > 0, p <= q.
  [[nodiscard]] bool chance(std::uint64_t p, std::uint64_t q) noexcept {
    PDSIM_ASSERT(q > 0 && p <= q, "chance p/q needs q > 0 and p <= q");
    return below(q) < p;
  }

  // An independent stream for a sub-component, so that adding draws in one component does not
  // shift the choices of another.
  [[nodiscard]] Rng fork() noexcept { return Rng(next()); }

  template <typename T>
  void shuffle(std::span<T> items) noexcept {
    for (std::size_t i = items.size(); i > 1; --i) {
      std::size_t j = static_cast<std::size_t>(below(i));
      std::swap(items[i - 1], items[j]);
    }
  }

  void fill(std::span<std::uint8_t> bytes) noexcept {
    std::size_t i = 0;
    while (i < bytes.size()) {
      std::uint64_t x = next();
      for (int k = 0; k < 8 && i < bytes.size(); ++k, ++i) {
        bytes[i] = static_cast<std::uint8_t>(x);
        x >>= 8;
      }
    }
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  static std::uint64_t splitmix64(std::uint64_t& x) noexcept {
    std::uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }

  std::uint64_t s_[4];
};

// The seed of one of a run's random streams (its disk, its workload, its fault plan, its
// lookups...), from the run seed and the stream's label. Every stream of a run starts here, never
// from the raw seed or a formula of its own, so two streams never coincide and adding a stream
// shifts no other: splitmix64 of the seed mixed with an FNV-1a hash of the label.
[[nodiscard]] constexpr std::uint64_t sub_seed(std::uint64_t seed, std::string_view label) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a offset basis
  for (const char ch : label) {
    h ^= static_cast<unsigned char>(ch);
    h *= 0x100000001b3ull;  // FNV-1a prime
  }
  std::uint64_t x = seed ^ h;
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace pdsim::sim
