// SPDX-License-Identifier: GPL-2.0-or-later
// `pdsim run --trace`: the disk operations of a step, from the SimDisk's write log, one line each,
// with what kind of metadata block each write carries (by its checksum salt). Deterministic: the
// same run prints the same lines.
#pragma once

#include <cstddef>
#include <ostream>

#include "sim/sim_disk.h"

namespace pdsim::scenarios {

// Prints the log entries from `from` on ("    disk #N: write 12 crc=... (btree node)") and moves
// `from` past them.
void trace_disk(const sim::SimDisk& disk, std::size_t& from, std::ostream& out);

}  // namespace pdsim::scenarios
