// SPDX-License-Identifier: GPL-2.0-or-later
// thin_dump's XML (verification.md §3.1): the superblock line, then one <device> per entry of the
// details tree in id order, its mappings from the mapping tree with runs of consecutive virtual
// blocks that map to consecutive data blocks at the same time coalesced into range_mapping.
// Reads through a read-only block manager: it never writes.
#pragma once

#include <optional>
#include <ostream>

#include "core/block/block_manager.h"
#include "core/common/result.h"

namespace pdsim::thin {

struct DumpOptions {
  // Read the metadata snapshot: nullopt = the live superblock; 0 = the held root the superblock
  // names (thin_dump -m); any other value = that block (--metadata-snap=BLOCK).
  std::optional<BlockNr> metadata_snap;
  bool skip_mappings = false;
};

// Streams the document to `out`. On an error part of it may have been written: the caller holds
// it back or discards it (pdsim dump buffers stdout and renames a complete file into place).
[[nodiscard]] Status dump_xml(BlockDevice& dev, const DumpOptions& opts, std::ostream& out);

}  // namespace pdsim::thin
