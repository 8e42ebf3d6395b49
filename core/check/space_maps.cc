// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/check/space_maps.h"

#include <fmt/format.h>

#include <memory>

#include "core/block/checksum.h"

namespace pdsim::check::detail {
namespace {

std::uint64_t bitmaps_for(std::uint64_t nr_blocks) {
  return nr_blocks / kEntriesPerBitmap + (nr_blocks % kEntriesPerBitmap != 0 ? 1 : 0);
}

// Counts the bitmap's block as a reference and claims it; false when it cannot be read as one.
bool adopt_bitmap(Context& ctx, const SpaceMapLayout& sm, std::uint64_t i, const layout::IndexEntry& e,
                  std::optional<BlockNr> from) {
  if (e.blocknr == 0) {  // block 0 is always the superblock: 0 means "no bitmap"
    ctx.problem(ProblemKind::bad_sm_root, from,
                fmt::format("{}: index entry {} has no bitmap block", sm.name, i));
    return false;
  }
  if (!ctx.ref_metadata(e.blocknr, sm.name + " bitmap pointer", from)) return false;
  // A second claim with the same role (two index entries naming one bitmap) is caught by the
  // count comparison: the block then has two references.
  (void)ctx.claim(e.blocknr, Role{Role::Kind::bitmap}, sm.name);
  return true;
}

Status load_overflow(TreeWalker& walker, SpaceMapLayout& sm) {
  TreeSpec spec{sm.name + " ref-count tree", sm.root.ref_count_root, 1, 4, ValueRefs::none};
  PDSIM_TRY_ASSIGN(const std::uint64_t entries,
                   walker.walk(spec, [&](BlockNr, std::uint64_t key, const std::uint8_t* v) -> Status {
                     sm.overflow[key] = load_le<std::uint32_t>(v);
                     return ok_status();
                   }));
  (void)entries;
  return ok_status();
}

}  // namespace

Result<SpaceMapLayout> load_metadata_space_map(Context& ctx, TreeWalker& walker, const SpaceMapRoot& root,
                                               BlockNr device_blocks) {
  SpaceMapLayout sm;
  sm.space = Space::metadata;
  sm.name = "metadata space map";
  sm.root = root;
  std::uint64_t nr_bitmaps = bitmaps_for(root.nr_blocks);
  if (nr_bitmaps > kMetadataIndexEntries) {
    ctx.problem(ProblemKind::bad_sm_root, std::nullopt,
                fmt::format("metadata space map of {} blocks needs {} bitmaps, the index holds {}",
                            root.nr_blocks, nr_bitmaps, kMetadataIndexEntries));
    nr_bitmaps = kMetadataIndexEntries;
  }
  if (root.nr_blocks > device_blocks) {
    ctx.problem(ProblemKind::bad_sm_root, std::nullopt,
                fmt::format("metadata space map manages {} blocks, the device has {}", root.nr_blocks,
                            device_blocks));
  }
  sm.bitmaps.resize(nr_bitmaps);

  const BlockNr ib = root.bitmap_root;
  if (ctx.ref_metadata(ib, "metadata space map index block", std::nullopt) &&
      ctx.claim(ib, Role{Role::Kind::sm_index}, sm.name)) {
    auto blk = std::make_unique<Block>();
    PDSIM_TRY_ASSIGN(const bool ok, ctx.read_validated(ib, salt::sm_index, 8, "metadata index block", *blk));
    if (ok) {
      for (std::uint64_t i = 0; i < nr_bitmaps; ++i) {
        const auto e = layout::index_entry(blk->data() + layout::kIndexBlockEntries + i * layout::kIndexEntrySize);
        if (adopt_bitmap(ctx, sm, i, e, ib)) sm.bitmaps[i] = e;
      }
    } else {
      ctx.report().walk_incomplete = true;
    }
  }
  PDSIM_TRY(load_overflow(walker, sm));
  return sm;
}

Result<SpaceMapLayout> load_disk_space_map(Context& ctx, TreeWalker& walker, const SpaceMapRoot& root) {
  SpaceMapLayout sm;
  sm.space = Space::data;
  sm.name = "data space map";
  sm.root = root;
  const std::uint64_t nr_bitmaps = bitmaps_for(root.nr_blocks);
  // Every bitmap is a distinct metadata block: more bitmaps than metadata blocks is a garbage
  // root (and must not make us allocate a vector of that size).
  if (nr_bitmaps > ctx.metadata_limit()) {
    ctx.problem(ProblemKind::bad_sm_root, std::nullopt,
                fmt::format("data space map of {} blocks needs {} bitmaps, more than the {} metadata blocks",
                            root.nr_blocks, nr_bitmaps, ctx.metadata_limit()));
    sm.usable = false;
  } else {
    sm.bitmaps.resize(nr_bitmaps);
  }
  std::vector<std::pair<BlockNr, std::pair<std::uint64_t, layout::IndexEntry>>> found;  // leaf, (key, entry)
  TreeSpec spec{"data space map index", root.bitmap_root, 1, 16, ValueRefs::none};
  const bool incomplete_before = ctx.report().walk_incomplete;
  ctx.report().walk_incomplete = false;
  PDSIM_TRY_ASSIGN(const std::uint64_t entries,
                   walker.walk(spec, [&](BlockNr leaf, std::uint64_t key, const std::uint8_t* v) -> Status {
                     found.push_back({leaf, {key, layout::index_entry(v)}});
                     return ok_status();
                   }));
  (void)entries;
  // Missing index keys are only reported when the index walk itself saw every node.
  const bool index_complete = !ctx.report().walk_incomplete;
  ctx.report().walk_incomplete = ctx.report().walk_incomplete || incomplete_before;
  std::vector<bool> seen(sm.bitmaps.size(), false);
  for (const auto& [leaf, ke] : found) {
    const auto& [key, e] = ke;
    if (key >= nr_bitmaps) {
      ctx.problem(ProblemKind::bad_sm_root, leaf,
                  fmt::format("data space map index leaf {} has bitmap {}, the map needs only {}", leaf, key,
                              nr_bitmaps));
      // Still a reference held by the index.
      if (e.blocknr != 0) (void)ctx.ref_metadata(e.blocknr, "data bitmap pointer", leaf);
      continue;
    }
    if (!sm.usable) continue;
    seen[key] = true;
    if (adopt_bitmap(ctx, sm, key, e, leaf)) sm.bitmaps[key] = e;
  }
  if (sm.usable && index_complete) {
    for (std::uint64_t i = 0; i < sm.bitmaps.size(); ++i) {
      if (!seen[i]) {
        ctx.problem(ProblemKind::bad_sm_root, root.bitmap_root,
                    fmt::format("data space map index has no entry for bitmap {}", i));
      }
    }
  }
  PDSIM_TRY(load_overflow(walker, sm));
  return sm;
}

Status compare_space_map(Context& ctx, const SpaceMapLayout& sm, const RefCounts& refs,
                         std::map<BlockNr, std::uint64_t>* stored_counts) {
  if (!sm.usable) return ok_status();
  const Space space = sm.space;
  const char* dev = space == Space::metadata ? "metadata" : "data";
  bool all_read = true;
  std::uint64_t allocated = 0;
  auto blk = std::make_unique<Block>();
  for (std::uint64_t i = 0; i < sm.bitmaps.size(); ++i) {
    if (!sm.bitmaps[i]) {
      all_read = false;
      continue;
    }
    const layout::IndexEntry& ie = *sm.bitmaps[i];
    PDSIM_TRY_ASSIGN(const bool ok, ctx.read_validated(ie.blocknr, salt::sm_bitmap, 8,
                                                       fmt::format("{} bitmap", sm.name), *blk));
    if (!ok) {
      all_read = false;
      continue;
    }
    const BlockNr first = i * kEntriesPerBitmap;
    const std::uint64_t here = std::min<std::uint64_t>(kEntriesPerBitmap, sm.root.nr_blocks - first);
    std::uint32_t free_whole = 0, free_below = 0;
    bool tail_reported = false;
    for (std::uint64_t e = 0; e < kEntriesPerBitmap; ++e) {
      const unsigned v = layout::bitmap_value(*blk, e);
      if (e >= here) {
        if (v == 0) ++free_whole;
        else if (!tail_reported) {
          tail_reported = true;
          ctx.problem(ProblemKind::bad_bitmap, ie.blocknr,
                      fmt::format("{} bitmap {} (block {}) counts {} block {} past nr_blocks {}", sm.name, i,
                                  ie.blocknr, dev, first + e, sm.root.nr_blocks));
        }
        continue;
      }
      const BlockNr b = first + e;
      if (v == 0) {
        ++free_whole;
        ++free_below;
      } else {
        ++allocated;
      }
      std::uint64_t stored = v;
      auto of = sm.overflow.find(b);
      if (v == 3) {
        if (of == sm.overflow.end()) {
          ctx.problem(ProblemKind::missing_overflow, b,
                      fmt::format("{} block {}: bitmap value 3 but no ref-count tree entry", dev, b),
                      Severity::fatal, space);
          continue;
        }
        stored = of->second;
        if (stored < 3) {
          ctx.problem(ProblemKind::bad_overflow, b,
                      fmt::format("{} block {}: ref-count tree holds {}, below 3", dev, b, stored),
                      Severity::fatal, space);
        }
      } else if (of != sm.overflow.end()) {
        ctx.problem(ProblemKind::bad_overflow, b,
                    fmt::format("{} block {}: ref-count tree entry {} but bitmap value {}", dev, b, of->second, v),
                    Severity::fatal, space);
      }
      const std::uint64_t expected = refs.get(b);
      if (stored_counts != nullptr && stored != 0) stored_counts->emplace(b, stored);
      if (stored == expected) continue;
      if (expected == 0) {
        ctx.problem(ProblemKind::leak, b,
                    fmt::format("{} block {}: count {} but nothing references it", dev, b, stored),
                    Severity::non_fatal, space);
      } else if (stored > expected) {
        ctx.problem(ProblemKind::over_count, b,
                    fmt::format("{} block {}: count {} but {} reference(s)", dev, b, stored, expected),
                    Severity::non_fatal, space);
      } else {
        ctx.problem(ProblemKind::under_count, b,
                    fmt::format("{} block {}: count {} but {} reference(s)", dev, b, stored, expected),
                    Severity::fatal, space);
      }
    }
    // nr_free: the kernel counts the whole bitmap, the tools only entries below nr_blocks
    // (ondisk-format.md §5.2): either is right. A lower value only hides free blocks.
    if (ie.nr_free != free_whole && ie.nr_free != free_below) {
      ctx.problem(ProblemKind::bad_index_summary, ie.blocknr,
                  fmt::format("{} index entry {}: nr_free {}, bitmap {} has {} free ({} below nr_blocks)", sm.name,
                              i, ie.nr_free, ie.blocknr, free_whole, free_below),
                  ie.nr_free < free_below ? Severity::non_fatal : Severity::fatal);
    }
    // none_free_before is a search hint: too low costs time, too high (a free entry below it)
    // only hides that entry from the allocator (§5.2: harmless, the tools write such images).
    // Past the bitmap's end no writer produces it: the entry is garbage.
    if (ie.none_free_before > kEntriesPerBitmap) {
      ctx.problem(ProblemKind::bad_index_summary, ie.blocknr,
                  fmt::format("{} index entry {}: none_free_before {} past the bitmap's {} entries", sm.name, i,
                              ie.none_free_before, kEntriesPerBitmap));
    }
  }
  if (all_read && allocated != sm.root.nr_allocated) {
    ctx.problem(ProblemKind::bad_nr_allocated, std::nullopt,
                fmt::format("{} root: nr_allocated {} but {} blocks have a non-zero count", sm.name,
                            sm.root.nr_allocated, allocated),
                sm.root.nr_allocated > allocated ? Severity::non_fatal : Severity::fatal);
  }
  for (const auto& [b, count] : sm.overflow) {
    if (b >= sm.root.nr_blocks) {
      ctx.problem(ProblemKind::out_of_range, b,
                  fmt::format("{} ref-count tree has an entry for {} block {} (count {}) past nr_blocks {}", sm.name,
                              dev, b, count, sm.root.nr_blocks),
                  Severity::fatal, space);
    }
  }
  return ok_status();
}

}  // namespace pdsim::check::detail
