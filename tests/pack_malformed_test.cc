// SPDX-License-Identifier: GPL-2.0-or-later
// Malformed pack files, one hand-made pack per defect: each is refused with one corruption error
// in its own words (so a test cannot pass on some other error), and unpacking one writes nothing.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/pack/pack.h"
#include "tests/pack_test_util.h"
#include "testing/test_util.h"

namespace pdsim {
namespace {

using testing::append_entry;
using testing::append_record;
using testing::append_u64;
using testing::Bytes;
using testing::literal_code;
using testing::pack_header;
using testing::valid_block;

constexpr std::uint64_t kBlocks = 16;

// A good pack: blocks 1, 3 (one record) and 7 (a second record).
Bytes good_payload_a() {
  Bytes p;
  append_entry(p, 1, literal_code(valid_block(1)));
  append_entry(p, 3, literal_code(valid_block(3, salt::btree_node)));
  return p;
}
Bytes good_payload_b() {
  Bytes p;
  append_entry(p, 7, literal_code(valid_block(7, salt::sm_bitmap)));
  return p;
}
Bytes good_pack() {
  Bytes f = pack_header(kBlocks);
  append_record(f, good_payload_a());
  append_record(f, good_payload_b());
  return f;
}

// "accepted" or the error's text.
std::string read_error(const Bytes& file) {
  pack::PackVisitor v{.on_header = [](BlockNr) { return Status{}; },
                      .on_block = [](BlockNr, ConstBlockSpan) { return Status{}; }};
  auto r = pack::read_pack(file, v);
  if (r.ok()) return "accepted";
  EXPECT_EQ(r.error().kind(), ErrorKind::corruption) << r.error().to_string();
  return r.error().to_string();
}

#define EXPECT_REFUSED(file, words)                                      \
  do {                                                                  \
    const std::string e_ = read_error(file);                            \
    EXPECT_NE(e_.find(words), std::string::npos) << "error: " << e_;    \
  } while (false)

TEST(PackMalformed, TheGoodPackIsAccepted) {
  std::vector<BlockNr> seen;
  pack::PackVisitor v{.on_header = [](BlockNr n) { return n == kBlocks ? Status{} : Status(Error::invalid("n")); },
                      .on_block = [&](BlockNr b, ConstBlockSpan data) {
                        Block got{};
                        std::copy(data.begin(), data.end(), got.begin());
                        EXPECT_EQ(got, valid_block(static_cast<std::uint8_t>(b), b == 1   ? salt::thin_superblock
                                                                            : b == 3 ? salt::btree_node
                                                                                     : salt::sm_bitmap));
                        seen.push_back(b);
                        return Status{};
                      }};
  auto r = pack::read_pack(good_pack(), v);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(seen, (std::vector<BlockNr>{1, 3, 7}));
  EXPECT_EQ(r->records, 2u);
  EXPECT_EQ(r->blocks, 3u);
}

TEST(PackMalformed, BadMagic) {
  Bytes f = good_pack();
  f[0] ^= 1;
  EXPECT_REFUSED(f, "not a pack file (bad magic");
}

TEST(PackMalformed, BadVersion) {
  Bytes f = pack_header(kBlocks, pack::kMagic, 2);
  append_record(f, good_payload_a());
  EXPECT_REFUSED(f, "unsupported pack version 2");
}

TEST(PackMalformed, BadBlockSize) {
  Bytes f = pack_header(kBlocks, pack::kMagic, 3, 8192);
  EXPECT_REFUSED(f, "unsupported block size 8192");
}

TEST(PackMalformed, TruncatedHeader) {
  Bytes f = good_pack();
  f.resize(20);
  EXPECT_REFUSED(f, "truncated header: 20 bytes");
}

TEST(PackMalformed, ZeroOrHugeNrBlocks) {
  EXPECT_REFUSED(pack_header(0), "has 0 blocks");
  EXPECT_REFUSED(pack_header(~std::uint64_t{0}), "more than the");
}

TEST(PackMalformed, StrayBytesAfterTheLastRecord) {
  Bytes f = good_pack();
  f.insert(f.end(), {1, 2, 3});
  EXPECT_REFUSED(f, "3 stray bytes");
}

TEST(PackMalformed, TruncatedRecord) {
  Bytes f = good_pack();
  f.pop_back();
  EXPECT_REFUSED(f, "record 1 at offset");
  EXPECT_REFUSED(f, "truncated record");
  // A length field of 2^63 is refused without allocating it.
  Bytes g = pack_header(kBlocks);
  append_u64(g, std::uint64_t{1} << 63);
  g.insert(g.end(), 100, 0);
  EXPECT_REFUSED(g, "truncated record: its length 9223372036854775808");
}

TEST(PackMalformed, ZlibErrorInTheStream) {
  Bytes f = pack_header(kBlocks);
  append_record(f, good_payload_a());
  f[pack::kHeaderSize + 8 + 2] ^= 0xFF;  // first byte of deflate data after the 78 9C header
  EXPECT_REFUSED(f, "zlib error");
}

TEST(PackMalformed, ZlibChecksumMismatch) {
  Bytes f = pack_header(kBlocks);
  append_record(f, good_payload_a());
  f.back() ^= 0x01;  // the Adler-32 trailer
  EXPECT_REFUSED(f, "zlib error -3 (incorrect data check)");
}

TEST(PackMalformed, ZlibStreamTruncatedInsideItsRecord) {
  const Bytes z = testing::zlib_compress(good_payload_a());
  Bytes f = pack_header(kBlocks);
  append_u64(f, z.size() - 6);
  f.insert(f.end(), z.begin(), z.end() - 6);
  EXPECT_REFUSED(f, "zlib stream truncated");
}

TEST(PackMalformed, BytesAfterTheZlibStreamInsideItsRecord) {
  Bytes z = testing::zlib_compress(good_payload_a());
  z.insert(z.end(), {0, 0, 0, 0});
  Bytes f = pack_header(kBlocks);
  append_u64(f, z.size());
  f.insert(f.end(), z.begin(), z.end());
  EXPECT_REFUSED(f, "4 bytes follow the end of the record's zlib stream");
}

TEST(PackMalformed, StreamEndsInsideABlockNumber) {
  Bytes p = good_payload_a();
  p.insert(p.end(), {9, 0, 0});
  Bytes f = pack_header(kBlocks);
  append_record(f, p);
  EXPECT_REFUSED(f, "entry 2: the stream ends inside the block number");
}

TEST(PackMalformed, ByteCodeOverrunsTheBlock) {
  Bytes code = literal_code(valid_block(1));
  code.resize(3 + 4000);  // keep 4000 bytes of the literal...
  code[1] = static_cast<std::uint8_t>(4000 & 0xFF);
  code[2] = static_cast<std::uint8_t>(4000 >> 8);
  code.insert(code.end(), {0x01, 0x00, 0x60, 100});  // ...then 8 + 800 bytes
  Bytes p;
  append_entry(p, 2, code);
  Bytes f = pack_header(kBlocks);
  append_record(f, p);
  EXPECT_REFUSED(f, "entry 0 (block 2): byte-code overruns the block");
}

TEST(PackMalformed, ByteCodeStopsShortOfTheBlock) {
  Bytes code = literal_code(valid_block(1));
  code[2] = 0x0F;  // 0x0F00 = 3840 bytes of literal, then the stream ends
  code.resize(3 + 3840);
  Bytes p;
  append_entry(p, 2, code);
  Bytes f = pack_header(kBlocks);
  append_record(f, p);
  EXPECT_REFUSED(f, "entry 0 (block 2): byte-code stops short of 4096 bytes");
}

TEST(PackMalformed, BlockNumberPastNrBlocks) {
  Bytes p = good_payload_a();
  append_entry(p, kBlocks, literal_code(valid_block(5)));
  Bytes f = pack_header(kBlocks);
  append_record(f, p);
  EXPECT_REFUSED(f, "entry 2 (block 16): block number past the end of the image (16 blocks)");
}

TEST(PackMalformed, DuplicateBlockInOneRecord) {
  Bytes p = good_payload_a();
  append_entry(p, 1, literal_code(valid_block(1)));
  Bytes f = pack_header(kBlocks);
  append_record(f, p);
  EXPECT_REFUSED(f, "duplicate block 1");
}

TEST(PackMalformed, DuplicateBlockAcrossRecords) {
  Bytes f = good_pack();
  Bytes p;
  append_entry(p, 3, literal_code(valid_block(3, salt::btree_node)));
  append_record(f, p);
  EXPECT_REFUSED(f, "record 2 at offset");
  EXPECT_REFUSED(f, "duplicate block 3");
}

TEST(PackMalformed, DecodedBlockWithABadChecksum) {
  Block b = valid_block(4);
  b[100] ^= 1;
  Bytes p;
  append_entry(p, 4, literal_code(b));
  Bytes f = pack_header(kBlocks);
  append_record(f, p);
  EXPECT_REFUSED(f, "entry 0 (block 4): decoded block has no valid checksum");
}

TEST(PackMalformed, EmptyRecordsAndNoRecordsAreAccepted) {
  Bytes f = pack_header(kBlocks);
  EXPECT_EQ(read_error(f), "accepted");  // no recognised block: an all-zero image
  append_u64(f, 0);                     // a zero-length record, as upstream accepts
  append_record(f, Bytes{});            // a stream with no entries
  EXPECT_EQ(read_error(f), "accepted");
}

// Unpacking a bad pack leaves no output and no partial file; an existing output is untouched.
TEST(PackMalformed, UnpackWritesNothingOnFailure) {
  testing::TempDir dir;
  Bytes f = good_pack();
  Bytes bad_tail = f;
  bad_tail.at(bad_tail.size() - 1) ^= 1;  // fails in the last record, after blocks were written to the partial file
  Bytes bad_header = f;
  bad_header[8] = 9;
  for (const Bytes* bad : {&bad_tail, &bad_header}) {
    const std::string in = dir.file("bad.pack"), out = dir.file("out.bin");
    std::ofstream(in, std::ios::binary).write(reinterpret_cast<const char*>(bad->data()), static_cast<std::streamsize>(bad->size()));
    auto r = pack::unpack_file(in, out);
    ASSERT_FALSE(r.ok());
    EXPECT_FALSE(std::filesystem::exists(out));
    EXPECT_FALSE(std::filesystem::exists(out + ".partial"));
    std::ofstream(out) << "keep me";
    EXPECT_FALSE(pack::unpack_file(in, out).ok());
    std::ifstream kept(out);
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(kept), {}), "keep me");
    std::filesystem::remove(out);
  }
}

}  // namespace
}  // namespace pdsim
