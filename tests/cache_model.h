// SPDX-License-Identifier: GPL-2.0-or-later
// A model of dm-cache metadata for the cache tests: what the engine was told, printed the way
// cache_dump prints it. Random workloads drive the engine and this model side by side.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/cache/cache_dump.h"
#include "core/cache/cache_metadata.h"
#include "sim/rng.h"

namespace pdsim::cache::testing {

struct CacheModel {
  std::uint32_t version = 1;
  std::uint32_t block_size = 128;
  std::uint32_t cache_blocks = 0;
  std::map<std::uint32_t, Mapping> mappings;
  std::string policy;
  bool hint_array = false;
  std::vector<std::uint32_t> hints;  // cache_blocks entries when hint_array
  std::uint64_t discard_block_size = 0;
  std::vector<bool> discards;
  Stats stats;

  friend bool operator==(const CacheModel&, const CacheModel&) = default;

  // As cache_dump prints it (hint_width always 4, no discards); `tools_v2_bug`: as 0.9 prints a
  // version-2 image (dirty="false"); `discards`: with pdsim cache-dump --discards' section.
  [[nodiscard]] std::string xml(bool tools_v2_bug = false, bool with_discards = false) const {
    std::string s = fmt::format("<superblock uuid=\"\" block_size=\"{}\" nr_cache_blocks=\"{}\" policy=\"{}\" hint_width=\"{}\">\n",
                                block_size, cache_blocks, policy, 4);
    s += "  <mappings>\n";
    for (const auto& [c, m] : mappings) {
      const bool dirty = m.dirty && !(tools_v2_bug && version >= 2);
      s += fmt::format("    <mapping cache_block=\"{}\" origin_block=\"{}\" dirty=\"{}\"/>\n", c, m.oblock, dirty ? "true" : "false");
    }
    s += "  </mappings>\n";
    s += "  <hints>\n";  // cache_dump prints the section even with no hint array
    if (hint_array) {
      for (const auto& [c, m] : mappings) {
        std::string raw(4, '\0');
        for (int i = 0; i < 4; ++i) raw[static_cast<std::size_t>(i)] = static_cast<char>((hints[c] >> (8 * i)) & 0xFFu);
        s += fmt::format("    <hint cache_block=\"{}\" data=\"{}\"/>\n", c, base64_encode(raw));
      }
    }
    s += "  </hints>\n";
    if (with_discards && !discards.empty()) {
      s += "  <discards>\n";
      std::size_t i = 0;
      while (i < discards.size()) {
        if (!discards[i]) { ++i; continue; }
        std::size_t j = i;
        while (j < discards.size() && discards[j]) ++j;
        s += fmt::format("    <discard dbegin=\"{}\" dend=\"{}\"/>\n", i, j);
        i = j;
      }
      s += "  </discards>\n";
    }
    return s + "</superblock>\n";
  }
};

// One random operation on both the engine and the model. Returns the engine's status; on an
// error the model is left as it was (the caller aborts). `allow_resize` false keeps the size.
inline Status random_op(CacheMetadata& md, CacheModel& m, sim::Rng& rng, bool allow_resize = true) {
  const auto dice = rng.below(100);
  CacheModel next = m;
  Status s;
  if (m.cache_blocks == 0 || (allow_resize && dice < 4)) {
    const std::uint32_t n = static_cast<std::uint32_t>(rng.between(1, 3000));
    bool refused = false;
    for (const auto& [c, mp] : m.mappings) refused = refused || (c >= n && mp.dirty);
    s = md.resize(n);
    if (refused) {
      if (s.ok() || s.error().kind() != ErrorKind::invalid) return Error::corruption("shrink past a dirty block was not refused");
      return {};  // refused, nothing changed
    }
    next.mappings.erase(next.mappings.lower_bound(n), next.mappings.end());
    if (next.hint_array) next.hints.resize(n, 0);
    next.cache_blocks = n;
  } else if (dice < 45) {
    const auto c = static_cast<std::uint32_t>(rng.below(m.cache_blocks));
    std::uint64_t o = 0;
    bool taken = true;
    while (taken) {
      o = rng.below(1u << 20);
      taken = false;
      for (const auto& [cb, mp] : m.mappings) taken = taken || (mp.oblock == o && cb != c);
    }
    s = md.insert_mapping(c, o);
    next.mappings[c] = Mapping{o, false};  // a new mapping is clean
  } else if (dice < 55 && !m.mappings.empty()) {
    auto it = m.mappings.begin();
    std::advance(it, static_cast<long>(rng.below(m.mappings.size())));
    s = md.remove_mapping(it->first);
    next.mappings.erase(it->first);
  } else if (dice < 75 && !m.mappings.empty()) {
    auto it = m.mappings.begin();
    std::advance(it, static_cast<long>(rng.below(m.mappings.size())));
    const bool d = rng.chance(2, 3);
    s = md.set_dirty(it->first, d);
    next.mappings[it->first].dirty = d;
  } else if (dice < 80) {
    const std::uint64_t n = rng.between(1, 700);
    s = md.resize_discard(256, n);
    next.discard_block_size = 256;
    next.discards.resize(n, false);
  } else if (dice < 90 && !m.discards.empty()) {
    const auto d = rng.below(m.discards.size());
    const bool on = rng.chance(1, 2);
    s = md.set_discard(d, on);
    next.discards[d] = on;
  } else if (dice < 94) {
    const std::uint32_t seed = static_cast<std::uint32_t>(rng.next());
    const Policy p{rng.chance(1, 2) ? "smq" : "mq", {2, 0, 0}, 4};
    s = md.write_hints(p, [&](std::uint32_t c) -> Result<std::uint32_t> { return seed ^ (c * 2654435761u); });
    next.policy = p.name;
    next.hint_array = true;
    next.hints.resize(m.cache_blocks);
    for (std::uint32_t c = 0; c < m.cache_blocks; ++c) next.hints[c] = seed ^ (c * 2654435761u);
  } else {
    next.stats.read_hits = static_cast<std::uint32_t>(rng.next());
    next.stats.write_misses = static_cast<std::uint32_t>(rng.next());
    md.set_stats(next.stats);
  }
  if (s) m = next;
  return s;
}

}  // namespace pdsim::cache::testing
