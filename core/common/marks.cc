// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/common/marks.h"

namespace pdsim::marks {
namespace {
std::map<std::string, std::uint64_t, std::less<>>& registry() {
  static std::map<std::string, std::uint64_t, std::less<>> r;  // node-based: references stay valid
  return r;
}
}  // namespace

std::uint64_t& counter(std::string_view name) {
  auto& r = registry();
  auto it = r.find(name);
  if (it == r.end()) it = r.emplace(std::string(name), 0).first;
  return it->second;
}

std::map<std::string, std::uint64_t> snapshot() {
  const auto& r = registry();
  return {r.begin(), r.end()};
}

void reset() {
  for (auto& [name, count] : registry()) count = 0;
}

std::map<std::string, std::uint64_t> diff(const std::map<std::string, std::uint64_t>& before,
                                          const std::map<std::string, std::uint64_t>& after) {
  std::map<std::string, std::uint64_t> out;
  for (const auto& [name, count] : after) {
    auto it = before.find(name);
    const std::uint64_t was = it == before.end() ? 0 : it->second;
    if (count > was) out[name] = count - was;
  }
  return out;
}

}  // namespace pdsim::marks
