// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — thin_metadata_pack files (../shared/spec/pack-format.md, version 3).
//
// A pack is a 32-byte header (magic, version 3, block size 4096, nr_blocks) and records, each an
// 8-byte length and one zlib stream of entries (block number, byte-code for that block). It holds
// every block of an image whose checksum is valid for a known block type; blocks not in the pack
// are zeros.
//
// Reading checks everything upstream's reader does not (§8): a malformed pack is one corruption
// error naming the record, entry and block, never a partial result. Writing is deterministic:
// blocks ascending, 1024 entries a record, zlib level 6; the same image gives the same bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/io/block_device.h"

namespace pdsim::pack {

inline constexpr std::uint64_t kMagic = 0xA537A0AA6309EF77u;
inline constexpr std::uint64_t kVersion = 3;
inline constexpr std::size_t kHeaderSize = 32;
inline constexpr std::size_t kEntriesPerRecord = 1024;
inline constexpr int kCompressionLevel = 6;
// The largest image we read or write: 1 TiB, far beyond dm-thin's 16 GiB metadata limit. It bounds
// what a corrupt nr_blocks field can make us allocate (one bit a block, for duplicate detection).
inline constexpr std::uint64_t kMaxBlocks = std::uint64_t{1} << 28;

struct PackStats {
  BlockNr nr_blocks = 0;       // blocks of the unpacked image
  std::uint64_t blocks = 0;    // blocks held by the pack
  std::uint64_t records = 0;
  std::uint64_t bytecode_bytes = 0;  // uncompressed payload (block numbers + byte-code)
  std::uint64_t file_bytes = 0;
};

// True when `head` (the first bytes of a file, at least 8) starts with the pack magic.
[[nodiscard]] bool has_pack_magic(std::span<const std::uint8_t> head) noexcept;

// ---- Writing --------------------------------------------------------------------------------------

// Receives the pack file's bytes in order.
using ByteSink = std::function<Status(std::span<const std::uint8_t>)>;

// Packs every block of `src` that carries a valid checksum for a known block type.
[[nodiscard]] Result<PackStats> write_pack(BlockDevice& src, const ByteSink& sink);
// Same, into the file `path`: written to `path`.partial, synced, then renamed over `path`; on
// failure the partial file is removed and `path` is untouched.
[[nodiscard]] Result<PackStats> write_pack_file(BlockDevice& src, const std::string& path);

// ---- Reading --------------------------------------------------------------------------------------

// Called once with nr_blocks after the header validated, then once per block in file order.
struct PackVisitor {
  std::function<Status(BlockNr nr_blocks)> on_header;
  std::function<Status(BlockNr b, ConstBlockSpan block)> on_block;
};

// Reads a whole pack file held in memory, validating as it goes (pack-format.md §8): header
// fields, record framing, each zlib stream to its end (Adler-32 checked), each block's byte-code,
// block numbers below nr_blocks and never repeated, every decoded block's checksum. The first
// problem stops the read with a corruption error.
[[nodiscard]] Result<PackStats> read_pack(std::span<const std::uint8_t> file, const PackVisitor& visitor);

// A read-only BlockDevice over a decoded pack held in memory (absent blocks read as zeros).
[[nodiscard]] Result<std::unique_ptr<BlockDevice>> load_pack(std::span<const std::uint8_t> file);

// Reads the whole file into memory (its size is its size on disk, whatever the fields say).
[[nodiscard]] Result<std::vector<std::uint8_t>> read_whole_file(const std::string& path);

// The one way the tools open an image to read: a pack (recognised by its magic number) is
// decoded into memory, anything else is opened read-only as a raw file or block device.
[[nodiscard]] Result<std::unique_ptr<BlockDevice>> open_input_image(const std::string& path);

// Unpacks `pack_path` into the regular file `image_path`: nr_blocks * 4096 bytes, absent blocks
// zero. Written to `image_path`.partial and renamed only when the whole pack decoded cleanly.
[[nodiscard]] Result<PackStats> unpack_file(const std::string& pack_path, const std::string& image_path);

}  // namespace pdsim::pack
