// SPDX-License-Identifier: GPL-2.0-or-later
// `pdsim run seeds`: the seed-bug report. For every switch: its regression scenario run with the
// switch on until it fails (seeds and operations until caught, the shrunk trace), the same seeds
// with every switch off (no false alarm), and which other scenarios also see the bug.
#pragma once

#include <ostream>

#include "scenarios/runner/runner.h"

namespace pdsim::scenarios {

// Exit code: 0 when every bug is caught with its switch on and every scenario passes with all off.
[[nodiscard]] int run_seeds_report(const RunRequest& req, std::ostream& out, std::ostream& err);

}  // namespace pdsim::scenarios
