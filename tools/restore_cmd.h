// SPDX-License-Identifier: GPL-2.0-or-later
// `pdsim restore`: thin_dump XML -> pool metadata in an existing file or device.
#pragma once

#include <string>

namespace pdsim::tools {

// Returns the process exit code (0 done, 1 refused or failed; one line on stderr).
int cmd_restore(const std::string& input, const std::string& output);

}  // namespace pdsim::tools
