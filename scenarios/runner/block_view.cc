// SPDX-License-Identifier: GPL-2.0-or-later
#include "scenarios/runner/block_view.h"

#include <algorithm>
#include <array>
#include <functional>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/common/endian.h"
#include "core/pack/block_kind.h"

namespace pdsim::scenarios {
namespace {

std::uint64_t u64(const std::uint8_t* p) { return load_le<std::uint64_t>(p); }
std::uint32_t u32(const std::uint8_t* p) { return load_le<std::uint32_t>(p); }

}  // namespace

std::vector<BlockField> decode_block(const sim::Image& image, BlockNr b) {
  std::vector<BlockField> rows;
  auto row = [&](const std::string& k, const std::string& v) { rows.push_back({k, v}); };
  if (b >= image.nr_blocks()) {
    row("checksum field", "-");
    row("kind", fmt::format("past the end of the image ({} blocks)", image.nr_blocks()));
    return rows;
  }
  std::array<std::uint8_t, kBlockSize> d{};
  image.read(b, d);
  const auto kind = pack::classify_block(d);
  row("checksum field", fmt::format("{:#010x}", u32(d.data())));
  if (!kind) {
    const bool zero = std::all_of(d.begin(), d.end(), [](std::uint8_t x) { return x == 0; });
    row("kind", zero ? "all zeros (never written, or lost)" : "no valid checksum for any metadata kind");
  } else {
    row("kind", std::string(pack::to_string(*kind)));
    switch (*kind) {
      case pack::BlockKind::btree_node: {
        const std::uint32_t nr = u32(d.data() + 16), max = u32(d.data() + 20), vsize = u32(d.data() + 24);
        row("flags", fmt::format("{} ({})", u32(d.data() + 4), (u32(d.data() + 4) & 1) ? "internal" : "leaf"));
        row("blocknr field", std::to_string(u64(d.data() + 8)));
        row("nr_entries / max_entries / value_size", fmt::format("{} / {} / {}", nr, max, vsize));
        std::string keys, values;
        const std::uint32_t shown = std::min<std::uint32_t>(std::min(nr, max), 16);
        for (std::uint32_t i = 0; i < shown && 32 + 8 * std::size_t{max} + std::size_t{vsize} * (i + 1) <= kBlockSize; ++i) {
          keys += fmt::format("{}{}", i ? " " : "", u64(d.data() + 32 + 8 * i));
          if (vsize >= 8) values += fmt::format("{}{}", i ? " " : "", u64(d.data() + 32 + 8 * std::size_t{max} + std::size_t{vsize} * i));
        }
        row(fmt::format("keys (first {})", shown), keys);
        row("values' first 8 bytes", values);
        break;
      }
      case pack::BlockKind::sm_bitmap: {
        std::array<std::uint64_t, 4> counts{};
        for (std::size_t i = 16; i < kBlockSize; ++i)
          for (unsigned s = 0; s < 8; s += 2) ++counts[(static_cast<unsigned>(d[i]) >> s) & 3u];
        row("blocknr field", std::to_string(u64(d.data() + 8)));
        row("entries at count 0 / 1 / 2 / 3+", fmt::format("{} / {} / {} / {}", counts[0], counts[1], counts[2], counts[3]));
        break;
      }
      case pack::BlockKind::sm_index: {
        row("blocknr field", std::to_string(u64(d.data() + 8)));
        for (std::size_t e = 0; e < 4; ++e) {
          const std::uint8_t* p = d.data() + 16 + 16 * e;
          row(fmt::format("entry {}", e), fmt::format("bitmap {} nr_free {} none_free_before {}", u64(p), u32(p + 8), u32(p + 12)));
        }
        break;
      }
      case pack::BlockKind::array_block:
        row("max_entries / nr_entries / value_size", fmt::format("{} / {} / {}", u32(d.data() + 4), u32(d.data() + 8), u32(d.data() + 12)));
        row("blocknr field", std::to_string(u64(d.data() + 16)));
        break;
      case pack::BlockKind::thin_superblock:
        row("flags / version / time", fmt::format("{} / {} / {}", u32(d.data() + 4), u32(d.data() + 40), u32(d.data() + 44)));
        row("transaction id", std::to_string(u64(d.data() + 48)));
        row("held root (metadata snapshot)", std::to_string(u64(d.data() + 56)));
        row("data space map: nr_blocks / allocated / bitmap root / ref root",
            fmt::format("{} / {} / {} / {}", u64(d.data() + 64), u64(d.data() + 72), u64(d.data() + 80), u64(d.data() + 88)));
        row("metadata space map: nr_blocks / allocated / bitmap root / ref root",
            fmt::format("{} / {} / {} / {}", u64(d.data() + 192), u64(d.data() + 200), u64(d.data() + 208), u64(d.data() + 216)));
        row("mapping root / details root", fmt::format("{} / {}", u64(d.data() + 320), u64(d.data() + 328)));
        row("data block size / metadata blocks", fmt::format("{} / {}", u32(d.data() + 336), u64(d.data() + 344)));
        break;
      case pack::BlockKind::cache_superblock:
        row("flags / version", fmt::format("{} / {}", u32(d.data() + 4), u32(d.data() + 40)));
        row("mapping / hint / discard / dirty root",
            fmt::format("{} / {} / {} / {}", u64(d.data() + 192), u64(d.data() + 200), u64(d.data() + 208), u64(d.data() + 284)));
        row("cache blocks", std::to_string(u32(d.data() + 240)));
        break;
      case pack::BlockKind::era_superblock: break;
    }
  }
  return rows;
}

std::optional<std::string> path_to(const sim::Image& image, BlockNr target) {
  if (image.nr_blocks() == 0) return std::nullopt;
  std::array<std::uint8_t, kBlockSize> sb{};
  image.read(0, sb);
  const auto kind = pack::classify_block(sb);
  if (kind != pack::BlockKind::thin_superblock && kind != pack::BlockKind::cache_superblock) return std::nullopt;
  if (target == 0) return "superblock";
  std::set<BlockNr> seen;
  std::vector<std::string> path;
  // What a tree's leaf values are: roots of trees below (the thin mapping tree's top level),
  // blocks in their first 8 bytes (a dm-array's array blocks, the data space map's bitmaps), or
  // neither (mappings, device details, reference counts).
  enum class Leaves { subtrees, blocks, data };
  // Depth-first through btree nodes with a valid checksum.
  std::function<bool(BlockNr, const std::string&, Leaves)> visit = [&](BlockNr b, const std::string& what,
                                                                      Leaves leaves) -> bool {
    if (b == 0 || b >= image.nr_blocks() || path.size() > 12) return false;
    path.push_back(fmt::format("{} (block {})", what, b));
    if (b == target) return true;
    if (!seen.insert(b).second) return path.pop_back(), false;
    std::array<std::uint8_t, kBlockSize> d{};
    image.read(b, d);
    if (pack::classify_block(d) != pack::BlockKind::btree_node) return path.pop_back(), false;
    const bool internal = (u32(d.data() + 4) & 1) != 0;
    const std::uint32_t nr = u32(d.data() + 16), max = u32(d.data() + 20), vsize = u32(d.data() + 24);
    if (max == 0 || vsize < 8 || 32 + std::size_t{max} * (8 + vsize) > kBlockSize) return path.pop_back(), false;
    for (std::uint32_t i = 0; i < std::min(nr, max); ++i) {
      const std::uint64_t key = u64(d.data() + 32 + 8 * std::size_t{i});
      const std::uint64_t value = u64(d.data() + 32 + 8 * std::size_t{max} + std::size_t{vsize} * i);
      if (internal && visit(value, fmt::format("node, key {}", key), leaves)) return true;
      if (internal) continue;
      if (leaves == Leaves::subtrees && visit(value, fmt::format("device {}'s mapping tree", key), Leaves::data)) return true;
      if (leaves == Leaves::blocks && value == target) {
        path.push_back(fmt::format("entry {} (block {})", key, value));
        return true;
      }
    }
    path.pop_back();
    return false;
  };
  // A space map's root: nr_blocks, nr_allocated, the index (the metadata map's index block, the
  // data map's index tree), the reference-count tree.
  auto metadata_sm = [&](std::size_t root) -> std::string {
    if (visit(u64(sb.data() + root + 24), "metadata space map's reference-count tree", Leaves::data))
      return fmt::format("superblock → {}", fmt::join(path, " → "));
    const BlockNr index = u64(sb.data() + root + 16);
    if (index == target) return fmt::format("superblock → metadata space map index (block {})", index);
    if (index == 0 || index >= image.nr_blocks()) return "";
    std::array<std::uint8_t, kBlockSize> d{};
    image.read(index, d);
    if (pack::classify_block(d) != pack::BlockKind::sm_index) return "";
    for (std::size_t e = 0; e < 255; ++e)
      if (u64(d.data() + 16 + 16 * e) == target)
        return fmt::format("superblock → metadata space map index (block {}) → bitmap {} (block {})", index, e, target);
    return "";
  };
  bool found = false;
  if (kind == pack::BlockKind::thin_superblock) {
    found = visit(u64(sb.data() + 320), "mapping tree", Leaves::subtrees) ||
            visit(u64(sb.data() + 328), "details tree", Leaves::data) ||
            visit(u64(sb.data() + 80), "data space map's index tree", Leaves::blocks) ||
            visit(u64(sb.data() + 88), "data space map's reference-count tree", Leaves::data);
    if (!found) return metadata_sm(192);
  } else {
    found = visit(u64(sb.data() + 192), "mapping array", Leaves::blocks) ||
            visit(u64(sb.data() + 200), "hint array", Leaves::blocks) ||
            visit(u64(sb.data() + 208), "discard bitset", Leaves::blocks) ||
            visit(u64(sb.data() + 284), "dirty bitset", Leaves::blocks);
    if (!found) return metadata_sm(64);
  }
  return fmt::format("superblock → {}", fmt::join(path, " → "));
}

std::vector<FieldDiff> compare_block(const sim::Image& expected, const sim::Image& found, const sim::Image* written,
                                     BlockNr b) {
  std::vector<std::vector<BlockField>> sides = {decode_block(expected, b), decode_block(found, b)};
  if (written) sides.push_back(decode_block(*written, b));
  // Every field name, in the order the sides first show them.
  std::vector<std::string> names;
  for (const auto& side : sides)
    for (const auto& f : side)
      if (std::find(names.begin(), names.end(), f.name) == names.end()) names.push_back(f.name);
  auto value = [](const std::vector<BlockField>& side, const std::string& name) {
    const auto it = std::find_if(side.begin(), side.end(), [&](const BlockField& f) { return f.name == name; });
    return it == side.end() ? std::string() : it->value;
  };
  std::vector<FieldDiff> out;
  for (const auto& n : names) {
    FieldDiff d{n, value(sides[0], n), value(sides[1], n), written ? value(sides[2], n) : "", false, false};
    d.differs = d.expected != d.found;
    d.lost = written && d.written != d.found;
    out.push_back(std::move(d));
  }
  if (b >= expected.nr_blocks() || b >= found.nr_blocks() || (written && b >= written->nr_blocks())) return out;

  using Bytes = std::array<std::uint8_t, kBlockSize>;
  Bytes de{}, df{}, dw{};
  expected.read(b, de);
  found.read(b, df);
  if (written) written->read(b, dw);
  auto bytes_apart = [](const Bytes& x, const Bytes& y, const char* than) {
    std::size_t differing = 0, first = kBlockSize;
    for (std::size_t i = 0; i < kBlockSize; ++i)
      if (x[i] != y[i]) {
        ++differing;
        first = std::min(first, i);
      }
    return differing == 0 ? std::string()
                          : fmt::format("{} of 4096 differ {}, the first at offset {}", differing, than, first);
  };
  FieldDiff bytes{"bytes", "", bytes_apart(de, df, "from expected"), written ? bytes_apart(df, dw, "from found") : "",
                  false, false};
  bytes.differs = !bytes.found.empty();
  bytes.lost = !bytes.written.empty();
  if (!bytes.differs) bytes.found = "the same as expected";
  if (written && !bytes.lost) bytes.written = "the same as found";
  out.push_back(bytes);

  // Btree nodes: the first entry (within the nodes' entries) whose key or value differs between
  // two sides. It may lie past the keys the decoded fields show. One valid node is enough: the
  // others' entries are read by their headers, bounds checked (a node with a bad checksum shows
  // what it holds).
  const auto is_node = [](const Bytes& d) { return pack::classify_block(d) == pack::BlockKind::btree_node; };
  if (!is_node(de) && !is_node(df) && !(written && is_node(dw))) return out;
  auto entry = [](const Bytes& d, std::uint32_t i) -> std::optional<std::string> {
    const std::uint32_t nr = u32(d.data() + 16), max = u32(d.data() + 20), vsize = u32(d.data() + 24);
    if (i >= std::min(nr, max) || vsize < 8 || 32 + std::size_t{max} * (8 + vsize) > kBlockSize) return std::nullopt;
    return fmt::format("key {} value {}", u64(d.data() + 32 + 8 * std::size_t{i}),
                       u64(d.data() + 32 + 8 * std::size_t{max} + std::size_t{vsize} * i));
  };
  for (std::uint32_t i = 0; i < kBlockSize / 16; ++i) {
    const auto x = entry(de, i), y = entry(df, i);
    const auto z = written ? entry(dw, i) : y;
    if (!x && !y && !z) break;
    if (x != y || y != z) {
      out.push_back({fmt::format("first differing entry ({})", i), x.value_or("(none)"), y.value_or("(none)"),
                     written ? z.value_or("(none)") : "", x != y, y != z});
      break;
    }
  }
  return out;
}

}  // namespace pdsim::scenarios
