// SPDX-License-Identifier: GPL-2.0-or-later
// check(): the orchestration. Order matters only in one way: every reference (space-map
// structures, trees, direct references) is counted before the space maps are compared.
#include "core/check/check.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <memory>

#include "core/block/checksum.h"
#include "core/check/context.h"
#include "core/check/layout.h"
#include "core/check/space_maps.h"
#include "core/check/tree_walk.h"
#include "core/common/endian.h"

namespace pdsim::check {

SpaceMapRoot parse_space_map_root(const std::uint8_t* p) noexcept {
  return {load_le<std::uint64_t>(p), load_le<std::uint64_t>(p + 8), load_le<std::uint64_t>(p + 16),
          load_le<std::uint64_t>(p + 24)};
}

std::string_view to_string(ProblemKind kind) noexcept {
  switch (kind) {
    case ProblemKind::io_limit: return "io_limit";
    case ProblemKind::bad_checksum: return "bad_checksum";
    case ProblemKind::bad_blocknr: return "bad_blocknr";
    case ProblemKind::bad_node: return "bad_node";
    case ProblemKind::key_order: return "key_order";
    case ProblemKind::bad_fill: return "bad_fill";
    case ProblemKind::value_size_mismatch: return "value_size_mismatch";
    case ProblemKind::unequal_depth: return "unequal_depth";
    case ProblemKind::cycle: return "cycle";
    case ProblemKind::too_deep: return "too_deep";
    case ProblemKind::cross_linked: return "cross_linked";
    case ProblemKind::bad_array_block: return "bad_array_block";
    case ProblemKind::bad_sm_root: return "bad_sm_root";
    case ProblemKind::bad_bitmap: return "bad_bitmap";
    case ProblemKind::bad_overflow: return "bad_overflow";
    case ProblemKind::missing_overflow: return "missing_overflow";
    case ProblemKind::leak: return "leak";
    case ProblemKind::over_count: return "over_count";
    case ProblemKind::under_count: return "under_count";
    case ProblemKind::bad_index_summary: return "bad_index_summary";
    case ProblemKind::bad_nr_allocated: return "bad_nr_allocated";
    case ProblemKind::out_of_range: return "out_of_range";
    case ProblemKind::bad_superblock: return "bad_superblock";
    case ProblemKind::bad_mapped_blocks: return "bad_mapped_blocks";
    case ProblemKind::bad_device_set: return "bad_device_set";
    case ProblemKind::bad_array_length: return "bad_array_length";
    case ProblemKind::bad_mapping: return "bad_mapping";
  }
  return "?";
}

std::string to_string(const Problem& p) {
  return fmt::format("{}{} [{}{}]: {}", to_string(p.kind), p.severity == Severity::non_fatal ? " (non-fatal)" : "",
                     p.space == Space::data ? "data " : "", p.block ? fmt::format("block {}", *p.block) : "-",
                     p.message);
}

bool Report::has_fatal() const {
  return problems_dropped > 0 ||
         std::any_of(problems.begin(), problems.end(), [](const Problem& p) { return p.severity == Severity::fatal; });
}

bool Report::has(ProblemKind kind) const {
  return std::any_of(problems.begin(), problems.end(), [&](const Problem& p) { return p.kind == kind; });
}

bool Report::has(ProblemKind kind, BlockNr block) const {
  return std::any_of(problems.begin(), problems.end(),
                     [&](const Problem& p) { return p.kind == kind && p.block == block; });
}

namespace {

using detail::Context;
using detail::Role;

struct ArrayBlockSeen {
  std::uint64_t key;
  BlockNr block;
  std::uint32_t nr_entries;
  std::uint32_t max_entries;
};

// Validates a dm-array block (ondisk-format.md §6.1) on its first reference.
Status visit_array_block(Context& ctx, const TreeSpec& spec, BlockNr leaf, std::uint64_t key, BlockNr ab,
                         std::vector<ArrayBlockSeen>& seen) {
  if (!ctx.ref_metadata(ab, spec.name + " array block pointer", leaf)) return ok_status();
  if (!ctx.claim(ab, Role{Role::Kind::array, spec.array_value_size}, spec.name)) return ok_status();
  auto blk = std::make_unique<Block>();
  PDSIM_TRY_ASSIGN(const bool ok, ctx.read_validated(ab, salt::array_block, 16, "array block", *blk));
  if (!ok) {
    ctx.report().walk_incomplete = true;
    return ok_status();
  }
  ++ctx.report().array_blocks;
  const layout::ArrayHeader h = layout::array_header(*blk);
  if (h.value_size == 0 || (spec.array_value_size != 0 && h.value_size != spec.array_value_size) ||
      h.max_entries != layout::array_max_entries(std::max<std::uint32_t>(h.value_size, 1)) ||
      h.nr_entries > h.max_entries) {
    ctx.problem(ProblemKind::bad_array_block, ab,
                fmt::format("array block {} of {}: value_size {} (want {}), max_entries {}, nr_entries {}", ab,
                            spec.name, h.value_size, spec.array_value_size, h.max_entries, h.nr_entries));
    return ok_status();
  }
  seen.push_back({key, ab, h.nr_entries, h.max_entries});
  return ok_status();
}

// A dm-array is dense: keys 0..n-1, every block full but the last (ondisk-format.md §6.2).
void check_array_density(Context& ctx, const TreeSpec& spec, std::vector<ArrayBlockSeen>& seen) {
  std::sort(seen.begin(), seen.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  for (std::size_t i = 0; i < seen.size(); ++i) {
    if (seen[i].key != i) {
      ctx.problem(ProblemKind::bad_array_block, seen[i].block,
                  fmt::format("{}: array block index {} where {} was expected (array not dense)", spec.name,
                              seen[i].key, i));
      return;
    }
    if (i + 1 < seen.size() && seen[i].nr_entries != seen[i].max_entries) {
      ctx.problem(ProblemKind::bad_array_block, seen[i].block,
                  fmt::format("{}: array block {} (index {}) holds {} of {} entries but is not the last",
                              spec.name, seen[i].block, i, seen[i].nr_entries, seen[i].max_entries));
    }
  }
}

Status walk_tree(Context& ctx, detail::TreeWalker& walker, BlockDevice& dev, const TreeSpec& spec,
                 TreeSummary& summary) {
  std::vector<ArrayBlockSeen> arrays;
  std::uint64_t distinct_entries = 0;
  auto on_value = [&](BlockNr leaf, std::uint64_t key, const std::uint8_t* v) -> Status {
    ++distinct_entries;
    switch (spec.refs) {
      case ValueRefs::none: return ok_status();
      case ValueRefs::data_block_time:
        ++ctx.report().mappings;
        ctx.ref_data(load_le<std::uint64_t>(v) >> 24, leaf);
        return ok_status();
      case ValueRefs::metadata_block:
        return visit_array_block(ctx, spec, leaf, key, load_le<std::uint64_t>(v), arrays);
    }
    return ok_status();
  };
  PDSIM_TRY_ASSIGN(summary.bottom_entries, walker.walk(spec, on_value));
  // Density is only judged when this walk saw every entry itself (a subtree shared with an
  // earlier tree was visited, and its blocks collected, by that tree).
  if (spec.refs == ValueRefs::metadata_block && distinct_entries == summary.bottom_entries &&
      arrays.size() == distinct_entries) {
    check_array_density(ctx, spec, arrays);
  }
  if (spec.collect_top_level) {
    PDSIM_TRY_ASSIGN(summary.top, walker.top_entries(dev, spec));
  }
  return ok_status();
}

}  // namespace

Result<Report> check(BlockDevice& metadata, const Input& in) {
  Report report;
  // References are followed (and counted) only inside the range the metadata space map manages
  // and the device holds.
  const BlockNr limit = std::min({in.metadata_nr_blocks, metadata.nr_blocks(), in.metadata_sm_root.nr_blocks});
  std::optional<BlockNr> data_limit;
  if (in.data_sm_root) data_limit = in.data_sm_root->nr_blocks;
  Context ctx(metadata, limit, data_limit, report);
  if (in.metadata_nr_blocks > metadata.nr_blocks()) {
    ctx.problem(ProblemKind::bad_sm_root, std::nullopt,
                fmt::format("metadata_nr_blocks {} but the device has {} blocks", in.metadata_nr_blocks,
                            metadata.nr_blocks()));
  }
  detail::TreeWalker walker(ctx);

  for (BlockNr b : in.extra_metadata_refs) (void)ctx.ref_metadata(b, "direct reference", std::nullopt);

  PDSIM_TRY_ASSIGN(const detail::SpaceMapLayout meta_sm,
                   detail::load_metadata_space_map(ctx, walker, in.metadata_sm_root,
                                                   std::min(in.metadata_nr_blocks, metadata.nr_blocks())));
  std::optional<detail::SpaceMapLayout> data_sm;
  if (in.data_sm_root) {
    PDSIM_TRY_ASSIGN(data_sm, detail::load_disk_space_map(ctx, walker, *in.data_sm_root));
  }

  report.trees.resize(in.trees.size());
  for (std::size_t i = 0; i < in.trees.size(); ++i) {
    report.trees[i].name = in.trees[i].name;
    PDSIM_TRY(walk_tree(ctx, walker, metadata, in.trees[i], report.trees[i]));
  }

  if (in.census) report.census.emplace();
  Census* census = report.census ? &*report.census : nullptr;
  PDSIM_TRY(detail::compare_space_map(ctx, meta_sm, ctx.metadata_refs(), census ? &census->metadata_counts : nullptr));
  if (data_sm)
    PDSIM_TRY(detail::compare_space_map(ctx, *data_sm, ctx.data_refs(), census ? &census->data_counts : nullptr));
  if (census) {
    for (const auto& [b, role] : ctx.roles()) {
      using K = detail::Role::Kind;
      census->roles.emplace(b, role.kind == K::btree      ? BlockRole::btree
                               : role.kind == K::sm_index ? BlockRole::sm_index
                               : role.kind == K::bitmap   ? BlockRole::bitmap
                                                          : BlockRole::array);
    }
  }
  for (BlockNr b = 0; b < limit; ++b)
    if (ctx.metadata_refs().get(b) > 0) report.referenced_metadata.push_back(b);
  return report;
}

}  // namespace pdsim::check
