// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/check/thin_input.h"

#include <fmt/format.h>

#include <map>
#include <memory>

#include "core/block/checksum.h"
#include "core/common/endian.h"

namespace pdsim::check {
namespace {

// Index of each tree in Input::trees, per superblock (live, snapshot).
constexpr std::size_t kTreesPerSuperblock = 2;  // details, mapping

ThinSuperblock decode(const Block& blk) noexcept {
  const std::uint8_t* p = blk.data();
  ThinSuperblock sb;
  sb.flags = load_le<std::uint32_t>(p + 4);
  sb.version = load_le<std::uint32_t>(p + 40);
  sb.time = load_le<std::uint32_t>(p + 44);
  sb.trans_id = load_le<std::uint64_t>(p + 48);
  sb.held_root = load_le<std::uint64_t>(p + 56);
  sb.data_sm_root = parse_space_map_root(p + 64);
  sb.metadata_sm_root = parse_space_map_root(p + 192);
  sb.data_mapping_root = load_le<std::uint64_t>(p + 320);
  sb.device_details_root = load_le<std::uint64_t>(p + 328);
  sb.data_block_size = load_le<std::uint32_t>(p + 336);
  sb.metadata_block_size = load_le<std::uint32_t>(p + 340);
  sb.metadata_nr_blocks = load_le<std::uint64_t>(p + 344);
  sb.compat_flags = load_le<std::uint32_t>(p + 352);
  sb.compat_ro_flags = load_le<std::uint32_t>(p + 356);
  sb.incompat_flags = load_le<std::uint32_t>(p + 360);
  return sb;
}

// Reads and validates a superblock (or its snapshot copy) at b. nullopt: reported, unusable.
Result<std::optional<ThinSuperblock>> read_superblock(BlockDevice& dev, BlockNr b, const char* what,
                                                      std::vector<Problem>& problems) {
  auto report = [&](ProblemKind k, std::string m) { problems.push_back(Problem{k, Severity::fatal, Space::metadata, b, std::move(m)}); };
  if (b >= dev.nr_blocks()) {
    report(ProblemKind::out_of_range, fmt::format("{} at block {} is past the device's {} blocks", what, b, dev.nr_blocks()));
    return std::optional<ThinSuperblock>{};
  }
  auto blk = std::make_unique<Block>();
  PDSIM_TRY(dev.read(b, BlockSpan(*blk)));
  const ConstBlockSpan span(*blk);
  if (load_le<std::uint64_t>(blk->data() + 8) != b) {
    report(ProblemKind::bad_blocknr, fmt::format("{}: block nr field {} at block {}", what,
                                                 load_le<std::uint64_t>(blk->data() + 8), b));
    return std::optional<ThinSuperblock>{};
  }
  if (block_checksum(span, salt::thin_superblock) != stored_checksum(span)) {
    report(ProblemKind::bad_checksum, fmt::format("bad checksum in {} (block {}), wanted {}", what, b,
                                                  block_checksum(span, salt::thin_superblock)));
    return std::optional<ThinSuperblock>{};
  }
  const ThinSuperblock sb = decode(*blk);
  if (load_le<std::uint64_t>(blk->data() + 32) != kThinMagic) {
    report(ProblemKind::bad_superblock, fmt::format("{}: magic {} is not {}", what,
                                                    load_le<std::uint64_t>(blk->data() + 32), kThinMagic));
    return std::optional<ThinSuperblock>{};
  }
  if (sb.incompat_flags != 0) {
    report(ProblemKind::bad_superblock, fmt::format("{}: unsupported incompat_flags {:#x}", what, sb.incompat_flags));
    return std::optional<ThinSuperblock>{};
  }
  if (sb.metadata_block_size != kSectorsPerBlock) {
    report(ProblemKind::bad_superblock,
           fmt::format("{}: metadata_block_size {} sectors, not {}", what, sb.metadata_block_size, kSectorsPerBlock));
  }
  // Fields thin_check 0.9 does not look at (issue 15): the versions dm-thin writes, a data block
  // size dm-thin can use, and no compat_ro feature (the kernel refuses to activate read-write with
  // one). Unknown flag bits are kept by the kernel: non-fatal.
  if (sb.version < 1 || sb.version > 2)
    report(ProblemKind::bad_superblock, fmt::format("{}: version {} (1 or 2)", what, sb.version));
  if (sb.data_block_size < 128 || sb.data_block_size > 2097152 || sb.data_block_size % 128 != 0)
    report(ProblemKind::bad_superblock,
           fmt::format("{}: data_block_size {} is not a multiple of 128 in [128, 2097152]", what, sb.data_block_size));
  if (sb.compat_ro_flags != 0)
    report(ProblemKind::bad_superblock, fmt::format("{}: unsupported compat_ro_flags {:#x}", what, sb.compat_ro_flags));
  if ((sb.flags & ~1u) != 0)
    problems.push_back(Problem{ProblemKind::bad_superblock, Severity::non_fatal, Space::metadata, b,
                               fmt::format("{}: unknown flags {:#x}", what, sb.flags & ~1u)});
  return std::optional<ThinSuperblock>{sb};
}

void add_trees(Input& in, const ThinSuperblock& sb, const char* prefix) {
  TreeSpec details{fmt::format("{}device details", prefix), sb.device_details_root, 1, 24, ValueRefs::none};
  details.collect_top_level = true;
  TreeSpec mapping{fmt::format("{}mapping", prefix), sb.data_mapping_root, 2, 8, ValueRefs::data_block_time};
  mapping.collect_top_level = true;
  in.trees.push_back(std::move(details));
  in.trees.push_back(std::move(mapping));
}

// Every device has one details entry and one mapping subtree; mapped_blocks equals the number
// of mappings in its subtree (thin_check 0.9 checks neither).
void cross_check(Report& rep, const TreeSummary& details, const TreeSummary& mapping, BlockNr details_root) {
  std::map<std::uint64_t, std::uint64_t> mapped;  // dev -> mapped_blocks
  for (const TopEntry& e : details.top) {
    if (e.value.size() >= 8) mapped[e.key] = load_le<std::uint64_t>(e.value.data());
  }
  std::map<std::uint64_t, std::uint64_t> counted;
  for (const TopEntry& e : mapping.top) counted[e.key] = e.bottom_entries;
  auto add = [&](ProblemKind k, std::string m) {
    if (rep.problems.size() >= kMaxProblems) { ++rep.problems_dropped; return; }
    rep.problems.push_back(Problem{k, Severity::fatal, Space::metadata, details_root, std::move(m)});
  };
  for (const auto& [dev, n] : mapped) {
    auto it = counted.find(dev);
    if (it == counted.end()) {
      add(ProblemKind::bad_device_set, fmt::format("{}: device {} has details but no mapping tree", details.name, dev));
    } else if (it->second != n) {
      add(ProblemKind::bad_mapped_blocks, fmt::format("{}: device {} says mapped_blocks {}, its mapping tree holds {}",
                                                      details.name, dev, n, it->second));
    }
  }
  for (const auto& [dev, n] : counted) {
    if (!mapped.contains(dev)) {
      add(ProblemKind::bad_device_set, fmt::format("{}: device {} has a mapping tree ({} mappings) but no details",
                                                   mapping.name, dev, n));
    }
  }
}

}  // namespace

ThinSuperblock parse_thin_superblock(const Block& b) noexcept { return decode(b); }

Result<ThinInput> thin_input(BlockDevice& metadata) {
  ThinInput out;
  PDSIM_TRY_ASSIGN(out.live, read_superblock(metadata, 0, "superblock", out.problems));
  if (!out.live) return out;
  const ThinSuperblock& sb = *out.live;
  out.usable = true;
  Input& in = out.input;
  // The superblock's metadata_nr_blocks is written at format time only (§8.1): the live size is
  // the device's, and the space map root's nr_blocks is checked against it.
  in.metadata_nr_blocks = metadata.nr_blocks();
  in.metadata_sm_root = sb.metadata_sm_root;
  in.data_sm_root = sb.data_sm_root;
  in.extra_metadata_refs.push_back(0);
  add_trees(in, sb, "");
  if (sb.held_root != 0) {
    // The snapshot copy has count 1 and holds one reference on each of its two roots (§8.5).
    in.extra_metadata_refs.push_back(sb.held_root);
    PDSIM_TRY_ASSIGN(out.snapshot, read_superblock(metadata, sb.held_root, "metadata snapshot superblock", out.problems));
    if (out.snapshot) add_trees(in, *out.snapshot, "snapshot ");
  }
  return out;
}

Result<Report> check_thin(BlockDevice& metadata, bool census) {
  PDSIM_TRY_ASSIGN(ThinInput ti, thin_input(metadata));
  ti.input.census = census;
  Report rep;
  if (ti.usable) {
    PDSIM_TRY_ASSIGN(rep, check(metadata, ti.input));
    for (std::size_t i = 0; i + 1 < rep.trees.size(); i += kTreesPerSuperblock) {
      cross_check(rep, rep.trees[i], rep.trees[i + 1], ti.input.trees[i].root);
    }
  }
  rep.problems.insert(rep.problems.begin(), ti.problems.begin(), ti.problems.end());
  return rep;
}

}  // namespace pdsim::check
