// SPDX-License-Identifier: GPL-2.0-or-later
// The pack byte-code (pack-format.md §5, §6): the encoder against the spec's worked examples, the
// decoder's round trip, and one test per way a block's program can be malformed.
#include <gtest/gtest.h>

#include "core/pack/bytecode.h"
#include "sim/rng.h"
#include "tests/pack_test_util.h"

namespace pdsim {
namespace {

using testing::Bytes;

Bytes seq(std::vector<std::uint64_t> xs) {
  Bytes out;
  pack::encode_u64_sequence(xs, out);
  return out;
}

constexpr std::uint64_t kMax = ~std::uint64_t{0};

// Rows of the spec's §6.3 table: run detection and the instruction forms it picks.
TEST(PackEncoder, U64SequencesMatchTheSpecTable) {
  EXPECT_EQ(seq({1}), (Bytes{0x01, 0x01}));
  EXPECT_EQ(seq({1, 2}), (Bytes{0x01, 0x01, 0x11}));
  EXPECT_EQ(seq({1, 2, 3, 4}), (Bytes{0x01, 0x01, 0x73, 0x11}));
  EXPECT_EQ(seq({10, 8, 6, 4}), (Bytes{0x01, 0x0A, 0x73, 0x32}));
  EXPECT_EQ(seq({42, 42, 42, 42}), (Bytes{0x01, 0x2A, 0x53}));
  EXPECT_EQ(seq({1, 2, 3, 10, 20, 30, 40, 38, 36, 34, 0, 0, 0, 0}),
            (Bytes{0x01, 0x01, 0x72, 0x11, 0x17, 0x73, 0x1A, 0x73, 0x32, 0x41, 0x22, 0x53}));
  EXPECT_EQ(seq({1, 0, kMax}), (Bytes{0x01, 0x01, 0x72, 0x31}));
  Bytes wrap{0x08};
  wrap.insert(wrap.end(), 8, 0xFF);
  wrap.push_back(0x72);
  wrap.push_back(0x48);
  wrap.insert(wrap.end(), 8, 0xFF);
  EXPECT_EQ(seq({kMax, 0, 1}), wrap);
  EXPECT_EQ(seq({1, 5, 9, 10}), (Bytes{0x01, 0x01, 0x72, 0x14, 0x11}));
  EXPECT_EQ(seq({0, 126, 252, 378, 504}), (Bytes{0x01, 0x00, 0x74, 0x21, 0x7E}));
  std::vector<std::uint64_t> up;
  for (std::uint64_t v = 100; v <= 120; ++v) up.push_back(v);
  EXPECT_EQ(seq(up), (Bytes{0x01, 0x64, 0x80, 0x14, 0x11}));
  EXPECT_EQ(seq(std::vector<std::uint64_t>(20, 5)), (Bytes{0x01, 0x05, 0x60, 0x13}));
  EXPECT_EQ(seq({70000, 69000}), (Bytes{0x04, 0x70, 0x11, 0x01, 0x00, 0x42, 0xE8, 0x03}));
  Bytes shifted;
  pack::encode_shifted(std::vector<std::uint64_t>{(42u << 24) | 42u}, shifted);
  EXPECT_EQ(shifted, (Bytes{0xB0, 0x01, 0x01, 0x2A, 0x01, 0x2A}));
}

TEST(PackEncoder, LiteralForms) {
  Bytes out;
  pack::encode_literal(Bytes(3, 7), out);
  EXPECT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0], 0x93);
  out.clear();
  pack::encode_literal(Bytes(256, 7), out);
  EXPECT_EQ((Bytes(out.begin(), out.begin() + 3)), (Bytes{0xA2, 0x00, 0x01}));
  out.clear();
  pack::encode_literal(Bytes(4096, 7), out);
  EXPECT_EQ(out.size(), 4099u);
  EXPECT_EQ((Bytes(out.begin(), out.begin() + 3)), (Bytes{0xA2, 0x00, 0x10}));
}

// Block 10 of the spec's §10.2 worked example: a mapping leaf with keys 0, 5, 6 and values
// (10,0), (20,1), (21,1) encodes to exactly these 92 bytes.
TEST(PackEncoder, WorkedExampleMappingLeaf) {
  Block b{};
  const Bytes header{0xD9, 0xF2, 0x75, 0x51, 0x02, 0, 0, 0, 0x0A, 0, 0, 0, 0, 0, 0, 0,
                     0x03, 0, 0, 0, 0xFC, 0, 0, 0, 0x08, 0, 0, 0, 0, 0, 0, 0};
  std::copy(header.begin(), header.end(), b.begin());
  const std::uint64_t keys[] = {0, 5, 6};
  const std::uint64_t values[] = {10u << 24, (20u << 24) | 1u, (21u << 24) | 1u};
  for (int i = 0; i < 3; ++i) {
    store_le<std::uint64_t>(b.data() + 32 + 8 * i, keys[i]);
    store_le<std::uint64_t>(b.data() + 32 + 8 * 252 + 8 * i, values[i]);
  }
  ASSERT_EQ(pack::classify_block(b), pack::BlockKind::btree_node) << "the example's checksum";
  Bytes code;
  pack::encode_block(b, pack::BlockKind::btree_node, code);
  Bytes want{0xA1, 0x20};
  want.insert(want.end(), header.begin(), header.end());
  const Bytes body{0x01, 0x00, 0x15, 0x11, 0x36, 0x60, 0xF8, 0xB0, 0xFC, 0x01, 0x0A, 0x1A, 0x11, 0x41,
                   0x15, 0x60, 0xF8, 0x01, 0x00, 0x11, 0x51, 0x31, 0x60, 0xF8, 0xA1, 0x20};
  want.insert(want.end(), body.begin(), body.end());
  want.insert(want.end(), 32, 0);
  EXPECT_EQ(code, want);
  pack::SpanSource src(code);
  Block back{};
  ASSERT_TRUE(pack::decode_block(src, back).ok());
  EXPECT_EQ(back, b);
  EXPECT_TRUE(*src.at_end()) << "the program must end exactly at the block's last byte";
}

// Random btree nodes of every shape, including ones the structured encoding cannot take
// (max_entries 0, too large, keys filling the block): decode(encode(x)) == x, nothing left over.
TEST(PackEncoder, RoundTripsRandomNodes) {
  sim::Rng rng(7);
  const std::uint32_t shapes[][2] = {{2, 8}, {2, 4}, {2, 16}, {2, 24}, {1, 8}, {0, 8}, {2, 12}};
  const std::uint32_t sizes[] = {0, 1, 126, 168, 252, 254, 336, 508, 509, 100000};
  for (int round = 0; round < 400; ++round) {
    Block b{};
    const auto& shape = shapes[rng.below(std::size(shapes))];
    const std::uint32_t m = rng.chance(1, 3) ? sizes[rng.below(std::size(sizes))] : static_cast<std::uint32_t>(rng.below(300));
    store_le<std::uint32_t>(b.data() + 4, shape[0]);
    store_le<std::uint32_t>(b.data() + 20, m);
    store_le<std::uint32_t>(b.data() + 24, shape[1]);
    const std::uint64_t step = rng.below(5) == 0 ? kMax - rng.below(3) : rng.below(1000);
    std::uint64_t v = rng.next();
    for (std::size_t off = 32; off + 8 <= kBlockSize; off += 8) {
      v = rng.chance(1, 4) ? rng.next() >> rng.below(64) : v + step;
      store_le<std::uint64_t>(b.data() + off, rng.chance(1, 5) ? 0 : v);
    }
    stamp_checksum(BlockSpan(b), salt::btree_node);
    Bytes code;
    pack::encode_block(b, pack::BlockKind::btree_node, code);
    pack::SpanSource src(code);
    Block back{};
    auto s = pack::decode_block(src, back);
    ASSERT_TRUE(s.ok()) << "round " << round << " m " << m << ": " << s.error().to_string();
    ASSERT_EQ(back, b) << "round " << round;
    ASSERT_TRUE(*src.at_end()) << "round " << round << ": bytes left after the block";
  }
}

// ---- Malformed programs: each refused with its own words, never read past or written past. ---

std::string decode_error(const Bytes& code) {
  pack::SpanSource src(code);
  Block out{};
  auto s = pack::decode_block(src, out);
  return s.ok() ? "accepted" : s.error().to_string();
}

Bytes lit(std::size_t n, std::uint8_t v = 0) {
  Bytes code;
  pack::encode_literal(Bytes(n, v), code);
  return code;
}

Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(PackDecoder, AcceptsAWholeBlockInPieces) {
  EXPECT_EQ(decode_error(cat(lit(4000), cat(Bytes{0x01, 0x00}, Bytes{0x60, 11}))), "accepted");  // 4000 + 8 + 88
}

TEST(PackDecoder, RefusesAnOverrun) {
  const std::string e = decode_error(cat(lit(4000), Bytes{0x01, 0x00, 0x60, 12}));  // 4000 + 8 + 96
  EXPECT_NE(e.find("overruns the block"), std::string::npos) << e;
}

TEST(PackDecoder, RefusesAProgramThatStopsShort) {
  const std::string e = decode_error(lit(4000));
  EXPECT_NE(e.find("stops short of 4096 bytes"), std::string::npos) << e;
  EXPECT_NE(e.find("after 4000 bytes"), std::string::npos) << e;
}

TEST(PackDecoder, RefusesATruncatedLiteral) {
  Bytes code = lit(4096);
  code.resize(2000);
  const std::string e = decode_error(code);
  EXPECT_NE(e.find("stops short"), std::string::npos) << e;
}

TEST(PackDecoder, RefusesAHugeLiteralLengthBeforeReadingIt) {
  Bytes code{0xA8};
  testing::append_u64(code, std::uint64_t{1} << 62);
  const std::string e = decode_error(code);
  EXPECT_NE(e.find("overruns the block: a literal adds 4611686018427387904 bytes"), std::string::npos) << e;
}

TEST(PackDecoder, RefusesInvalidOpcodes) {
  for (int op : {0xC0, 0xD5, 0xEE, 0xFF}) {
    const std::string e = decode_error(Bytes{static_cast<std::uint8_t>(op)});
    EXPECT_NE(e.find("invalid opcode"), std::string::npos) << e;
  }
}

TEST(PackDecoder, RefusesBadOperandWidths) {
  for (int op : {0x00, 0x03, 0x05, 0x09, 0x23, 0x40, 0xAF}) {
    const std::string e = decode_error(Bytes{static_cast<std::uint8_t>(op), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15});
    EXPECT_NE(e.find("operand width"), std::string::npos) << op << ": " << e;
  }
}

TEST(PackDecoder, RefusesCountPrefixesUpstreamNeverWrites) {
  EXPECT_NE(decode_error(Bytes{0x72, 0x93, 1, 2, 3}).find("Count prefix before a Lit"), std::string::npos);
  EXPECT_NE(decode_error(Bytes{0x72, 0x53}).find("Count prefix before a Const"), std::string::npos);
  EXPECT_NE(decode_error(Bytes{0x72, 0x01, 0x00}).find("Count prefix before a Set"), std::string::npos);
  EXPECT_NE(decode_error(Bytes{0x70, 0x11}).find("Count prefix of 0"), std::string::npos);
  EXPECT_NE(decode_error(Bytes{0x80, 0x00, 0x11}).find("Count prefix of 0"), std::string::npos);
  // The forms upstream does write are accepted: Count8 before Pos fills the block.
  EXPECT_EQ(decode_error(Bytes{0x01, 0x00, 0x81, 0xFF, 0x11}), "accepted");  // 1 + 511 values
}

TEST(PackDecoder, RefusesZeroLengthForms) {
  EXPECT_NE(decode_error(Bytes{0x01, 0x00, 0x50}).find("Const of 0"), std::string::npos);
  EXPECT_NE(decode_error(Bytes{0x90}).find("literal of 0 bytes"), std::string::npos);
  EXPECT_NE(decode_error(Bytes{0xA1, 0x00}).find("literal of 0 bytes"), std::string::npos);
  EXPECT_NE(decode_error(Bytes{0xB0, 0x00}).find("ShiftedRun of 0"), std::string::npos);
}

TEST(PackDecoder, RefusesShiftedRunsThatDoNotFit) {
  // 512 values fill the block exactly; 513 do not.
  EXPECT_EQ(decode_error(Bytes{0xB2, 0x00, 0x01, 0x00, 0x61, 0xFF, 0x01, 0x00, 0x61, 0xFF}), "accepted");
  EXPECT_NE(decode_error(Bytes{0xB2, 0x01}).find("overruns the block: ShiftedRun"), std::string::npos);
  // A sub-stream producing more than its 8n bytes.
  EXPECT_NE(decode_error(Bytes{0xB0, 0x02, 0x01, 0x00, 0x52}).find("overruns a ShiftedRun sub-stream"),
            std::string::npos);
  // A ShiftedRun inside a sub-stream.
  EXPECT_NE(decode_error(Bytes{0xB0, 0x01, 0xB0, 0x01}).find("ShiftedRun inside"), std::string::npos);
}

}  // namespace
}  // namespace pdsim
