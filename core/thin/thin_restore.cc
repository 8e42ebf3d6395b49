#include "core/thin/thin_restore.h"

#include <expat.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "core/thin/pool_metadata.h"

namespace pdsim::thin {
namespace {

struct Parser {
  XML_Parser xp;
  XmlPool pool;
  bool saw_superblock = false;
  bool in_device = false;
  std::optional<Error> error;

  [[nodiscard]] std::string where() const {
    return fmt::format("line {}, column {}", XML_GetCurrentLineNumber(xp), XML_GetCurrentColumnNumber(xp));
  }
  void fail(std::string what) {
    if (!error) error = Error::invalid(fmt::format("{}: {}", where(), what));
    XML_StopParser(xp, XML_FALSE);
  }

  template <typename T>
  std::optional<T> number(const char** attrs, const char* element, const char* name, bool required = true) {
    for (const char** a = attrs; *a != nullptr; a += 2) {
      if (std::string_view(a[0]) != name) continue;
      std::string_view v(a[1]);
      T out{};
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
      if (v.empty() || ec != std::errc() || p != v.data() + v.size()) {
        fail(fmt::format("<{}> attribute {}=\"{}\" is not a number in range", element, name, v));
        return std::nullopt;
      }
      return out;
    }
    if (required) fail(fmt::format("<{}> is missing attribute {}", element, name));
    return std::nullopt;
  }

  void start(const char* name, const char** attrs) {
    std::string_view el(name);
    if (el == "superblock") {
      if (saw_superblock) return fail("a second <superblock>");
      saw_superblock = true;
      auto t = number<std::uint32_t>(attrs, name, "time");
      auto tr = number<std::uint64_t>(attrs, name, "transaction");
      auto fl = number<std::uint32_t>(attrs, name, "flags", false);
      auto ver = number<std::uint32_t>(attrs, name, "version", false);
      auto dbs = number<std::uint32_t>(attrs, name, "data_block_size");
      auto nr = number<std::uint64_t>(attrs, name, "nr_data_blocks");
      if (error) return;
      pool.time = *t;
      pool.transaction = *tr;
      pool.flags = fl.value_or(0);
      pool.version = ver.value_or(2);
      pool.data_block_size = *dbs;
      pool.nr_data_blocks = *nr;
      if (pool.version != 2) return fail(fmt::format("unsupported metadata version {}", pool.version));
    } else if (el == "device") {
      if (!saw_superblock || in_device) return fail("<device> outside <superblock>");
      auto id = number<std::uint64_t>(attrs, name, "dev_id");
      auto mb = number<std::uint64_t>(attrs, name, "mapped_blocks");
      auto tr = number<std::uint64_t>(attrs, name, "transaction");
      auto ct = number<std::uint32_t>(attrs, name, "creation_time");
      auto st = number<std::uint32_t>(attrs, name, "snap_time");
      if (error) return;
      if (*id > kMaxDeviceId) return fail(fmt::format("dev_id {} is above the maximum {}", *id, kMaxDeviceId));
      pool.devices.push_back(XmlDevice{*id, DeviceDetails{*mb, *tr, *ct, *st}, {}});
      in_device = true;
    } else if (el == "single_mapping" || el == "range_mapping") {
      if (!in_device) return fail(fmt::format("<{}> outside <device>", el));
      XmlMapping m{};
      if (el == "single_mapping") {
        auto o = number<std::uint64_t>(attrs, name, "origin_block");
        auto d = number<std::uint64_t>(attrs, name, "data_block");
        auto t = number<std::uint32_t>(attrs, name, "time");
        if (error) return;
        m = XmlMapping{*o, *d, 1, *t};
      } else {
        auto o = number<std::uint64_t>(attrs, name, "origin_begin");
        auto d = number<std::uint64_t>(attrs, name, "data_begin");
        auto l = number<std::uint64_t>(attrs, name, "length");
        auto t = number<std::uint32_t>(attrs, name, "time");
        if (error) return;
        if (*l == 0) return fail("range_mapping of length 0");
        m = XmlMapping{*o, *d, *l, *t};
      }
      if (m.time > 0xFFFFFF) return fail(fmt::format("time {} does not fit in 24 bits", m.time));
      if (m.origin_begin + m.length < m.origin_begin || m.data_begin + m.length < m.data_begin)
        return fail("mapping range overflows");
      pool.devices.back().mappings.push_back(m);
    } else {
      fail(fmt::format("unknown element <{}>", el));
    }
  }

  void end(const char* name) {
    if (std::string_view(name) == "device") in_device = false;
  }
};

void XMLCALL on_start(void* ud, const XML_Char* name, const XML_Char** attrs) { static_cast<Parser*>(ud)->start(name, attrs); }
void XMLCALL on_end(void* ud, const XML_Char* name) { static_cast<Parser*>(ud)->end(name); }

Status validate(const XmlPool& pool) {
  if (pool.data_block_size < 128 || pool.data_block_size > 2097152 || pool.data_block_size % 128 != 0)
    return Error::invalid(fmt::format("data_block_size {} is not a multiple of 128 in [128, 2097152]", pool.data_block_size));
  std::set<std::uint64_t> ids;
  for (const auto& d : pool.devices) {
    if (!ids.insert(d.dev_id).second) return Error::invalid(fmt::format("device {} appears twice (device already exists)", d.dev_id));
    // Dumps list mappings in order, so overlaps show as a range starting before the previous end;
    // out-of-order documents are sorted first.
    bool sorted = true;
    std::uint64_t prev_end = 0;
    for (std::size_t i = 0; i < d.mappings.size(); ++i) {
      const XmlMapping& m = d.mappings[i];
      if (m.data_begin + m.length > pool.nr_data_blocks)
        return Error::invalid(fmt::format("device {}: mapping beyond end of data device ({} >= {})", d.dev_id,
                                          m.data_begin + m.length - 1, pool.nr_data_blocks));
      if (i > 0 && m.origin_begin < prev_end) sorted = false;
      prev_end = m.origin_begin + m.length;
    }
    if (sorted) continue;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges;
    ranges.reserve(d.mappings.size());
    for (const auto& m : d.mappings) ranges.emplace_back(m.origin_begin, m.origin_begin + m.length);
    std::sort(ranges.begin(), ranges.end());
    for (std::size_t i = 1; i < ranges.size(); ++i)
      if (ranges[i].first < ranges[i - 1].second)
        return Error::invalid(fmt::format("device {}: overlapping mappings at origin block {}", d.dev_id, ranges[i].first));
  }
  return {};
}

}  // namespace

Result<XmlPool> parse_thin_xml(const std::string& text) {
  std::istringstream in(text);
  return parse_thin_xml(in);
}

Result<XmlPool> parse_thin_xml(std::istream& in) {
  Parser p{XML_ParserCreate(nullptr), {}, false, false, std::nullopt};
  if (p.xp == nullptr) return Error::invalid("cannot create an XML parser");
  XML_SetUserData(p.xp, &p);
  XML_SetElementHandler(p.xp, on_start, on_end);
  std::vector<char> buf(1 << 16);
  for (;;) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto got = in.gcount();
    const bool last = got < static_cast<std::streamsize>(buf.size());
    if (in.bad()) {
      p.error = Error::io("read error in the XML input");
      break;
    }
    const XML_Status st = XML_Parse(p.xp, buf.data(), static_cast<int>(got), last ? XML_TRUE : XML_FALSE);
    if (st == XML_STATUS_ERROR) {
      if (!p.error) p.error = Error::invalid(fmt::format("{}: {}", p.where(), XML_ErrorString(XML_GetErrorCode(p.xp))));
      break;
    }
    if (last) break;
  }
  XML_ParserFree(p.xp);
  p.xp = nullptr;
  if (p.error) return std::move(*p.error);
  if (!p.saw_superblock) return Error::invalid("no <superblock> element");
  PDSIM_TRY(validate(p.pool));
  return std::move(p.pool);
}

Status restore_pool(BlockDevice& dev, const XmlPool& pool) {
  PDSIM_TRY_ASSIGN(auto pmd, PoolMetadata::format(dev, pool.data_block_size));
  PDSIM_TRY(pmd->resize_data(pool.nr_data_blocks));
  for (const auto& d : pool.devices) {
    PDSIM_TRY(pmd->create_thin(d.dev_id));
    for (const auto& m : d.mappings) PDSIM_TRY(pmd->restore_range(d.dev_id, m.origin_begin, m.data_begin, m.length, m.time));
    PDSIM_TRY(pmd->restore_details(d.dev_id, d.details));
  }
  pmd->restore_superblock_fields(pool.time, pool.transaction, pool.flags);
  return pmd->commit();
}

}  // namespace pdsim::thin
