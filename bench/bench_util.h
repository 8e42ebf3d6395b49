// SPDX-License-Identifier: GPL-2.0-or-later
// Helpers shared by the side-by-side benchmark programs (bench/*_compare.cc).
#pragma once

#include <algorithm>
#include <vector>

namespace pdsim::bench {

// The median of the measurements (the upper one of the middle two for an even count).
// REQUIRES: !v.empty().
inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace pdsim::bench
