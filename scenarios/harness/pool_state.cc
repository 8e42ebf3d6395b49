// SPDX-License-Identifier: GPL-2.0-or-later
#include "scenarios/harness/pool_state.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/thin/thin_format.h"

namespace pdsim::scenarios {

std::string PoolState::diff(const PoolState& want) const {
  for (const auto& [id, maps] : want.devices) {
    auto it = devices.find(id);
    if (it == devices.end()) return fmt::format("thin {} is missing", id);
    for (const auto& [v, b] : maps) {
      auto m = it->second.find(v);
      if (m == it->second.end()) return fmt::format("thin {} block {} is unmapped, expected data block {}", id, v, b);
      if (m->second != b) return fmt::format("thin {} block {} maps to data block {}, expected {}", id, v, m->second, b);
    }
    for (const auto& [v, b] : it->second)
      if (maps.count(v) == 0) return fmt::format("thin {} block {} is mapped (data block {}) but should not be", id, v, b);
  }
  for (const auto& [id, maps] : devices)
    if (want.devices.count(id) == 0) return fmt::format("thin {} exists but should not", id);
  return "";
}

std::uint64_t PoolState::mappings() const {
  std::uint64_t n = 0;
  for (const auto& [id, maps] : devices) n += maps.size();
  return n;
}

Result<PoolState> read_pool_state(seam::ThinMetadata& md) {
  PoolState s;
  PDSIM_TRY_ASSIGN(auto ids, md.device_ids());
  for (std::uint64_t id : ids) {
    auto& maps = s.devices[id];
    PDSIM_TRY(md.walk_mappings(id, [&](std::uint64_t v, std::uint64_t bt) -> Result<bool> {
      maps[v] = thin::block_of(bt);
      return true;
    }));
  }
  return s;
}

Result<std::string> lookup_pool_state(seam::ThinMetadata& md, const PoolState& want, std::uint64_t sample,
                                      sim::Rng& rng) {
  for (const auto& device : want.devices) {
    const std::uint64_t id = device.first;  // named, not bound: clang 14 cannot capture a binding
    const auto& maps = device.second;
    auto absent = [&](std::uint64_t v) -> Result<std::string> {
      PDSIM_TRY_ASSIGN(auto got, md.find_block(id, v));
      if (got) return fmt::format("lookup of thin {} block {} found data block {}, the model has it unmapped", id, v, got->data_block);
      return std::string();
    };
    auto next_is = [&](std::uint64_t from) -> Result<std::string> {
      PDSIM_TRY_ASSIGN(auto got, md.next_mapping(id, from));
      auto it = maps.lower_bound(from);
      const bool match = it == maps.end() ? !got : (got && got->first == it->first && got->second == it->second);
      if (match) return std::string();
      return fmt::format("lookup_next of thin {} from block {} found {}, the model says {}", id, from,
                         got ? fmt::format("block {} -> {}", got->first, got->second) : "nothing",
                         it == maps.end() ? "nothing" : fmt::format("block {} -> {}", it->first, it->second));
    };
    PDSIM_TRY_ASSIGN(auto lo, md.lowest_mapped_block(id));
    PDSIM_TRY_ASSIGN(auto hi, md.highest_mapped_block(id));
    auto name = [](const std::optional<std::uint64_t>& v) { return v ? std::to_string(*v) : std::string("none"); };
    const std::string got_edges = fmt::format("{}/{}", name(lo), name(hi));
    const std::string want_edges =
        maps.empty() ? std::string("none/none") : fmt::format("{}/{}", maps.begin()->first, maps.rbegin()->first);
    if (got_edges != want_edges)
      return fmt::format("thin {}: lowest/highest mapped blocks {}, the model says {}", id, got_edges, want_edges);
    PDSIM_TRY_ASSIGN(std::string d, next_is(0));
    if (!d.empty()) return d;
    auto check_key = [&](std::uint64_t v, BlockNr b) -> Result<std::string> {
      PDSIM_TRY_ASSIGN(auto got, md.find_block(id, v));
      if (!got || got->data_block != b)
        return fmt::format("lookup of thin {} block {} found {}, the model says data block {}", id, v,
                           got ? fmt::format("data block {}", got->data_block) : "nothing", b);
      for (const std::uint64_t n : {v - 1, v + 1}) {
        if ((n == v - 1 && v == 0) || maps.count(n) != 0) continue;
        PDSIM_TRY_ASSIGN(std::string a, absent(n));
        if (!a.empty()) return a;
      }
      PDSIM_TRY_ASSIGN(std::string at, next_is(v));
      if (!at.empty()) return at;
      return next_is(v + 1);
    };
    if (sample == 0 || maps.size() <= sample) {
      for (const auto& [v, b] : maps) {
        PDSIM_TRY_ASSIGN(std::string e, check_key(v, b));
        if (!e.empty()) return e;
      }
      continue;
    }
    for (std::uint64_t i = 0; i < sample; ++i) {
      // A random point of the device's range, then the mapping at or after it: O(log n).
      const std::uint64_t first = maps.begin()->first, last = maps.rbegin()->first;
      auto it = maps.lower_bound(first + rng.below(last - first + 1));
      PDSIM_TRY_ASSIGN(std::string e, check_key(it->first, it->second));
      if (!e.empty()) return e;
    }
  }
  return std::string();
}

}  // namespace pdsim::scenarios
