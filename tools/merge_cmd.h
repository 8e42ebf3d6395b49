// SPDX-License-Identifier: GPL-2.0-or-later
// `pdsim merge REPORT.json... -o ALL.json`: the JSON reports of the shards of one run (`pdsim run
// ... --shard I/N --json`) merged into the report the whole range gives in one process, with the
// summary table a run prints.
#pragma once

#include <string>
#include <vector>

namespace pdsim::tools {

// Returns the exit code: 0 the merged run passed, 1 it failed, 2 the reports cannot be merged (a
// usage error: one line on stderr naming the report and what differs; nothing is written).
int cmd_merge(const std::vector<std::string>& reports, const std::string& output);

}  // namespace pdsim::tools
