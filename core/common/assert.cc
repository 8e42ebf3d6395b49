// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/common/assert.h"

#include <cstdio>
#include <cstdlib>

namespace pdsim::detail {

void assertion_failed(const char* condition, const char* message, const char* file, int line,
                      const char* function) noexcept {
  std::fprintf(stderr, "pdsim: assertion failed: %s (%s) at %s:%d in %s\n", message, condition,
               file, line, function);
  std::fflush(stderr);
  std::abort();
}

}  // namespace pdsim::detail
