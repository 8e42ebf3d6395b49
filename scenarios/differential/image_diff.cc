// SPDX-License-Identifier: GPL-2.0-or-later
#include "scenarios/differential/image_diff.h"

#include <sstream>

#include <fmt/format.h>

#include "core/cache/cache_dump.h"
#include "core/check/cache_input.h"
#include "core/check/thin_input.h"
#include "core/common/endian.h"
#include "core/thin/thin_dump.h"
#include "scenarios/harness/failures.h"

namespace pdsim::scenarios {
namespace {

struct Facts {
  std::string dump;  // or the error that stopped it
  check::Census census;
  std::string problem;  // the checker's first problem, "" when clean
};

Result<Facts> facts(MetadataKind kind, const sim::Image& image) {
  sim::ImageDevice dev(image);
  Facts f;
  std::ostringstream xml;
  const Status dumped = kind == MetadataKind::thin ? thin::dump_xml(dev, thin::DumpOptions{}, xml)
                                                   : cache::dump_cache_xml(dev, xml, cache::DumpOptions{true});
  f.dump = dumped ? xml.str() : fmt::format("(no dump: {})", dumped.error().to_string());
  if (kind == MetadataKind::thin) {
    PDSIM_TRY_ASSIGN(auto rep, check::check_thin(dev, true));
    if (rep.census) f.census = std::move(*rep.census);
    if (!rep.problems.empty()) f.problem = fmt::format("{} problems, first: {}", rep.problems.size(), check::to_string(rep.problems.front()));
  } else {
    PDSIM_TRY_ASSIGN(auto rep, check::check_cache(dev, true));
    if (rep.report.census) f.census = std::move(*rep.report.census);
    if (!rep.report.problems.empty())
      f.problem = fmt::format("{} problems, first: {}", rep.report.problems.size(), check::to_string(rep.report.problems.front()));
  }
  return f;
}

// The first block whose count differs between two count maps, in words; "" when equal.
std::string first_count_difference(const std::map<BlockNr, std::uint64_t>& a, std::string_view a_name,
                                   const std::map<BlockNr, std::uint64_t>& b, std::string_view b_name,
                                   std::string_view device) {
  auto ia = a.begin();
  auto ib = b.begin();
  while (ia != a.end() || ib != b.end()) {
    if (ib == b.end() || (ia != a.end() && ia->first < ib->first))
      return fmt::format("{} block {}: count {} in {}, free in {}", device, ia->first, ia->second, a_name, b_name);
    if (ia == a.end() || ib->first < ia->first)
      return fmt::format("{} block {}: free in {}, count {} in {}", device, ib->first, a_name, ib->second, b_name);
    if (ia->second != ib->second)
      return fmt::format("{} block {}: count {} in {}, {} in {}", device, ia->first, ia->second, a_name, ib->second,
                         b_name);
    ++ia, ++ib;
  }
  return {};
}

// The byte ranges of a block that hold live data, by what the checker read it as.
std::vector<std::pair<std::size_t, std::size_t>> live_ranges(MetadataKind kind, BlockNr b,
                                                             const std::optional<check::BlockRole>& role, const Block& blk) {
  constexpr std::size_t kNodeHeader = 32, kArrayHeader = 24;
  if (kind == MetadataKind::thin && b == 0) {
    // The thin superblock's two 128-byte space-map root fields hold a 32-byte root each; the
    // kernel fills the other 96 bytes from memory it never initialised (a kmalloc'ed
    // dm_pool_metadata), ours with zeros. Those bytes, and the checksum over them, are left out.
    return {{4, 96}, {192, 224}, {320, kBlockSize}};
  }
  if (role == check::BlockRole::btree) {
    const std::size_t nr = load_le<std::uint32_t>(blk.data() + 16);
    const std::size_t max = load_le<std::uint32_t>(blk.data() + 20);
    const std::size_t vsize = load_le<std::uint32_t>(blk.data() + 24);
    const std::size_t keys_end = std::min(kBlockSize, kNodeHeader + 8 * std::min(nr, max));
    const std::size_t values = std::min(kBlockSize, kNodeHeader + 8 * max);
    return {{4, kNodeHeader}, {kNodeHeader, keys_end}, {values, std::min(kBlockSize, values + vsize * std::min(nr, max))}};
  }
  if (role == check::BlockRole::array) {
    const std::size_t max = load_le<std::uint32_t>(blk.data() + 4);
    const std::size_t nr = load_le<std::uint32_t>(blk.data() + 8);
    const std::size_t vsize = load_le<std::uint32_t>(blk.data() + 12);
    return {{4, kArrayHeader}, {kArrayHeader, std::min(kBlockSize, kArrayHeader + vsize * std::min(nr, max))}};
  }
  return {{0, kBlockSize}};
}

std::string_view role_name(const std::optional<check::BlockRole>& role) {
  if (!role) return "block";
  switch (*role) {
    case check::BlockRole::btree: return "btree node";
    case check::BlockRole::sm_index: return "space-map index";
    case check::BlockRole::bitmap: return "space-map bitmap";
    case check::BlockRole::array: return "array block";
  }
  return "block";
}

}  // namespace

std::string_view to_string(DiffLevel level) noexcept {
  switch (level) {
    case DiffLevel::logical: return "logical";
    case DiffLevel::allocation: return "allocation";
    case DiffLevel::bytes: return "bytes";
  }
  return "?";
}

std::optional<ImageDivergence> compare_images(MetadataKind kind, const sim::Image& a, std::string_view a_name,
                                              const sim::Image& b, std::string_view b_name) {
  auto fa = facts(kind, a);
  auto fb = facts(kind, b);
  if (!fa || !fb)
    return ImageDivergence{DiffLevel::logical,
                           fmt::format("the image does not read back: {}", (!fa ? fa : fb).error().to_string())};
  // An image that does not check clean is reported first, whatever the other holds.
  if (!fa->problem.empty() || !fb->problem.empty())
    return ImageDivergence{DiffLevel::logical,
                           fmt::format("an image does not check clean: {}'s: {}; {}'s: {}", a_name,
                                       fa->problem.empty() ? "clean" : fa->problem, b_name,
                                       fb->problem.empty() ? "clean" : fb->problem)};
  if (fa->dump != fb->dump)
    return ImageDivergence{DiffLevel::logical,
                           fmt::format("dump {}", first_line_difference(fa->dump, fb->dump, a_name, b_name))};
  if (auto d = first_count_difference(fa->census.metadata_counts, a_name, fb->census.metadata_counts, b_name, "metadata");
      !d.empty())
    return ImageDivergence{DiffLevel::allocation, std::move(d)};
  if (auto d = first_count_difference(fa->census.data_counts, a_name, fb->census.data_counts, b_name, "data"); !d.empty())
    return ImageDivergence{DiffLevel::allocation, std::move(d)};
  static const Block zero{};
  for (const auto& [blk, count] : fa->census.metadata_counts) {
    const Block& ba = blk < a.nr_blocks() && a.get(blk) ? *a.get(blk) : zero;
    const Block& bb = blk < b.nr_blocks() && b.get(blk) ? *b.get(blk) : zero;
    std::optional<check::BlockRole> role;
    if (auto r = fa->census.roles.find(blk); r != fa->census.roles.end()) role = r->second;
    for (const auto& [begin, end] : live_ranges(kind, blk, role, ba)) {
      for (std::size_t i = begin; i < end; ++i) {
        if (ba[i] == bb[i]) continue;
        return ImageDivergence{DiffLevel::bytes,
                               fmt::format("metadata block {} ({}): byte {} is {:#04x} in {}, {:#04x} in {}", blk,
                                           role_name(role), i, ba[i], a_name, bb[i], b_name)};
      }
    }
  }
  return std::nullopt;
}

}  // namespace pdsim::scenarios
