// SPDX-License-Identifier: GPL-2.0-or-later
// Thin-pool entry point of the checker: the thin superblock (ondisk-format.md §8.1) translated
// into a generic check::Input, plus the thin-only cross-checks (device details vs mapping tree).
//
// Contract: read-only, like check(). A superblock that cannot be trusted (bad checksum, block
// number, magic, incompat features) is reported as a Problem and nothing else is walked.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/check/check.h"
#include "core/common/result.h"
#include "core/io/block_device.h"

namespace pdsim::check {

inline constexpr std::uint32_t kThinMagic = 27022010;

struct ThinSuperblock {
  std::uint32_t flags = 0;
  std::uint32_t version = 0;
  std::uint32_t time = 0;
  std::uint64_t trans_id = 0;
  BlockNr held_root = 0;
  SpaceMapRoot data_sm_root;
  SpaceMapRoot metadata_sm_root;
  BlockNr data_mapping_root = 0;
  BlockNr device_details_root = 0;
  std::uint32_t data_block_size = 0;
  std::uint32_t metadata_block_size = 0;
  std::uint64_t metadata_nr_blocks = 0;
  std::uint32_t compat_flags = 0, compat_ro_flags = 0, incompat_flags = 0;
};

// Decodes a thin superblock's fields (no validation).
[[nodiscard]] ThinSuperblock parse_thin_superblock(const Block& b) noexcept;

struct ThinInput {
  Input input;                    // empty trees when the superblock is unusable
  std::vector<Problem> problems;  // superblock problems found while building it
  bool usable = false;
  std::optional<ThinSuperblock> live;
  std::optional<ThinSuperblock> snapshot;  // the metadata snapshot (held root), if any
};

// Reads block 0 (and the held root's copy) and builds the Input: live details and mapping
// trees, the snapshot's two trees, both space maps, direct references to block 0 and held_root.
[[nodiscard]] Result<ThinInput> thin_input(BlockDevice& metadata);

// thin_input() + check() + details/mapping cross-checks (mapped_blocks, device sets).
// `census`: fill Report::census as well.
[[nodiscard]] Result<Report> check_thin(BlockDevice& metadata, bool census = false);

}  // namespace pdsim::check
