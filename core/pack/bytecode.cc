// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/pack/bytecode.h"

#include <array>
#include <cstring>

#include <fmt/format.h>

#include "core/common/endian.h"

namespace pdsim::pack {

// ---- ByteSource ---------------------------------------------------------------------------------

Status ByteSource::read_slow(std::uint8_t* dst, std::size_t n) {
  while (n > 0) {
    if (cur_ == end_) {
      PDSIM_TRY_ASSIGN(const bool more, refill());
      // no_data, not corruption: the caller knows what was being read and says so.
      if (!more) return Error::no_data("the stream ends");
    }
    const std::size_t take = std::min(n, static_cast<std::size_t>(end_ - cur_));
    std::memcpy(dst, cur_, take);
    cur_ += take;
    dst += take;
    n -= take;
  }
  return {};
}

Result<bool> ByteSource::at_end() {
  if (cur_ != end_) return false;
  PDSIM_TRY_ASSIGN(const bool more, refill());
  return !more;
}

Result<bool> SpanSource::refill() {
  if (handed_out_ || bytes_.empty()) return false;
  handed_out_ = true;
  set_window(bytes_.data(), bytes_.data() + bytes_.size());
  return true;
}

// ---- Decoder ------------------------------------------------------------------------------------

namespace {

enum Tag : unsigned {
  kSet = 0, kPos = 1, kPosW = 2, kNeg = 3, kNegW = 4, kConst = 5, kConst8 = 6,
  kCount = 7, kCount8 = 8, kLit = 9, kLitW = 10, kShiftedRun = 11,
};

const char* tag_name(unsigned tag) {
  static constexpr const char* kNames[] = {"Set", "Pos", "PosW", "Neg", "NegW", "Const", "Const8",
                                           "Count", "Count8", "Lit", "LitW", "ShiftedRun"};
  return tag < 12 ? kNames[tag] : "invalid";
}

// Where instructions write: the block itself, or a ShiftedRun sub-stream's scratch.
struct Out {
  std::uint8_t* data;
  std::size_t produced;
  std::size_t limit;
  const char* what;  // for messages: "the block" / "a ShiftedRun sub-stream"
  [[nodiscard]] std::size_t room() const { return limit - produced; }
};

class Vm {
 public:
  explicit Vm(ByteSource& src) : src_(src) {}

  // Executes one instruction (with its Count prefix, if any).
  [[nodiscard]] Status step(Out& out, bool nested) {
    PDSIM_TRY_ASSIGN(std::uint8_t op, byte());
    std::uint64_t count = 1;
    if ((op >> 4) == kCount || (op >> 4) == kCount8) {
      count = op & 15u;
      if ((op >> 4) == kCount8) {
        PDSIM_TRY_ASSIGN(const std::uint8_t lo, byte());
        count = (count << 8) | lo;
      }
      if (count == 0) return Error::corruption("byte-code: a Count prefix of 0");
      PDSIM_TRY_ASSIGN(op, byte());
      const unsigned t = op >> 4;
      if (t != kPos && t != kPosW && t != kNeg && t != kNegW)
        return Error::corruption(fmt::format("byte-code: a Count prefix before a {} instruction", tag_name(t)));
    }
    const unsigned tag = op >> 4, nib = op & 15u;
    switch (tag) {
      case kSet: {
        PDSIM_TRY_ASSIGN(base_, operand(nib, "Set"));
        return emit_base(out, 1, "Set");
      }
      case kPos: return delta(out, nib, count, true, "Pos");
      case kNeg: return delta(out, nib, count, false, "Neg");
      case kPosW:
      case kNegW: {
        PDSIM_TRY_ASSIGN(const std::uint64_t d, operand(nib, tag_name(tag)));
        return delta(out, d, count, tag == kPosW, tag_name(tag));
      }
      case kConst:
      case kConst8: {
        std::uint64_t n = nib;
        if (tag == kConst8) {
          PDSIM_TRY_ASSIGN(const std::uint8_t lo, byte());
          n = (n << 8) | lo;
        }
        if (n == 0) return Error::corruption(fmt::format("byte-code: a {} of 0 values", tag_name(tag)));
        return emit_base(out, n, tag_name(tag));
      }
      case kLit: return literal(out, nib);
      case kLitW: {
        PDSIM_TRY_ASSIGN(const std::uint64_t len, operand(nib, "LitW"));
        return literal(out, len);
      }
      case kShiftedRun: return shifted_run(out, nib, nested);
      default: return Error::corruption(fmt::format("byte-code: invalid opcode 0x{:02x}", op));
    }
  }

 private:
  [[nodiscard]] Result<std::uint8_t> byte() {
    std::uint8_t b = 0;
    PDSIM_TRY(src_.read(&b, 1));
    return b;
  }

  // A little-endian operand of width 1, 2, 4 or 8 bytes, the width given by the nibble.
  [[nodiscard]] Result<std::uint64_t> operand(unsigned width, const char* name) {
    if (width != 1 && width != 2 && width != 4 && width != 8)
      return Error::corruption(fmt::format("byte-code: {} with an operand width of {} (not 1, 2, 4 or 8)", name, width));
    std::array<std::uint8_t, 8> bytes{};
    PDSIM_TRY(src_.read(bytes.data(), width));
    return load_le<std::uint64_t>(bytes.data());
  }

  [[nodiscard]] static Status overrun(const Out& out, std::uint64_t bytes, const char* name) {
    return Error::corruption(fmt::format("byte-code overruns {}: {} adds {} bytes with {} of {} produced", out.what,
                                         name, bytes, out.produced, out.limit));
  }

  [[nodiscard]] Status emit_base(Out& out, std::uint64_t n, const char* name) {
    if (n > out.room() / 8) return overrun(out, n * 8, name);
    for (std::uint64_t i = 0; i < n; ++i, out.produced += 8) store_le<std::uint64_t>(out.data + out.produced, base_);
    return {};
  }

  [[nodiscard]] Status delta(Out& out, std::uint64_t d, std::uint64_t count, bool up, const char* name) {
    if (count > out.room() / 8) return overrun(out, count * 8, name);
    for (std::uint64_t i = 0; i < count; ++i, out.produced += 8) {
      base_ = up ? base_ + d : base_ - d;  // modulo 2^64, as the format says
      store_le<std::uint64_t>(out.data + out.produced, base_);
    }
    return {};
  }

  [[nodiscard]] Status literal(Out& out, std::uint64_t len) {
    if (len == 0) return Error::corruption("byte-code: a literal of 0 bytes");
    // Checked before anything is copied: a LitW length can be anything up to 2^64 - 1.
    if (len > out.room()) return overrun(out, len, "a literal");
    PDSIM_TRY(src_.read(out.data + out.produced, static_cast<std::size_t>(len)));
    out.produced += static_cast<std::size_t>(len);
    return {};
  }

  [[nodiscard]] Status shifted_run(Out& out, unsigned hi_nibble, bool nested) {
    if (nested) return Error::corruption("byte-code: a ShiftedRun inside a ShiftedRun sub-stream");
    PDSIM_TRY_ASSIGN(const std::uint8_t lo, byte());
    const std::size_t n = (std::size_t{hi_nibble} << 8) | lo;
    if (n == 0) return Error::corruption("byte-code: a ShiftedRun of 0 values");
    if (n > out.room() / 8) return overrun(out, n * 8, "ShiftedRun");
    std::array<std::uint8_t, kBlockSize> high, low;  // 8n <= 4096; the sub-streams fill all 8n bytes
    Out h{high.data(), 0, n * 8, "a ShiftedRun sub-stream"};
    while (h.produced < h.limit) PDSIM_TRY(step(h, true));
    Out l{low.data(), 0, n * 8, "a ShiftedRun sub-stream"};
    while (l.produced < l.limit) PDSIM_TRY(step(l, true));
    for (std::size_t i = 0; i < n; ++i, out.produced += 8) {
      const std::uint64_t v = (load_le<std::uint64_t>(high.data() + 8 * i) << 24) |
                              (load_le<std::uint64_t>(low.data() + 8 * i) & 0xFFFFFFu);
      store_le<std::uint64_t>(out.data + out.produced, v);
    }
    return {};
  }

  ByteSource& src_;
  std::uint64_t base_ = 0;
};

}  // namespace

Status decode_block(ByteSource& src, BlockSpan block) {
  Vm vm(src);
  Out out{block.data(), 0, kBlockSize, "the block"};
  while (out.produced < kBlockSize) {
    auto s = vm.step(out, false);
    if (s.ok()) continue;
    if (s.error().kind() == ErrorKind::no_data)
      return Error::corruption(fmt::format("byte-code stops short of {} bytes: the stream ends after {} bytes of the block",
                                           kBlockSize, out.produced));
    return s;
  }
  return {};
}

// ---- Encoder ------------------------------------------------------------------------------------

namespace {

constexpr std::size_t kMaxRun = 4095;  // a 12-bit count

unsigned width_of(std::uint64_t v) {
  if (v <= 0xFFu) return 1;
  if (v <= 0xFFFFu) return 2;
  if (v <= 0xFFFFFFFFu) return 4;
  return 8;
}

void put(std::vector<std::uint8_t>& out, unsigned tag, unsigned nibble) {
  out.push_back(static_cast<std::uint8_t>((tag << 4) | nibble));
}

void put_uint(std::vector<std::uint8_t>& out, std::uint64_t v, unsigned width) {
  for (unsigned i = 0; i < width; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

// Const, Const8, Count, Count8 and ShiftedRun carry counts up to 4095: nibble form or 12-bit form.
void put_12bit(std::vector<std::uint8_t>& out, unsigned tag, std::size_t n) {
  put(out, tag, static_cast<unsigned>(n >> 8));
  out.push_back(static_cast<std::uint8_t>(n & 0xFFu));
}

void put_count(std::vector<std::uint8_t>& out, std::size_t k) {
  if (k == 1) return;
  if (k <= 15) put(out, kCount, static_cast<unsigned>(k));
  else put_12bit(out, kCount8, k);
}

void put_delta(std::vector<std::uint8_t>& out, bool up, std::uint64_t d, std::size_t k) {
  put_count(out, k);
  if (d <= 15) {
    put(out, up ? kPos : kNeg, static_cast<unsigned>(d));
    return;
  }
  const unsigned w = width_of(d);
  put(out, up ? kPosW : kNegW, w);
  put_uint(out, d, w);
}

}  // namespace

void encode_literal(std::span<const std::uint8_t> bytes, std::vector<std::uint8_t>& out) {
  if (bytes.size() <= 15) {
    put(out, kLit, static_cast<unsigned>(bytes.size()));
  } else {
    const unsigned w = width_of(bytes.size());
    put(out, kLitW, w);
    put_uint(out, bytes.size(), w);
  }
  out.insert(out.end(), bytes.begin(), bytes.end());
}

void encode_u64_sequence(std::span<const std::uint64_t> xs, std::vector<std::uint8_t>& out) {
  if (xs.empty()) return;
  std::uint64_t base = xs[0];
  const unsigned w = width_of(base);
  put(out, kSet, w);
  put_uint(out, base, w);
  std::size_t i = 1;
  while (i < xs.size()) {
    const std::uint64_t x = xs[i];
    std::size_t k = 1;
    if (x == base) {
      while (i + k < xs.size() && k < kMaxRun && xs[i + k] == base) ++k;
      if (k <= 15) put(out, kConst, static_cast<unsigned>(k));
      else put_12bit(out, kConst8, k);
    } else {
      // A run of equal steps up (x > base) or down; wrap-around is part of the run.
      const bool up = x > base;
      const std::uint64_t d = up ? x - base : base - x;
      while (i + k < xs.size() && k < kMaxRun && xs[i + k] == (up ? base + (k + 1) * d : base - (k + 1) * d)) ++k;
      put_delta(out, up, d, k);
      base = up ? base + k * d : base - k * d;
    }
    i += k;
  }
}

void encode_shifted(std::span<const std::uint64_t> values, std::vector<std::uint8_t>& out) {
  std::array<std::uint64_t, kMaxRun> part{};
  const std::size_t n = values.size();
  put_12bit(out, kShiftedRun, n);
  for (std::size_t i = 0; i < n; ++i) part[i] = values[i] >> 24;
  encode_u64_sequence(std::span(part.data(), n), out);
  for (std::size_t i = 0; i < n; ++i) part[i] = values[i] & 0xFFFFFFu;
  encode_u64_sequence(std::span(part.data(), n), out);
}

namespace {

constexpr std::size_t kNodeHeaderSize = 32;
constexpr std::uint32_t kLeafFlags = 2;  // exactly 2: anything else is encoded as internal

void load_u64s(ConstBlockSpan block, std::size_t offset, std::size_t n, std::uint64_t* dst) {
  for (std::size_t i = 0; i < n; ++i) dst[i] = load_le<std::uint64_t>(block.data() + offset + 8 * i);
}

// False when the node's shape does not fit the structured encoding.
bool encode_btree_node(ConstBlockSpan block, std::vector<std::uint8_t>& out) {
  const std::uint32_t flags = load_le<std::uint32_t>(block.data() + 4);
  const std::uint64_t m = load_le<std::uint32_t>(block.data() + 20);
  const std::uint32_t value_size = load_le<std::uint32_t>(block.data() + 24);
  const bool leaf = flags == kLeafFlags;
  const bool values_as_u64 = !leaf || value_size == 8;
  const std::uint64_t keys_end = kNodeHeaderSize + 8 * m;
  const std::uint64_t end = values_as_u64 ? keys_end + 8 * m : keys_end;
  // m = 0 would need an empty ShiftedRun; keys filling the block an empty literal. Neither is
  // decodable, so such nodes (never written by the kernel) go out as one literal instead.
  if (m == 0 || end > kBlockSize || (!values_as_u64 && end == kBlockSize)) return false;

  std::array<std::uint64_t, kBlockSize / 8> xs{};
  encode_literal(block.subspan(0, kNodeHeaderSize), out);
  load_u64s(block, kNodeHeaderSize, m, xs.data());
  encode_u64_sequence(std::span(xs.data(), m), out);
  if (values_as_u64) {
    load_u64s(block, keys_end, m, xs.data());
    if (leaf) encode_shifted(std::span(xs.data(), m), out);
    else encode_u64_sequence(std::span(xs.data(), m), out);
  }
  if (end < kBlockSize) encode_literal(block.subspan(end), out);
  return true;
}

}  // namespace

void encode_block(ConstBlockSpan block, BlockKind kind, std::vector<std::uint8_t>& out) {
  if (kind == BlockKind::btree_node) {
    const std::size_t mark = out.size();
    if (encode_btree_node(block, out)) return;
    out.resize(mark);
  }
  encode_literal(block, out);
}

}  // namespace pdsim::pack
