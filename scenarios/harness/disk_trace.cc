// SPDX-License-Identifier: GPL-2.0-or-later
#include "scenarios/harness/disk_trace.h"

#include <fmt/format.h>

#include "core/pack/block_kind.h"

namespace pdsim::scenarios {

void trace_disk(const sim::SimDisk& disk, std::size_t& from, std::ostream& out) {
  const auto& entries = disk.log().entries();
  for (; from < entries.size(); ++from) {
    const sim::LogEntry& e = entries[from];
    if (e.op == sim::LogOp::read) continue;  // a run reads far more than it writes: writes, flushes and cuts only
    std::string kind;
    // The kind of what the disk stored; of a write it did not store (failed, dropped), of what
    // the engine sent.
    const sim::SharedBlock& shown = e.data ? e.data : e.sent;
    if (e.op == sim::LogOp::write && shown) {
      const auto k = pack::classify_block(*shown);
      kind = k ? fmt::format(" ({})", pack::to_string(*k)) : " (not metadata: no valid checksum)";
    }
    out << fmt::format("    disk #{}: {}{}\n", from, e.describe(), kind);
  }
}

}  // namespace pdsim::scenarios
