// SPDX-License-Identifier: GPL-2.0-or-later
// Helpers for the pack tests: hand-made packs (header, zlib records, entries) and valid blocks.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/block/checksum.h"
#include "core/common/endian.h"
#include "core/pack/bytecode.h"
#include "core/pack/pack.h"

namespace pdsim::testing {

using Bytes = std::vector<std::uint8_t>;

inline void append_u64(Bytes& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

inline Bytes pack_header(std::uint64_t nr_blocks, std::uint64_t magic = pack::kMagic, std::uint64_t version = 3,
                         std::uint64_t block_size = 4096) {
  Bytes h;
  append_u64(h, magic);
  append_u64(h, version);
  append_u64(h, block_size);
  append_u64(h, nr_blocks);
  return h;
}

inline Bytes zlib_compress(const Bytes& payload) {
  uLongf len = compressBound(static_cast<uLong>(payload.size()));
  Bytes out(len);
  EXPECT_EQ(compress2(out.data(), &len, payload.data(), static_cast<uLong>(payload.size()), 6), Z_OK);
  out.resize(len);
  return out;
}

// Inflates one whole zlib stream (test inputs are small).
inline Bytes zlib_inflate(const std::uint8_t* data, std::size_t size) {
  z_stream zs{};
  EXPECT_EQ(inflateInit(&zs), Z_OK);
  zs.next_in = const_cast<Bytef*>(data);
  zs.avail_in = static_cast<uInt>(size);
  Bytes out;
  std::uint8_t buf[65536];
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = buf;
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.insert(out.end(), buf, buf + (sizeof buf - zs.avail_out));
  }
  EXPECT_EQ(rc, Z_STREAM_END);
  inflateEnd(&zs);
  return out;
}

// Appends a record: the 8-byte length and the compressed payload.
inline void append_record(Bytes& file, const Bytes& payload) {
  const Bytes z = zlib_compress(payload);
  append_u64(file, z.size());
  file.insert(file.end(), z.begin(), z.end());
}

// A block with a valid checksum for `salt`, contents from `seed`.
inline Block valid_block(std::uint8_t seed, std::uint32_t salt = salt::thin_superblock) {
  Block b{};
  for (std::size_t i = 4; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(seed * 31 + i * 7);
  stamp_checksum(BlockSpan(b), salt);
  return b;
}

// An entry: block number then byte-code.
inline void append_entry(Bytes& payload, std::uint64_t b, const Bytes& code) {
  append_u64(payload, b);
  payload.insert(payload.end(), code.begin(), code.end());
}

// The byte-code of a whole-block literal.
inline Bytes literal_code(const Block& block) {
  Bytes code;
  pack::encode_literal(block, code);
  return code;
}

}  // namespace pdsim::testing
