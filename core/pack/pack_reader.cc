// SPDX-License-Identifier: GPL-2.0-or-later
// Reading pack files: framing, streaming inflate, validation (pack-format.md §2, §3, §8).
#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include <fmt/format.h>

#include "core/common/endian.h"
#include "core/pack/block_kind.h"
#include "core/pack/bytecode.h"
#include "core/pack/pack.h"

namespace pdsim::pack {
namespace {

// One record's zlib stream, inflated 64 KiB at a time: a record's payload has no size limit in
// the format, so it is never inflated whole. Ends only at Z_STREAM_END (Adler-32 verified) with
// every compressed byte of the record consumed; any other end is an error.
class InflateSource final : public ByteSource {
 public:
  explicit InflateSource(std::span<const std::uint8_t> compressed) : rest_(compressed) {}
  ~InflateSource() override {
    if (initialised_) inflateEnd(&zs_);
  }

  [[nodiscard]] Status init() {
    if (inflateInit(&zs_) != Z_OK) return Error::io("zlib: inflateInit failed");
    initialised_ = true;
    return {};
  }

 private:
  [[nodiscard]] Result<bool> refill() override {
    while (!ended_) {
      if (zs_.avail_in == 0 && !rest_.empty()) {
        const std::size_t take = std::min<std::size_t>(rest_.size(), UINT_MAX);
        zs_.next_in = const_cast<Bytef*>(rest_.data());  // zlib's API is not const-correct
        zs_.avail_in = static_cast<uInt>(take);
        rest_ = rest_.subspan(take);
      }
      zs_.next_out = window_.data();
      zs_.avail_out = static_cast<uInt>(window_.size());
      const int rc = inflate(&zs_, Z_NO_FLUSH);
      const std::size_t got = window_.size() - zs_.avail_out;
      if (rc == Z_STREAM_END) {
        ended_ = true;
        const std::size_t left = zs_.avail_in + rest_.size();
        if (left != 0)
          return Error::corruption(fmt::format("{} bytes follow the end of the record's zlib stream", left));
      } else if (rc == Z_BUF_ERROR && zs_.avail_in == 0 && rest_.empty()) {
        return Error::corruption("zlib stream truncated: the record ends before the stream does");
      } else if (rc != Z_OK) {
        return Error::corruption(fmt::format("zlib error {} ({})", rc, zs_.msg != nullptr ? zs_.msg : "no message"));
      }
      if (got > 0) {
        set_window(window_.data(), window_.data() + got);
        return true;
      }
    }
    return false;
  }

  std::span<const std::uint8_t> rest_;
  z_stream zs_{};
  bool initialised_ = false;
  bool ended_ = false;
  std::array<std::uint8_t, 64 * 1024> window_{};
};

// One bit per block number seen; grows only as far as the largest number seen (<= nr_blocks).
class SeenBlocks {
 public:
  // True when b was already seen; marks it.
  bool test_and_set(BlockNr b) {
    const std::size_t word = static_cast<std::size_t>(b / 64);
    if (word >= bits_.size()) bits_.resize(word + 1, 0);
    const std::uint64_t mask = std::uint64_t{1} << (b % 64);
    const bool was = (bits_[word] & mask) != 0;
    bits_[word] |= mask;
    return was;
  }

 private:
  std::vector<std::uint64_t> bits_;
};

Status check_header(std::span<const std::uint8_t> file, BlockNr* nr_blocks) {
  if (file.size() < kHeaderSize)
    return Error::corruption(fmt::format("truncated header: {} bytes, a pack header is {}", file.size(), kHeaderSize));
  const std::uint64_t magic = load_le<std::uint64_t>(file.data());
  const std::uint64_t version = load_le<std::uint64_t>(file.data() + 8);
  const std::uint64_t block_size = load_le<std::uint64_t>(file.data() + 16);
  *nr_blocks = load_le<std::uint64_t>(file.data() + 24);
  if (magic != kMagic) return Error::corruption(fmt::format("not a pack file (bad magic 0x{:016x})", magic));
  if (version != kVersion)
    return Error::corruption(fmt::format("unsupported pack version {} (only version {} exists)", version, kVersion));
  if (block_size != kBlockSize)
    return Error::corruption(fmt::format("unsupported block size {} in the pack header (only {})", block_size, kBlockSize));
  if (*nr_blocks == 0) return Error::corruption("the pack header says the image has 0 blocks");
  if (*nr_blocks > kMaxBlocks)
    return Error::corruption(fmt::format("the pack header says the image has {} blocks, more than the {} we accept",
                                         *nr_blocks, kMaxBlocks));
  return {};
}

// Reads the entries of one record's stream.
Status read_entries(ByteSource& src, BlockNr nr_blocks, SeenBlocks& seen, const PackVisitor& visitor,
                    PackStats& stats, std::uint64_t* entries) {
  Block block{};
  for (;;) {
    PDSIM_TRY_ASSIGN(const bool end, src.at_end());
    if (end) return {};
    // Messages are built only on the error paths: this loop runs once per block.
    auto where = [&] { return fmt::format("entry {}", *entries); };
    std::array<std::uint8_t, 8> nr_bytes{};
    auto s = src.read(nr_bytes.data(), nr_bytes.size());
    if (!s) {
      if (s.error().kind() == ErrorKind::no_data)
        return Error::corruption(fmt::format("{}: the stream ends inside the block number", where()));
      return std::move(s).error().with_context(where());
    }
    const BlockNr b = load_le<std::uint64_t>(nr_bytes.data());
    auto what = [&] { return fmt::format("{} (block {})", where(), b); };
    if (b >= nr_blocks)
      return Error::corruption(fmt::format("{}: block number past the end of the image ({} blocks)", what(), nr_blocks));
    if (seen.test_and_set(b)) return Error::corruption(fmt::format("{}: duplicate block {}", what(), b));
    auto decoded = decode_block(src, BlockSpan(block));
    if (!decoded) return std::move(decoded).error().with_context(what());
    if (!classify_block(ConstBlockSpan(block)))
      return Error::corruption(fmt::format("{}: decoded block has no valid checksum for any known block type", what()));
    PDSIM_TRY(visitor.on_block(b, ConstBlockSpan(block)));
    ++stats.blocks;
    ++*entries;
  }
}

}  // namespace

bool has_pack_magic(std::span<const std::uint8_t> head) noexcept {
  return head.size() >= 8 && load_le<std::uint64_t>(head.data()) == kMagic;
}

Result<PackStats> read_pack(std::span<const std::uint8_t> file, const PackVisitor& visitor) {
  PackStats stats;
  stats.file_bytes = file.size();
  PDSIM_TRY(check_header(file, &stats.nr_blocks));
  PDSIM_TRY(visitor.on_header(stats.nr_blocks));
  SeenBlocks seen;
  std::size_t pos = kHeaderSize;
  while (pos < file.size()) {
    const std::string where = fmt::format("record {} at offset {}", stats.records, pos);
    const std::size_t left = file.size() - pos;
    if (left < 8)
      return Error::corruption(fmt::format("{}: {} stray bytes at the end of the file (a record length is 8)", where, left));
    const std::uint64_t len = load_le<std::uint64_t>(file.data() + pos);
    pos += 8;
    if (len > file.size() - pos)
      return Error::corruption(fmt::format("{}: truncated record: its length {} runs past the end of the file ({} bytes left)",
                                           where, len, file.size() - pos));
    // A zero-length record holds no entries; upstream accepts it, and so do we.
    if (len > 0) {
      InflateSource src(file.subspan(pos, static_cast<std::size_t>(len)));
      PDSIM_TRY(src.init());
      std::uint64_t entries = 0;
      auto s = read_entries(src, stats.nr_blocks, seen, visitor, stats, &entries);
      if (!s) return std::move(s).error().with_context(where);
      stats.bytecode_bytes += src.consumed();
    }
    pos += static_cast<std::size_t>(len);
    ++stats.records;
  }
  return stats;
}

}  // namespace pdsim::pack
