// SPDX-License-Identifier: GPL-2.0-or-later
// Writing pack files (pack-format.md §9): header, then records of up to 1024 entries, blocks in
// ascending order, each record one complete zlib stream at level 6. Nothing depends on threads or
// time, so the same image always gives the same bytes.
#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include <fmt/format.h>

#include "core/common/assert.h"
#include "core/common/endian.h"
#include "core/common/fd_io.h"
#include "core/pack/block_kind.h"
#include "core/pack/bytecode.h"
#include "core/pack/pack.h"
#include "core/pack/partial_file.h"

namespace pdsim::pack {
namespace {

class Deflater {
 public:
  Deflater() = default;
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;
  ~Deflater() {
    if (initialised_) deflateEnd(&zs_);
  }

  [[nodiscard]] Status init() {
    if (deflateInit(&zs_, kCompressionLevel) != Z_OK) return Error::io("zlib: deflateInit failed");
    initialised_ = true;
    return {};
  }

  // One record: the 8-byte length, then `payload` as one complete zlib stream.
  [[nodiscard]] Status record(std::span<const std::uint8_t> payload, std::vector<std::uint8_t>& out) {
    if (payload.size() > UINT_MAX) return Error::invalid("record payload too large for one deflate call");
    if (deflateReset(&zs_) != Z_OK) return Error::io("zlib: deflateReset failed");
    const uLong bound = deflateBound(&zs_, static_cast<uLong>(payload.size()));
    out.assign(8 + bound, 0);
    zs_.next_in = const_cast<Bytef*>(payload.data());  // zlib's API is not const-correct
    zs_.avail_in = static_cast<uInt>(payload.size());
    zs_.next_out = out.data() + 8;
    zs_.avail_out = static_cast<uInt>(bound);
    const int rc = deflate(&zs_, Z_FINISH);
    if (rc != Z_STREAM_END) return Error::io(fmt::format("zlib: deflate did not finish the stream ({})", rc));
    const std::uint64_t len = bound - zs_.avail_out;
    out.resize(8 + len);
    store_le<std::uint64_t>(out.data(), len);
    return {};
  }

 private:
  z_stream zs_{};
  bool initialised_ = false;
};

}  // namespace

Result<PackStats> write_pack(BlockDevice& src, const ByteSink& sink) {
  PackStats stats;
  stats.nr_blocks = src.nr_blocks();
  if (stats.nr_blocks == 0) return Error::invalid("cannot pack an image of 0 blocks");
  if (stats.nr_blocks > kMaxBlocks)
    return Error::invalid(fmt::format("cannot pack an image of {} blocks (the limit is {})", stats.nr_blocks, kMaxBlocks));

  std::array<std::uint8_t, kHeaderSize> header{};
  store_le<std::uint64_t>(header.data(), kMagic);
  store_le<std::uint64_t>(header.data() + 8, kVersion);
  store_le<std::uint64_t>(header.data() + 16, kBlockSize);
  store_le<std::uint64_t>(header.data() + 24, stats.nr_blocks);
  PDSIM_TRY(sink(header));
  stats.file_bytes = header.size();

  Deflater deflater;
  PDSIM_TRY(deflater.init());
  std::vector<std::uint8_t> payload, record;
  std::size_t entries = 0;
  auto flush_record = [&]() -> Status {
    PDSIM_TRY(deflater.record(payload, record));
    PDSIM_TRY(sink(record));
    stats.bytecode_bytes += payload.size();
    stats.file_bytes += record.size();
    ++stats.records;
    payload.clear();
    entries = 0;
    return {};
  };

  Block block{};
  for (BlockNr b = 0; b < stats.nr_blocks; ++b) {
    PDSIM_TRY(src.read(b, BlockSpan(block)));
    const auto kind = classify_block(ConstBlockSpan(block));
    if (!kind) continue;
    std::array<std::uint8_t, 8> nr{};
    store_le<std::uint64_t>(nr.data(), b);
    payload.insert(payload.end(), nr.begin(), nr.end());
    encode_block(ConstBlockSpan(block), *kind, payload);
    ++stats.blocks;
    PDSIM_ASSERT(entries < kEntriesPerRecord, "a pack record holds at most 1024 entries");
    if (++entries == kEntriesPerRecord) PDSIM_TRY(flush_record());
  }
  if (entries > 0) PDSIM_TRY(flush_record());
  return stats;
}

Result<PackStats> write_pack_file(BlockDevice& src, const std::string& path) {
  PDSIM_TRY_ASSIGN(PartialFile out, PartialFile::prepare(path));
  const int fd = ::open(out.partial_path().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int err = errno;
    return Error::io(fmt::format("cannot create '{}': {}", out.partial_path(), std::strerror(err)));
  }
  auto stats = write_pack(src, [&](std::span<const std::uint8_t> bytes) -> Status {
    const int err = write_fully(fd, bytes.data(), bytes.size());
    if (err != 0) return Error::io(fmt::format("write to '{}' failed: {}", out.partial_path(), std::strerror(err)));
    return {};
  });
  const int sync_err = stats.ok() && ::fsync(fd) != 0 ? errno : 0;
  const int close_err = ::close(fd) != 0 ? errno : 0;
  if (!stats) return std::move(stats).error();
  if (sync_err != 0 || close_err != 0)
    return Error::io(fmt::format("cannot sync or close '{}': {}", out.partial_path(),
                                 std::strerror(sync_err != 0 ? sync_err : close_err)));
  PDSIM_TRY(out.commit());
  return stats;
}

}  // namespace pdsim::pack
