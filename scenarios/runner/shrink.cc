// SPDX-License-Identifier: GPL-2.0-or-later
#include "scenarios/runner/shrink.h"

#include <algorithm>
#include <fstream>

#include <fmt/format.h>

namespace pdsim::scenarios {

Steps shrink_steps(const Steps& steps, const std::function<bool(const Steps&)>& fails, std::uint64_t max_tries) {
  Steps cur = steps;
  std::size_t n = 2;
  std::uint64_t tries = 0;
  while (cur.size() >= 2 && tries < max_tries) {
    const std::size_t chunk = (cur.size() + n - 1) / n;
    bool reduced = false;
    // Try removing each chunk (testing each complement).
    for (std::size_t start = 0; start < cur.size() && tries < max_tries; start += chunk) {
      Steps candidate;
      candidate.reserve(cur.size());
      for (std::size_t i = 0; i < cur.size(); ++i)
        if (i < start || i >= start + chunk) candidate.push_back(cur[i]);
      ++tries;
      if (!candidate.empty() && fails(candidate)) {
        cur = std::move(candidate);
        n = std::max<std::size_t>(n - 1, 2);
        reduced = true;
        break;
      }
    }
    if (reduced) continue;
    if (n >= cur.size()) break;
    n = std::min(cur.size(), n * 2);
  }
  return cur;
}

Result<Steps> read_steps(const std::string& path, std::vector<std::size_t>* lines) {
  std::ifstream in(path);
  if (!in) return Error::io(fmt::format("cannot read '{}'", path));
  Steps steps;
  std::string line;
  for (std::size_t n = 1; std::getline(in, line); ++n) {
    if (line.empty() || line[0] == '#') continue;
    steps.push_back(line);
    if (lines != nullptr) lines->push_back(n);
  }
  if (in.bad()) return Error::io(fmt::format("read error in '{}'", path));
  return steps;
}

Status write_steps(const std::string& path, const std::string& header, const Steps& steps) {
  std::ofstream f(path, std::ios::trunc);
  f << "# " << header << "\n";
  for (const auto& s : steps) f << s << "\n";
  f.close();
  if (!f) return Error::io(fmt::format("cannot write '{}'", path));
  return {};
}

}  // namespace pdsim::scenarios
