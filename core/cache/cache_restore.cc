// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/cache/cache_restore.h"


#include <algorithm>
#include <charconv>
#include <optional>
#include <string_view>

#include <fmt/format.h>

#include "core/array/array.h"
#include "core/cache/cache_dump.h"
#include "core/xml/xml_parser.h"
#include "core/cache/cache_format.h"
#include "core/cache/cache_metadata.h"

namespace pdsim::cache {
namespace {

// Metadata blocks a cache of n blocks needs at least: superblock, space map, the roots, the
// mapping, hint and dirty arrays. Documents that cannot fit are refused before anything is
// allocated for them.
BlockNr blocks_needed(std::uint64_t n) {
  return 16 + (n + 508) / 509 + (n + 1017) / 1018 + (n / 64 + 508) / 509;
}

class Parser final : public xml::Parser {
 public:
  explicit Parser(BlockNr output) : output_blocks(output) {}

  BlockNr output_blocks = 0;
  XmlCache doc;
  bool saw_superblock = false;

 private:
  enum class Section { none, mappings, hints, discards } section = Section::none;

  static const char* attr(const char** attrs, std::string_view name) {
    for (const char** a = attrs; *a != nullptr; a += 2)
      if (std::string_view(a[0]) == name) return a[1];
    return nullptr;
  }
  template <typename T>
  std::optional<T> number(const char** attrs, std::string_view element, std::string_view name) {
    const char* s = attr(attrs, name);
    if (s == nullptr) {
      fail(fmt::format("<{}> is missing attribute {}", element, name));
      return std::nullopt;
    }
    std::string_view v(s);
    T out{};
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (v.empty() || ec != std::errc() || p != v.data() + v.size()) {
      fail(fmt::format("<{}> attribute {}=\"{}\" is not a number in range", element, name, xml::shown_value(v)));
      return std::nullopt;
    }
    return out;
  }
  std::optional<bool> boolean(const char** attrs, std::string_view element, std::string_view name) {
    const char* s = attr(attrs, name);
    if (s == nullptr) {
      fail(fmt::format("<{}> is missing attribute {}", element, name));
      return std::nullopt;
    }
    if (std::string_view(s) == "true") return true;
    if (std::string_view(s) == "false") return false;
    fail(fmt::format("<{}> attribute {}=\"{}\" is not true or false", element, name, s));
    return std::nullopt;
  }

  void superblock(const char** attrs) {
    if (saw_superblock) return fail("a second <superblock>");
    saw_superblock = true;
    auto bs = number<std::uint32_t>(attrs, "superblock", "block_size");
    auto nr = number<std::uint32_t>(attrs, "superblock", "nr_cache_blocks");
    auto hw = number<std::uint32_t>(attrs, "superblock", "hint_width");
    const char* policy = attr(attrs, "policy");
    if (failed()) return;
    if (policy == nullptr) return fail("<superblock> is missing attribute policy");
    if (!valid_data_block_size(*bs)) return fail(fmt::format("block_size {} is not a multiple of 64 in [64, 2097152]", *bs));
    if (*hw != 0 && *hw != kHintSize) return fail(fmt::format("hint_width {} is not supported (0 or {})", *hw, kHintSize));
    doc.policy = policy;
    if (doc.policy.size() >= kPolicyNameSize)
      return fail(fmt::format("policy name '{}' is longer than {} characters", doc.policy, kPolicyNameSize - 1));
    if (auto at = bad_policy_name_byte(doc.policy))
      return fail(fmt::format("policy name: character {} is not printable ASCII without quotes, '&', '<' or '>'", *at + 1));
    if (blocks_needed(*nr) > output_blocks)
      return fail(fmt::format("nr_cache_blocks {} needs at least {} metadata blocks; the output has {}", *nr,
                              blocks_needed(*nr), output_blocks));
    doc.block_size = *bs;
    doc.nr_cache_blocks = *nr;
    doc.hint_width = *hw;
  }

  void mapping(const char** attrs) {
    auto cb = number<std::uint32_t>(attrs, "mapping", "cache_block");
    auto ob = number<std::uint64_t>(attrs, "mapping", "origin_block");
    auto dirty = boolean(attrs, "mapping", "dirty");
    if (failed()) return;
    if (*cb >= doc.nr_cache_blocks)
      return fail(fmt::format("cache_block {} is beyond nr_cache_blocks {}", *cb, doc.nr_cache_blocks));
    if (*ob > kMaxOriginBlock) return fail(fmt::format("origin_block {} does not fit in 48 bits", *ob));
    if (!doc.mappings.try_emplace(*cb, XmlCache::Entry{*ob, *dirty}).second)
      return fail(fmt::format("cache block {} is mapped twice", *cb));
  }

  void hint(const char** attrs) {
    auto cb = number<std::uint32_t>(attrs, "hint", "cache_block");
    const char* data = attr(attrs, "data");
    if (failed()) return;
    if (data == nullptr) return fail("<hint> is missing attribute data");
    if (doc.hint_width == 0 || doc.policy.empty()) return fail("<hint> in a document with hint_width 0 or no policy");
    if (*cb >= doc.nr_cache_blocks) return fail(fmt::format("hint for cache_block {} is beyond nr_cache_blocks {}", *cb, doc.nr_cache_blocks));
    auto bytes = base64_decode(data);
    if (!bytes) return fail(fmt::format("hint for cache block {}: {}", *cb, bytes.error().message()));
    if (bytes->size() != doc.hint_width)
      return fail(fmt::format("hint for cache block {} has {} bytes, hint_width is {}", *cb, bytes->size(), doc.hint_width));
    if (!doc.hints.try_emplace(*cb, load_le<std::uint32_t>(reinterpret_cast<const std::uint8_t*>(bytes->data()))).second)
      return fail(fmt::format("cache block {} has two hints", *cb));
  }

  void start(const char* name, const char** attrs) override {
    const std::string_view el(name);
    if (el == "superblock") return superblock(attrs);
    if (!saw_superblock) return fail(fmt::format("<{}> outside <superblock>", el));
    auto open_section = [&](Section s) {
      if (section != Section::none) return fail(fmt::format("<{}> inside another section", el));
      section = s;
    };
    if (el == "mappings") return open_section(Section::mappings);
    if (el == "hints") return open_section(Section::hints);
    if (el == "discards") return open_section(Section::discards);
    if (el == "mapping") {
      if (section != Section::mappings) return fail("<mapping> outside <mappings>");
      return mapping(attrs);
    }
    if (el == "hint") {
      if (section != Section::hints) return fail("<hint> outside <hints>");
      return hint(attrs);
    }
    if (el == "discard") {
      return fail("discards cannot be restored: the document gives no discard block size (cache_restore refuses them too)");
    }
    fail(fmt::format("unknown element <{}>", el));
  }
  void end(const char* name) override {
    const std::string_view el(name);
    if (el == "mappings" || el == "hints" || el == "discards") section = Section::none;
  }
};

// An origin block may be cached in one cache block only.
Status check_unique_origins(const XmlCache& doc) {
  std::vector<std::pair<std::uint64_t, std::uint32_t>> seen;
  seen.reserve(doc.mappings.size());
  for (const auto& [cblock, e] : doc.mappings) seen.emplace_back(e.oblock, cblock);
  std::sort(seen.begin(), seen.end());
  for (std::size_t i = 1; i < seen.size(); ++i)
    if (seen[i].first == seen[i - 1].first)
      return Error::invalid(fmt::format("origin block {} is mapped by cache blocks {} and {}", seen[i].first,
                                        seen[i - 1].second, seen[i].second));
  return {};
}

}  // namespace

Result<XmlCache> parse_cache_xml(std::istream& in, BlockNr output_blocks) {
  Parser p(output_blocks);
  PDSIM_TRY(p.parse(in));
  if (!p.saw_superblock) return Error::invalid("no <superblock> element");
  PDSIM_TRY(check_unique_origins(p.doc));
  return std::move(p.doc);
}

Status restore_cache(BlockDevice& dev, const XmlCache& doc, std::uint32_t version) {
  PDSIM_TRY_ASSIGN(auto md, CacheMetadata::format(dev, doc.block_size, version));
  PDSIM_TRY(md->replace_mappings(doc.nr_cache_blocks, [&](std::uint32_t cblock) -> Result<std::optional<Mapping>> {
    auto it = doc.mappings.find(cblock);
    if (it == doc.mappings.end()) return std::optional<Mapping>();
    return std::optional<Mapping>(Mapping{it->second.oblock, it->second.dirty});
  }));
  if (!doc.policy.empty()) {
    const Policy policy{doc.policy, {}, doc.hint_width};
    PDSIM_TRY(md->write_hints(policy, [&](std::uint32_t cblock) -> Result<std::uint32_t> {
      auto it = doc.hints.find(cblock);
      return it == doc.hints.end() ? 0u : it->second;
    }));
  }
  return md->commit(true);
}

}  // namespace pdsim::cache
