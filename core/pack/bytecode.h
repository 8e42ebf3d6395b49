// SPDX-License-Identifier: GPL-2.0-or-later
// The per-block byte-code of pack files (pack-format.md §5, §6): a small instruction set that,
// run from base = 0, produces exactly one 4096-byte block. The encoder follows upstream's choices
// (§6) so our uncompressed byte-code equals theirs; the decoder accepts any well-formed program
// and refuses everything else with a corruption error, never reading or writing out of bounds.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "core/common/result.h"
#include "core/io/block_device.h"
#include "core/pack/block_kind.h"

namespace pdsim::pack {

// A forward-only byte stream the decoder pulls from: a memory span, or a zlib record being
// inflated window by window (pack_reader.cc). The fast path is inline; refill() supplies more.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  ByteSource() = default;
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;

  // Copies exactly n bytes, or fails: corruption "the stream ends ..." when too few are left.
  [[nodiscard]] Status read(std::uint8_t* dst, std::size_t n) {
    if (static_cast<std::size_t>(end_ - cur_) >= n) {  // the common case: inline, no refill
      std::memcpy(dst, cur_, n);
      cur_ += n;
      return {};
    }
    return read_slow(dst, n);
  }
  // True when no byte is left (pulls more input first if needed).
  [[nodiscard]] Result<bool> at_end();
  // Bytes handed out so far.
  [[nodiscard]] std::uint64_t consumed() const noexcept { return consumed_before_ + static_cast<std::uint64_t>(cur_ - begin_); }

 protected:
  // Makes [cur_, end_) non-empty and returns true, or returns false at the end of the input.
  [[nodiscard]] virtual Result<bool> refill() = 0;
  [[nodiscard]] Status read_slow(std::uint8_t* dst, std::size_t n);
  void set_window(const std::uint8_t* begin, const std::uint8_t* end) noexcept {
    consumed_before_ += static_cast<std::uint64_t>(cur_ - begin_);
    begin_ = cur_ = begin;
    end_ = end;
  }

 private:
  const std::uint8_t* begin_ = nullptr;
  const std::uint8_t* cur_ = nullptr;
  const std::uint8_t* end_ = nullptr;
  std::uint64_t consumed_before_ = 0;
};

class SpanSource final : public ByteSource {
 public:
  explicit SpanSource(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}

 private:
  [[nodiscard]] Result<bool> refill() override;
  std::span<const std::uint8_t> bytes_;
  bool handed_out_ = false;
};

// Runs one block's byte-code from `src` into `out`. Fails (corruption) when the program is
// malformed, would produce more than 4096 bytes, or the stream ends before 4096 bytes are out.
// Forms upstream never writes are refused too, so every instruction makes progress: a Count
// prefix other than before Pos/PosW/Neg/NegW, a count of 0, a zero-length Const or literal, an
// empty or nested ShiftedRun, a ShiftedRun sub-stream that overshoots its 8n bytes.
[[nodiscard]] Status decode_block(ByteSource& src, BlockSpan out);

// Appends to `out` the byte-code of a block of this kind. Btree nodes whose max_entries does not
// fit the block (or is 0, or leaves no room for the trailing literal) fall back to one literal.
void encode_block(ConstBlockSpan block, BlockKind kind, std::vector<std::uint8_t>& out);

// The encoder's primitives (§6.1–6.3), exposed for tests.
void encode_literal(std::span<const std::uint8_t> bytes, std::vector<std::uint8_t>& out);
void encode_u64_sequence(std::span<const std::uint64_t> values, std::vector<std::uint8_t>& out);
// REQUIRES: 1 <= values.size() <= 4095.
void encode_shifted(std::span<const std::uint64_t> values, std::vector<std::uint8_t>& out);

}  // namespace pdsim::pack
