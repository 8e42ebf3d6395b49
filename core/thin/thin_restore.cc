// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/thin/thin_restore.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "core/thin/pool_metadata.h"
#include "core/thin/restore_pipeline.h"
#include "core/xml/xml_parser.h"

namespace pdsim::thin {
namespace {

using detail::Pipeline;
using detail::Position;
using detail::Sink;

// A mapping stores its data block in the top 40 bits of a u64 (the low 24 are the time).
constexpr std::uint64_t kMaxDataBlocks = std::uint64_t{1} << 40;

Status check_superblock(const XmlPool& pool) {
  if (pool.data_block_size < 128 || pool.data_block_size > 2097152 || pool.data_block_size % 128 != 0)
    return Error::invalid(fmt::format("data_block_size {} is not a multiple of 128 in [128, 2097152]", pool.data_block_size));
  if (pool.nr_data_blocks > kMaxDataBlocks)
    return Error::invalid(fmt::format("nr_data_blocks {} is more than a mapping can address ({})", pool.nr_data_blocks,
                                      kMaxDataBlocks));
  // Our check flags any other bit: a restore must not write what it then rejects.
  if ((pool.flags & ~kNeedsCheckFlag) != 0)
    return Error::invalid(fmt::format("flags {:#x} has bits dm-thin does not define (only {:#x}, NEEDS_CHECK)", pool.flags,
                                      kNeedsCheckFlag));
  return {};
}

Status check_in_data_device(const XmlPool& pool, std::uint64_t dev_id, const XmlMapping& m) {
  if (m.data_begin + m.length > pool.nr_data_blocks)
    return Error::invalid(fmt::format("device {}: mapping beyond end of data device ({} >= {})", dev_id,
                                      m.data_begin + m.length - 1, pool.nr_data_blocks));
  return {};
}

class Parser final : public xml::Parser {
 public:
  explicit Parser(Sink& out) : sink(out) {}

  Sink& sink;
  XmlPool pool;  // superblock fields only
  bool saw_superblock = false;
  bool in_device = false;

 private:
  void forward(Status s) {
    if (!s) stop(std::move(s).error());
  }
  [[nodiscard]] Position here() const { return Position{byte_index()}; }

  template <typename T>
  std::optional<T> number(const char** attrs, const char* element, const char* name, bool required = true) {
    for (const char** a = attrs; *a != nullptr; a += 2) {
      if (std::strcmp(a[0], name) != 0) continue;
      std::string_view v(a[1]);
      T out{};
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
      if (v.empty() || ec != std::errc() || p != v.data() + v.size()) {
        fail(fmt::format("<{}> attribute {}=\"{}\" is not a number in range", element, name, xml::shown_value(v)));
        return std::nullopt;
      }
      return out;
    }
    if (required) fail(fmt::format("<{}> is missing attribute {}", element, name));
    return std::nullopt;
  }

  void start(const char* name, const char** attrs) override {
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
      if (failed()) return;
      pool.time = *t;
      pool.transaction = *tr;
      pool.flags = fl.value_or(0);
      pool.version = ver.value_or(2);
      pool.data_block_size = *dbs;
      pool.nr_data_blocks = *nr;
      if (pool.version != 1 && pool.version != 2)  // what the checker accepts; thin_restore writes it as given
        return fail(fmt::format("unsupported metadata version {} (1 or 2)", pool.version));
      forward(sink.superblock(pool, here()));
    } else if (el == "device") {
      if (!saw_superblock || in_device) return fail("<device> outside <superblock>");
      auto id = number<std::uint64_t>(attrs, name, "dev_id");
      auto mb = number<std::uint64_t>(attrs, name, "mapped_blocks");
      auto tr = number<std::uint64_t>(attrs, name, "transaction");
      auto ct = number<std::uint32_t>(attrs, name, "creation_time");
      auto st = number<std::uint32_t>(attrs, name, "snap_time");
      if (failed()) return;
      if (*id > kMaxDeviceId) return fail(fmt::format("dev_id {} is above the maximum {}", *id, kMaxDeviceId));
      in_device = true;
      forward(sink.begin_device(XmlDevice{*id, DeviceDetails{*mb, *tr, *ct, *st}, {}}, here()));
    } else if (el == "single_mapping" || el == "range_mapping") {
      if (!in_device) return fail(fmt::format("<{}> outside <device>", el));
      XmlMapping m{};
      if (el == "single_mapping") {
        auto o = number<std::uint64_t>(attrs, name, "origin_block");
        auto d = number<std::uint64_t>(attrs, name, "data_block");
        auto t = number<std::uint32_t>(attrs, name, "time");
        if (failed()) return;
        m = XmlMapping{*o, *d, 1, *t};
      } else {
        auto o = number<std::uint64_t>(attrs, name, "origin_begin");
        auto d = number<std::uint64_t>(attrs, name, "data_begin");
        auto l = number<std::uint64_t>(attrs, name, "length");
        auto t = number<std::uint32_t>(attrs, name, "time");
        if (failed()) return;
        if (*l == 0) return fail("range_mapping of length 0");
        m = XmlMapping{*o, *d, *l, *t};
      }
      if (m.time > 0xFFFFFF) return fail(fmt::format("time {} does not fit in 24 bits", m.time));
      if (m.origin_begin + m.length < m.origin_begin || m.data_begin + m.length < m.data_begin)
        return fail("mapping range overflows");
      forward(sink.mapping(m, here()));
    } else {
      fail(fmt::format("unknown element <{}>", el));
    }
  }

  void end(const char* name) override {
    // After a failure expat may still report the end of the element it stopped in (a self-closing
    // <device/> that start() refused, say): only a device start() opened is ended.
    if (std::string_view(name) != "device" || !in_device || failed()) return;
    in_device = false;
    forward(sink.end_device(here()));
  }
};

Status validate(const XmlPool& pool) {
  PDSIM_TRY(check_superblock(pool));
  std::set<std::uint64_t> ids;
  for (const auto& d : pool.devices) {
    if (!ids.insert(d.dev_id).second) return Error::invalid(fmt::format("device {} appears twice (device already exists)", d.dev_id));
    // Dumps list mappings in order, so overlaps show as a range starting before the previous end;
    // out-of-order documents are sorted first.
    bool sorted = true;
    std::uint64_t prev_end = 0;
    for (std::size_t i = 0; i < d.mappings.size(); ++i) {
      const XmlMapping& m = d.mappings[i];
      PDSIM_TRY(check_in_data_device(pool, d.dev_id, m));
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

// Collects the whole document (parse_thin_xml).
class Collector final : public Sink {
 public:
  explicit Collector(XmlPool& pool) : pool_(pool) {}
  Status superblock(const XmlPool& fields, Position) override {
    pool_ = fields;
    return {};
  }
  Status begin_device(const XmlDevice& dev, Position) override {
    pool_.devices.push_back(dev);
    return {};
  }
  Status mapping(const XmlMapping& m, Position) override {
    pool_.devices.back().mappings.push_back(m);
    return {};
  }
  Status end_device(Position) override { return {}; }

 private:
  XmlPool& pool_;
};

// Builds the pool as the document streams in (restore_thin_xml, restore_pool).
class Builder final : public Sink {
 public:
  explicit Builder(BlockDevice& dev, std::vector<std::string>* warnings = nullptr) : dev_(dev), warnings_(warnings) {}

  Status superblock(const XmlPool& fields, Position) override {
    PDSIM_TRY(check_superblock(fields));
    sb_ = fields;
    PDSIM_TRY_ASSIGN(pmd_, PoolMetadata::format(dev_, fields.data_block_size));
    return pmd_->resize_data(fields.nr_data_blocks);
  }
  Status begin_device(const XmlDevice& dev, Position) override {
    if (!ids_.insert(dev.dev_id).second)
      return Error::invalid(fmt::format("device {} appears twice (device already exists)", dev.dev_id));
    dev_id_ = dev.dev_id;
    details_ = dev.details;
    loaded_ = 0;
    return pmd_->begin_load(dev.dev_id);
  }
  Status mapping(const XmlMapping& m, Position) override {
    PDSIM_TRY(check_in_data_device(sb_, dev_id_, m));
    loaded_ += m.length;
    return pmd_->load_range(m.origin_begin, m.data_begin, m.length, m.time);
  }
  // mapped_blocks is what the mappings hold (thin_restore recomputes it too): a document that
  // says otherwise would give a pool our own check rejects.
  Status end_device(Position) override {
    if (details_.mapped_blocks != loaded_) {
      if (warnings_ != nullptr)
        warnings_->push_back(fmt::format("device {}: the document says mapped_blocks {}, its mappings hold {} blocks; "
                                         "wrote {}", dev_id_, details_.mapped_blocks, loaded_, loaded_));
      details_.mapped_blocks = loaded_;
    }
    return pmd_->end_load(details_);
  }

  Status finish() {
    if (!pmd_) return Error::invalid("no <superblock> element");
    pmd_->restore_superblock_fields(sb_.time, sb_.transaction, sb_.flags, sb_.version);
    return pmd_->commit();
  }

 private:
  BlockDevice& dev_;
  std::vector<std::string>* warnings_;
  std::uint64_t loaded_ = 0;  // blocks the current device's mappings hold
  XmlPool sb_;
  std::unique_ptr<PoolMetadata> pmd_;
  std::set<std::uint64_t> ids_;
  std::uint64_t dev_id_ = 0;
  DeviceDetails details_{};
};

Status parse(std::istream& in, Sink& sink) {
  Parser p(sink);
  PDSIM_TRY(p.parse(in));
  if (!p.saw_superblock) return Error::invalid("no <superblock> element");
  return {};
}

// "line L, column C" of a byte offset, as expat counts them (lines from 1, columns from 0), by
// reading the document again; "byte N" when the stream cannot be read again.
std::string locate(std::istream& in, Position pos) {
  in.clear();
  in.seekg(0);
  if (!in) return fmt::format("byte {}", pos.byte);
  std::uint64_t line = 1, line_start = 0, offset = 0;
  std::vector<char> buf(1 << 16);
  while (offset < pos.byte && in) {
    in.read(buf.data(), static_cast<std::streamsize>(std::min<std::uint64_t>(buf.size(), pos.byte - offset)));
    const auto got = static_cast<std::uint64_t>(in.gcount());
    for (std::uint64_t i = 0; i < got; ++i)
      if (buf[i] == '\n') {
        ++line;
        line_start = offset + i + 1;
      }
    offset += got;
    if (got == 0) break;
  }
  return fmt::format("line {}, column {}", line, pos.byte - line_start);
}

}  // namespace

Result<XmlPool> parse_thin_xml(const std::string& text) {
  std::istringstream in(text);
  return parse_thin_xml(in);
}

Result<XmlPool> parse_thin_xml(std::istream& in) {
  XmlPool pool;
  Collector c(pool);
  PDSIM_TRY(parse(in, c));
  PDSIM_TRY(validate(pool));
  return pool;
}

Status restore_thin_xml(std::istream& in, BlockDevice& dev, std::vector<std::string>* warnings) {
  Builder b(dev, warnings);
  {
    Pipeline pipe(b);
    Status parsed = parse(in, pipe);
    Status built = pipe.close();
    // A builder error stops the parse, so it comes first; otherwise the parser's own.
    if (!built) {
      if (!pipe.failed_at()) return built;
      return std::move(built).error().with_context(locate(in, *pipe.failed_at()));
    }
    if (!parsed) return parsed;
  }
  return b.finish();
}

Status restore_pool(BlockDevice& dev, const XmlPool& pool) {
  Builder b(dev);
  const XmlPool fields{pool.time, pool.transaction, pool.flags, pool.version, pool.data_block_size, pool.nr_data_blocks, {}};
  PDSIM_TRY(b.superblock(fields, {}));
  for (const auto& d : pool.devices) {
    PDSIM_TRY(b.begin_device(XmlDevice{d.dev_id, d.details, {}}, {}));
    for (const auto& m : d.mappings) PDSIM_TRY(b.mapping(m, {}));
    PDSIM_TRY(b.end_device({}));
  }
  return b.finish();
}

}  // namespace pdsim::thin
