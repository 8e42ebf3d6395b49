// SPDX-License-Identifier: GPL-2.0-or-later
// Shrinking a failing run's steps (delta debugging) and the steps files it leaves behind.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "scenarios/runner/scenario.h"

namespace pdsim::scenarios {

// Delta debugging (ddmin): a 1-minimal sublist of `steps` for which `fails` still holds.
[[nodiscard]] Steps shrink_steps(const Steps& steps, const std::function<bool(const Steps&)>& fails,
                                 std::uint64_t max_tries = 2000);

// A steps file: one step a line; empty lines and lines starting with '#' are skipped.
// `lines`, when given, receives each step's line number (from 1).
[[nodiscard]] Result<Steps> read_steps(const std::string& path, std::vector<std::size_t>* lines = nullptr);
// Writes `header` as a '#' comment line, then the steps. An error names the file.
[[nodiscard]] Status write_steps(const std::string& path, const std::string& header, const Steps& steps);

}  // namespace pdsim::scenarios
