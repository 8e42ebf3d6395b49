// SPDX-License-Identifier: GPL-2.0-or-later
// `pdsim run --report DIR`: one self-contained HTML page per failing seed and one summary page
// (DIR/index.html). No network, no scripts, no external fonts: the pages open from a file.
//
// A seed page is made from the same data `--trace` prints: the (shrunk) steps of a replay with
// the trace on, each with the disk operations it caused. It shows the failure and the commands
// that reproduce and replay it; a timeline of the disk (every write with its block and the kind
// of metadata block it carries, flushes, the power cuts and which pending writes each kept); and,
// for each block the failure names, that block as it is on the failing run's disk, decoded (node
// header and keys, bitmap counts, index entries, array header, superblock fields), with its path
// from the superblock; and, when the run saved the disk as its last successful commit left it,
// that commit's block beside it field by field, the differences marked (the superblock first), and
// beside both the block as the engine last wrote it, marking writes the disk did not keep.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "scenarios/runner/report.h"

namespace pdsim::scenarios {

struct SeedPage {
  std::string scenario;
  std::uint64_t seed = 0;
  std::vector<std::string> failures;  // the run's failure lines, first = the symptom
  std::string reproduce;              // the command
  std::string replay;                 // "" when the scenario has no steps
  std::string trace;                  // what --trace printed for the replay (steps and disk lines)
  // The failure lines of that replay: the run the trace and the images are of. Shrinking keeps a
  // list of steps that fails, not necessarily with the same first failure.
  std::vector<std::string> replay_failures;
  std::string image_path;             // the failing run's disk image ("" when none was saved)
  std::string expected_image_path;    // the disk as the run's last successful commit left it ("" when none)
  std::string written_image_path;     // every block as the engine last wrote it ("" when none)
};

// DIR/SCENARIO-seedN.html; returns its file name (without DIR).
[[nodiscard]] Result<std::string> write_seed_page(const std::string& dir, const SeedPage& page);
// DIR/index.html: the scenarios' totals, the failures (linking their pages) and the coverage marks
// as a bar chart.
[[nodiscard]] Status write_summary_page(const std::string& dir, const report::Run& run);

}  // namespace pdsim::scenarios
