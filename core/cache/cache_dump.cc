// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/cache/cache_dump.h"

#include <array>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "core/array/array.h"
#include "core/cache/cache_format.h"
#include "core/cache/cache_metadata.h"

namespace pdsim::cache {
namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int decode_char(char c) {
  const auto pos = kAlphabet.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
    std::uint32_t chunk = 0;
    for (std::size_t k = 0; k < 3; ++k)
      chunk = (chunk << 8) | (k < n ? static_cast<std::uint8_t>(bytes[i + k]) : 0u);
    for (std::size_t k = 0; k < 4; ++k)
      out += k <= n ? kAlphabet[(chunk >> (18 - 6 * k)) & 63u] : '=';
  }
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return Error::invalid(fmt::format("'{}' is not base64 (length {})", text, text.size()));
  std::string out;
  for (std::size_t i = 0; i < text.size(); i += 4) {
    std::uint32_t chunk = 0;
    std::size_t pad = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const char c = text[i + k];
      int v = 0;
      if (c == '=' && i + 4 == text.size() && k >= 2) {
        ++pad;
      } else {
        v = decode_char(c);
        if (v < 0 || pad > 0) return Error::invalid(fmt::format("'{}' is not base64", text));
      }
      chunk = (chunk << 6) | static_cast<std::uint32_t>(v);
    }
    for (std::size_t k = 0; k < 3 - pad; ++k) out += static_cast<char>((chunk >> (16 - 8 * k)) & 0xFFu);
  }
  return out;
}

Status dump_cache_xml(BlockDevice& dev, std::ostream& out, const DumpOptions& opts) {
  BlockManager bm(dev, 1024);
  bm.set_read_only(true);
  TransactionManager tm(bm);  // reads only: no space map is attached
  PDSIM_TRY_ASSIGN(ReadRef r, bm.read_lock(kSuperblockLocation, &superblock_validator()));
  const Superblock sb = Superblock::unpack(r.data().data());
  r.release();
  if (sb.version < kMinVersion || sb.version > kMaxVersion)
    return Error::corruption(fmt::format("cache superblock: unsupported metadata version {}", sb.version));
  if (sb.version >= 2 && sb.dirty_root == 0) return Error::corruption("version 2 cache superblock has no dirty bitset root");
  if (auto at = bad_policy_name_byte(sb.policy_name))
    return Error::corruption(fmt::format("cache superblock: the policy name holds byte {:#04x} at position {}, which the "
                                         "XML cannot carry", static_cast<unsigned char>(sb.policy_name[*at]), *at));
  {
    auto mi = array::make_info(tm, btree::plain_value_type(8));
    PDSIM_TRY(check_cache_blocks_fit(mi, sb.mapping_root, sb.cache_blocks));
  }

  // v2's dirty bitset, as the words the array holds: sized by the blocks actually read, never by
  // cache_blocks (a damaged array can claim more entries than the image holds blocks).
  std::unordered_map<std::uint32_t, std::uint64_t> dirty_words;
  if (sb.version >= 2) {
    auto words = array::make_info(tm, btree::plain_value_type(8));
    PDSIM_TRY(array::walk(words, sb.dirty_root, [&](std::uint32_t w, array::ValueSpan v) -> Result<bool> {
      if (const std::uint64_t word = load_le<std::uint64_t>(v.data()); word != 0) dirty_words[w] = word;
      return true;
    }));
  }
  auto dirty_bit = [&](std::uint32_t cblock) {
    auto it = dirty_words.find(cblock / 64);
    return it != dirty_words.end() && ((it->second >> (cblock % 64)) & 1u) != 0;
  };

  fmt::print(out, "<superblock uuid=\"\" block_size=\"{}\" nr_cache_blocks=\"{}\" policy=\"{}\" hint_width=\"{}\">\n",
             sb.data_block_size, sb.cache_blocks, sb.policy_name, kHintSize);
  std::vector<std::uint32_t> mapped;
  fmt::print(out, "  <mappings>\n");
  auto mi = array::make_info(tm, btree::plain_value_type(8));
  PDSIM_TRY(array::walk(mi, sb.mapping_root, [&](std::uint32_t cblock, array::ValueSpan v) -> Result<bool> {
    if (cblock >= sb.cache_blocks) return false;
    const std::uint64_t value = load_le<std::uint64_t>(v.data());
    if ((value & kMappingValid) == 0) return true;
    const bool dirty = sb.version >= 2 ? dirty_bit(cblock) : (value & kMappingDirty) != 0;
    fmt::print(out, "    <mapping cache_block=\"{}\" origin_block=\"{}\" dirty=\"{}\"/>\n", cblock, mapping_oblock(value),
               dirty ? "true" : "false");
    mapped.push_back(cblock);
    return true;
  }));
  fmt::print(out, "  </mappings>\n");

  fmt::print(out, "  <hints>\n");  // printed even when there is no hint array, as cache_dump does
  if (sb.hint_root != 0) {
    auto hi = array::make_info(tm, btree::plain_value_type(kHintSize));
    std::size_t next = 0;
    PDSIM_TRY(array::walk(hi, sb.hint_root, [&](std::uint32_t cblock, array::ValueSpan v) -> Result<bool> {
      if (next >= mapped.size()) return false;
      if (cblock != mapped[next]) return true;
      ++next;
      fmt::print(out, "    <hint cache_block=\"{}\" data=\"{}\"/>\n", cblock,
                 base64_encode(std::string_view(reinterpret_cast<const char*>(v.data()), v.size())));
      return true;
    }));
  }
  fmt::print(out, "  </hints>\n");

  if (opts.discards && sb.discard_nr_blocks > 0) {
    fmt::print(out, "  <discards>\n");
    auto di = array::make_info(tm, btree::plain_value_type(8));
    std::optional<std::uint64_t> run_begin;
    std::uint64_t d = 0;
    auto end_run = [&](std::uint64_t end) {
      if (run_begin) fmt::print(out, "    <discard dbegin=\"{}\" dend=\"{}\"/>\n", *run_begin, end);
      run_begin.reset();
    };
    PDSIM_TRY(array::walk(di, sb.discard_root, [&](std::uint32_t w, array::ValueSpan v) -> Result<bool> {
      const std::uint64_t word = load_le<std::uint64_t>(v.data());
      for (std::uint32_t i = 0; i < 64; ++i) {
        d = std::uint64_t{w} * 64 + i;
        if (d >= sb.discard_nr_blocks) return false;
        const bool on = ((word >> i) & 1u) != 0;
        if (on && !run_begin) run_begin = d;
        if (!on) end_run(d);
      }
      return true;
    }));
    end_run(sb.discard_nr_blocks);
    fmt::print(out, "  </discards>\n");
  }
  fmt::print(out, "</superblock>\n");
  return {};
}

}  // namespace pdsim::cache
