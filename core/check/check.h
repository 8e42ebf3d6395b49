// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — the independent metadata checker.
//
// Reads a metadata device read-only and recomputes everything from scratch: every btree node,
// space-map index and bitmap, array block; the reference count of every metadata block and of
// every data block; the space maps' summaries. It shares no code with the engine's mutation paths
// (no core/btree, core/sm, core/tm): an engine bug must not be able to hide itself by being
// repeated in the checker. It parses the on-disk format (ondisk-format.md §3–§7) itself.
//
// Contract:
//  * check() never writes to the device and never stops at the first problem: every discrepancy
//    found is one Problem with the block it concerns and a one-line message.
//  * A corrupt structure cannot crash it or make it loop: references outside the device are
//    reported and not followed, a block reached again on the same path (a cycle) is reported and
//    not followed, tree depth is bounded, and a node that fails validation is not descended into
//    (the blocks below it then usually show up as leaks; Report::walk_incomplete says so).
//  * check() fails (returns an Error) only when the device itself fails a read (an I/O error):
//    damage read from the device is a Problem, never an Error.
//  * Generic: the thin and cache superblock parsers translate a superblock into an Input
//    (core/check/thin_input.h for thin).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/result.h"
#include "core/io/block_device.h"

namespace pdsim::check {

inline constexpr std::uint64_t kEntriesPerBitmap = 16320;  // (4096 - 16) * 4
inline constexpr std::uint64_t kMetadataIndexEntries = 255;

// The 32-byte space-map root as stored in a superblock (ondisk-format.md §5.1).
struct SpaceMapRoot {
  std::uint64_t nr_blocks = 0;
  std::uint64_t nr_allocated = 0;
  BlockNr bitmap_root = 0;     // metadata sm: the index block; disk sm: the index btree root
  BlockNr ref_count_root = 0;  // the overflow btree root
  friend bool operator==(const SpaceMapRoot&, const SpaceMapRoot&) = default;
};
// Decodes the first 32 bytes of a superblock's 128-byte space-map-root field.
[[nodiscard]] SpaceMapRoot parse_space_map_root(const std::uint8_t* p) noexcept;

// What the bottom-level leaf values of a tree refer to.
enum class ValueRefs {
  none,
  // The value's first 8 bytes are a metadata block number of a dm-array block (dm-array block
  // pointers); the array block is validated with TreeSpec::array_value_size.
  metadata_block,
  // Thin mapping: u64 block_time, data block = value >> 24, counted in the data space map.
  data_block_time,
};

struct TreeSpec {
  std::string name;
  BlockNr root = 0;
  unsigned levels = 1;  // 1 = ordinary btree; k > 1 = upper levels hold subtree roots (§4.5)
  std::uint32_t value_size = 8;  // of the bottom level's leaves
  ValueRefs refs = ValueRefs::none;
  std::uint32_t array_value_size = 0;  // for ValueRefs::metadata_block
  // Report the level-0 leaf entries (key, raw value, bottom-level entries below) in the
  // TreeSummary, e.g. the thin device details or the per-device mapping counts.
  bool collect_top_level = false;
};

struct Input {
  BlockNr metadata_nr_blocks = 0;  // metadata device size in blocks
  SpaceMapRoot metadata_sm_root;
  std::optional<SpaceMapRoot> data_sm_root;  // the disk space map of a thin pool's data device
  std::vector<TreeSpec> trees;               // every tree reachable from the superblock(s)
  std::vector<BlockNr> extra_metadata_refs;  // blocks referenced directly (superblock, held root)
  bool census = false;                       // fill Report::census
};

// What the space maps of an image store and what each metadata block was read as: for comparing
// two images block by block (the differential scenarios). Filled only when Input::census is set.
enum class BlockRole : std::uint8_t { btree, sm_index, bitmap, array };
struct Census {
  std::map<BlockNr, std::uint64_t> metadata_counts;  // every non-zero count the metadata space map stores
  std::map<BlockNr, std::uint64_t> data_counts;      // the same for the data space map (thin)
  std::map<BlockNr, BlockRole> roles;                // every metadata block the walk read
};

enum class ProblemKind {
  io_limit,            // a block the device cannot hold (beyond the device's end)
  bad_checksum,        // stored checksum differs from the recomputed one (salt of the block type)
  bad_blocknr,         // the block's own number field differs from its location
  bad_node,            // btree node header invalid (flags, max_entries, nr_entries, size formula)
  key_order,           // keys not strictly increasing, or outside the range the parent allows
  bad_fill,            // non-root node with fewer than max_entries/3 entries
  value_size_mismatch, // leaf value_size differs from the tree's, internal value_size != 8
  unequal_depth,       // leaves of one level's tree at different depths
  cycle,               // a block reached again on its own path
  too_deep,            // the depth bound was hit
  cross_linked,        // one block used as two different kinds of structure
  bad_array_block,     // dm-array block header invalid, or the array is not dense
  bad_sm_root,         // space-map root inconsistent (size, missing bitmaps, index keys)
  bad_bitmap,          // a bitmap gives non-zero counts to blocks past nr_blocks
  bad_overflow,        // overflow entry for a block whose bitmap value is not 3, or count < 3
  missing_overflow,    // bitmap value 3 with no overflow entry
  leak,                // the space map counts a block nothing references
  over_count,          // the space map's count is above the number of references
  under_count,         // the space map's count is below the number of references (dangerous)
  bad_index_summary,   // index entry nr_free / none_free_before wrong
  bad_nr_allocated,    // root's nr_allocated differs from the number of non-zero counts
  out_of_range,        // a reference to a block >= the space map's nr_blocks
  bad_superblock,      // (superblock parsers) magic, version, feature flags
  bad_mapped_blocks,   // (thin) device details' mapped_blocks differs from the mapping count
  bad_device_set,      // (thin) device in the details tree and not the mapping tree, or reverse
  bad_array_length,    // (cache) a dm-array's length differs from what the superblock says
  bad_mapping,         // (cache) a mapping value with stray flag bits, or an origin cached twice
};
[[nodiscard]] std::string_view to_string(ProblemKind kind) noexcept;

// Non-fatal: wasted space or a stale hint, never wrong data (thin_check's
// --ignore-non-fatal-errors class): leaks, over-counts, and summaries that overstate use.
enum class Severity { fatal, non_fatal };

enum class Space { metadata, data };

struct Problem {
  ProblemKind kind;
  Severity severity = Severity::fatal;
  Space space = Space::metadata;      // which device `block` is on
  std::optional<BlockNr> block;
  std::string message;
};
[[nodiscard]] std::string to_string(const Problem& p);

struct TopEntry {
  std::uint64_t key = 0;
  std::vector<std::uint8_t> value;     // raw level-0 leaf value
  std::uint64_t bottom_entries = 0;    // levels > 1: bottom-level entries of the subtree
};

struct TreeSummary {
  std::string name;
  std::uint64_t bottom_entries = 0;  // bottom-level leaf entries, shared subtrees once per owner
  std::vector<TopEntry> top;         // when TreeSpec::collect_top_level
};

struct Report {
  std::vector<Problem> problems;
  std::uint64_t problems_dropped = 0;  // beyond kMaxProblems, counted only
  bool walk_incomplete = false;        // some node could not be descended into
  std::uint64_t metadata_blocks_read = 0;
  std::uint64_t btree_nodes = 0;       // distinct nodes
  std::uint64_t array_blocks = 0;
  std::uint64_t mappings = 0;          // data_block_time entries in distinct leaves
  std::vector<TreeSummary> trees;      // one per Input::trees, same order
  // Every metadata block something references (counted while walking), ascending: what a
  // transaction must not overwrite in place (the write-ordering oracle uses it).
  std::vector<BlockNr> referenced_metadata;
  std::optional<Census> census;  // when Input::census

  [[nodiscard]] bool clean() const { return problems.empty() && problems_dropped == 0; }
  [[nodiscard]] bool has_fatal() const;
  [[nodiscard]] bool has(ProblemKind kind) const;
  [[nodiscard]] bool has(ProblemKind kind, BlockNr block) const;
};

inline constexpr std::size_t kMaxProblems = 100000;

[[nodiscard]] Result<Report> check(BlockDevice& metadata, const Input& in);

}  // namespace pdsim::check
