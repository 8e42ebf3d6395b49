// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/check/cache_input.h"

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/block/checksum.h"
#include "core/check/layout.h"
#include "core/common/endian.h"

namespace pdsim::check {
namespace {

struct CacheSuperblock {
  std::uint32_t flags = 0, version = 0, policy_hint_size = 0;
  SpaceMapRoot metadata_sm_root;
  BlockNr mapping_root = 0, hint_root = 0, discard_root = 0, dirty_root = 0;
  std::uint64_t discard_block_size = 0, discard_nr_blocks = 0;
  std::uint32_t data_block_size = 0, metadata_block_size = 0, cache_blocks = 0;
  std::uint32_t compat_flags = 0, compat_ro_flags = 0, incompat_flags = 0;
};

CacheSuperblock decode(const Block& blk) {
  const std::uint8_t* p = blk.data();
  CacheSuperblock sb;
  sb.flags = load_le<std::uint32_t>(p + 4);
  sb.version = load_le<std::uint32_t>(p + 40);
  sb.policy_hint_size = load_le<std::uint32_t>(p + 60);
  sb.metadata_sm_root = parse_space_map_root(p + 64);
  sb.mapping_root = load_le<std::uint64_t>(p + 192);
  sb.hint_root = load_le<std::uint64_t>(p + 200);
  sb.discard_root = load_le<std::uint64_t>(p + 208);
  sb.discard_block_size = load_le<std::uint64_t>(p + 216);
  sb.discard_nr_blocks = load_le<std::uint64_t>(p + 224);
  sb.data_block_size = load_le<std::uint32_t>(p + 232);
  sb.metadata_block_size = load_le<std::uint32_t>(p + 236);
  sb.cache_blocks = load_le<std::uint32_t>(p + 240);
  sb.compat_flags = load_le<std::uint32_t>(p + 244);
  sb.compat_ro_flags = load_le<std::uint32_t>(p + 248);
  sb.incompat_flags = load_le<std::uint32_t>(p + 252);
  sb.dirty_root = sb.version >= 2 ? load_le<std::uint64_t>(p + 284) : 0;
  return sb;
}

void add(Report& rep, ProblemKind k, std::optional<BlockNr> b, std::string m) {
  if (rep.problems.size() >= kMaxProblems) {
    ++rep.problems_dropped;
    return;
  }
  rep.problems.push_back(Problem{k, Severity::fatal, Space::metadata, b, std::move(m)});
}

// Reads block 0 and judges it. nullopt: unusable (reported), nothing else is walked.
Result<std::optional<CacheSuperblock>> read_superblock(BlockDevice& dev, Report& rep) {
  if (dev.nr_blocks() == 0) {
    add(rep, ProblemKind::io_limit, std::nullopt, "the metadata device is smaller than one block");
    return std::optional<CacheSuperblock>{};
  }
  auto blk = std::make_unique<Block>();
  PDSIM_TRY(dev.read(0, BlockSpan(*blk)));
  const ConstBlockSpan span(*blk);
  if (load_le<std::uint64_t>(blk->data() + 8) != 0) {
    add(rep, ProblemKind::bad_blocknr, 0, fmt::format("superblock: block nr field {}", load_le<std::uint64_t>(blk->data() + 8)));
    return std::optional<CacheSuperblock>{};
  }
  if (block_checksum(span, salt::cache_superblock) != stored_checksum(span)) {
    add(rep, ProblemKind::bad_checksum, 0,
        fmt::format("bad checksum in cache superblock, wanted {}", block_checksum(span, salt::cache_superblock)));
    return std::optional<CacheSuperblock>{};
  }
  if (load_le<std::uint64_t>(blk->data() + 32) != kCacheMagic) {
    add(rep, ProblemKind::bad_superblock, 0,
        fmt::format("superblock: magic {} is not {}", load_le<std::uint64_t>(blk->data() + 32), kCacheMagic));
    return std::optional<CacheSuperblock>{};
  }
  const CacheSuperblock sb = decode(*blk);
  if (sb.version < 1 || sb.version > 2) {
    add(rep, ProblemKind::bad_superblock, 0, fmt::format("superblock: version incorrect: {}", sb.version));
    return std::optional<CacheSuperblock>{};
  }
  if (sb.incompat_flags != 0) {
    add(rep, ProblemKind::bad_superblock, 0, fmt::format("superblock: unsupported incompat_flags {:#x}", sb.incompat_flags));
    return std::optional<CacheSuperblock>{};
  }
  if (sb.metadata_block_size != kSectorsPerBlock)
    add(rep, ProblemKind::bad_superblock, 0, fmt::format("superblock: metadata_block_size {} sectors, not {}", sb.metadata_block_size, kSectorsPerBlock));
  if (sb.data_block_size < 64 || sb.data_block_size > 2097152 || sb.data_block_size % 64 != 0)
    add(rep, ProblemKind::bad_superblock, 0, fmt::format("superblock: data_block_size {} is not a multiple of 64 in [64, 2097152]", sb.data_block_size));
  if (sb.policy_hint_size != 0 && sb.policy_hint_size != 4)
    add(rep, ProblemKind::bad_superblock, 0, fmt::format("superblock: policy_hint_size {} (0 or 4)", sb.policy_hint_size));
  if (sb.version >= 2 && sb.dirty_root == 0)
    add(rep, ProblemKind::bad_superblock, 0, "superblock: version 2 without a dirty bitset root");
  // What cache_check 0.9 also rejects: flag bits dm-cache does not define, any compat or
  // compat_ro feature (none is defined), a policy name that fills its 16 bytes without a NUL.
  constexpr std::uint32_t kKnownFlags = 1u | 2u;  // CLEAN_SHUTDOWN, NEEDS_CHECK (ondisk-format.md)
  if ((sb.flags & ~kKnownFlags) != 0)
    add(rep, ProblemKind::bad_superblock, 0, fmt::format("superblock: unknown flags {:#x}", sb.flags & ~kKnownFlags));
  if (sb.compat_flags != 0)
    add(rep, ProblemKind::bad_superblock, 0, fmt::format("superblock: unsupported compat_flags {:#x}", sb.compat_flags));
  if (sb.compat_ro_flags != 0)
    add(rep, ProblemKind::bad_superblock, 0, fmt::format("superblock: unsupported compat_ro_flags {:#x}", sb.compat_ro_flags));
  if (std::find(blk->begin() + 44, blk->begin() + 60, std::uint8_t{0}) == blk->begin() + 60)
    add(rep, ProblemKind::bad_superblock, 0, "superblock: the policy name has no terminating NUL in its 16 bytes");
  // What cache_check 0.9 misses: a name cache_dump cannot write as XML.
  // (Written here again, not taken from core/cache: the checker shares no code with the engine.)
  for (std::size_t i = 44; i < 60 && (*blk)[i] != 0; ++i) {
    const std::uint8_t c = (*blk)[i];
    if (c > 0x20 && c < 0x7f && c != '"' && c != '\'' && c != '&' && c != '<' && c != '>') continue;
    add(rep, ProblemKind::bad_superblock, 0,
        fmt::format("superblock: the policy name holds byte {:#04x} at position {} (a module name is printable ASCII)",
                    c, i - 44));
    break;
  }
  return std::optional<CacheSuperblock>{sb};
}

struct ArraySpec {
  std::size_t tree;            // index in Input::trees
  std::uint32_t value_size;
  std::uint64_t expected_len;  // entries the superblock implies
  std::string what;
  bool exact_length = true;    // false: any length is valid (the hint array, see below)
};

// Reads the valid array blocks of one array in index order and hands each value to fn. The
// checker has reported every block it could not trust; those are skipped here (and the length
// then comes out short, which is also reported).
Status read_array(BlockDevice& dev, const TreeSummary& summary, const ArraySpec& spec, Report& rep,
                  const std::function<void(std::uint64_t index, const std::uint8_t* v)>& fn) {
  std::vector<TopEntry> top = summary.top;
  std::sort(top.begin(), top.end(), [](const TopEntry& a, const TopEntry& b) { return a.key < b.key; });
  const std::uint64_t per = layout::array_max_entries(spec.value_size);
  std::uint64_t total = 0;
  auto blk = std::make_unique<Block>();
  for (const TopEntry& e : top) {
    if (e.value.size() < 8) continue;
    const BlockNr b = load_le<std::uint64_t>(e.value.data());
    if (b >= dev.nr_blocks()) continue;
    PDSIM_TRY(dev.read(b, BlockSpan(*blk)));
    const ConstBlockSpan span(*blk);
    const layout::ArrayHeader h = layout::array_header(*blk);
    if (block_checksum(span, salt::array_block) != stored_checksum(span) || h.blocknr != b ||
        h.value_size != spec.value_size || h.max_entries != per || h.nr_entries > per)
      continue;
    for (std::uint32_t i = 0; i < h.nr_entries; ++i)
      fn(e.key * per + i, blk->data() + layout::kArrayHeader + static_cast<std::size_t>(i) * spec.value_size);
    total += h.nr_entries;
  }
  if (spec.exact_length && total != spec.expected_len)
    add(rep, ProblemKind::bad_array_length, std::nullopt,
        fmt::format("{} holds {} entries, the superblock implies {}", spec.what, total, spec.expected_len));
  return {};
}

Status check_contents(BlockDevice& dev, const CacheSuperblock& sb, const std::vector<ArraySpec>& specs, CacheReport& out) {
  Report& rep = out.report;
  std::vector<std::uint64_t> dirty_words;
  for (const ArraySpec& s : specs) {
    if (s.what == "dirty bitset") {
      PDSIM_TRY(read_array(dev, rep.trees[s.tree], s, rep, [&](std::uint64_t, const std::uint8_t* v) {
        dirty_words.push_back(load_le<std::uint64_t>(v));
      }));
    }
  }
  std::vector<std::pair<std::uint64_t, std::uint64_t>> origins;  // (oblock, cblock)
  const ArraySpec& mapping = specs.front();
  PDSIM_TRY(read_array(dev, rep.trees[mapping.tree], mapping, rep, [&](std::uint64_t cblock, const std::uint8_t* v) {
    const std::uint64_t value = load_le<std::uint64_t>(v);
    const std::uint64_t flags = value & 0xFFFF;
    const std::uint64_t allowed = sb.version >= 2 ? 1u : 3u;
    if ((flags & ~allowed) != 0) {
      add(rep, ProblemKind::bad_mapping, std::nullopt,
          fmt::format("cache block {}: mapping value {:#x} has flag bits {:#x} a version {} mapping cannot have", cblock, value,
                      flags & ~allowed, sb.version));
    }
    if ((flags & 1u) == 0) {
      if (value != 0) add(rep, ProblemKind::bad_mapping, std::nullopt, fmt::format("cache block {}: unmapped but its value is {:#x}", cblock, value));
      return;
    }
    ++out.mapped;
    bool dirty = (flags & 2u) != 0;
    if (sb.version >= 2) dirty = cblock / 64 < dirty_words.size() && ((dirty_words[cblock / 64] >> (cblock % 64)) & 1u) != 0;
    if (dirty) ++out.dirty;
    origins.emplace_back(value >> 16, cblock);
  }));
  std::sort(origins.begin(), origins.end());
  for (std::size_t i = 1; i < origins.size(); ++i) {
    if (origins[i].first == origins[i - 1].first)
      add(rep, ProblemKind::bad_mapping, std::nullopt,
          fmt::format("origin block {} already mapped: cache blocks {} and {}", origins[i].first, origins[i - 1].second, origins[i].second));
  }
  for (std::size_t i = 1; i < specs.size(); ++i) {
    if (specs[i].what == "dirty bitset") continue;
    PDSIM_TRY(read_array(dev, rep.trees[specs[i].tree], specs[i], rep, [](std::uint64_t, const std::uint8_t*) {}));
  }
  return {};
}

}  // namespace

Result<CacheReport> check_cache(BlockDevice& metadata, bool census) {
  CacheReport out;
  Report sb_problems;
  PDSIM_TRY_ASSIGN(std::optional<CacheSuperblock> sb, read_superblock(metadata, sb_problems));
  if (!sb) {
    out.report = std::move(sb_problems);
    return out;
  }
  out.version = sb->version;
  out.cache_blocks = sb->cache_blocks;
  Input in;
  in.metadata_nr_blocks = metadata.nr_blocks();
  in.metadata_sm_root = sb->metadata_sm_root;
  in.extra_metadata_refs.push_back(0);
  in.census = census;
  std::vector<ArraySpec> specs;
  auto add_array = [&](const char* what, BlockNr root, std::uint32_t value_size, std::uint64_t len, bool exact = true) {
    TreeSpec t{what, root, 1, 8, ValueRefs::metadata_block, value_size, true};
    specs.push_back(ArraySpec{in.trees.size(), value_size, len, what, exact});
    in.trees.push_back(std::move(t));
  };
  add_array("mapping array", sb->mapping_root, 8, sb->cache_blocks);
  // cache_restore 0.9 writes a 4-byte hint array with policy_hint_size 0; 4 is the only size.
  // The kernel builds the hint array at the cache's size when hints are written and leaves it as
  // it is when the cache is resized (algorithms.md §9), so a committed hint array may be shorter
  // or longer than cache_blocks (the kernel engine commits such images).
  if (sb->hint_root != 0) add_array("hint array", sb->hint_root, 4, sb->cache_blocks, false);
  add_array("discard bitset", sb->discard_root, 8, (sb->discard_nr_blocks + 63) / 64);
  if (sb->version >= 2 && sb->dirty_root != 0) add_array("dirty bitset", sb->dirty_root, 8, (std::uint64_t{sb->cache_blocks} + 63) / 64);
  PDSIM_TRY_ASSIGN(out.report, check(metadata, in));
  PDSIM_TRY(check_contents(metadata, *sb, specs, out));
  out.report.problems.insert(out.report.problems.begin(), sb_problems.problems.begin(), sb_problems.problems.end());
  return out;
}

}  // namespace pdsim::check
