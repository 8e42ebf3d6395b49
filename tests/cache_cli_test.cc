// SPDX-License-Identifier: GPL-2.0-or-later
// The cache tools on bad input: one line on stderr saying what and where, a non-zero exit,
// nothing written, no crash.
#include <gtest/gtest.h>

#include <fstream>

#include <fmt/format.h>

#include "testing/test_util.h"

#ifndef PDSIM_BINARY
#error "PDSIM_BINARY must name the pdsim program"
#endif

namespace pdsim {
namespace {

using Cmd = pdsim::testing::CommandOutput;

void write(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
}

std::size_t lines(const std::string& s) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')); }

const char* kGood =
    "<superblock uuid=\"\" block_size=\"64\" nr_cache_blocks=\"70\" policy=\"mq\" hint_width=\"4\">\n"
    "  <mappings>\n"
    "    <mapping cache_block=\"0\" origin_block=\"10\" dirty=\"false\"/>\n"
    "    <mapping cache_block=\"65\" origin_block=\"14\" dirty=\"true\"/>\n"
    "  </mappings>\n"
    "  <hints>\n"
    "    <hint cache_block=\"0\" data=\"AQIDBA==\"/>\n"
    "    <hint cache_block=\"65\" data=\"AAAAAA==\"/>\n"
    "  </hints>\n"
    "</superblock>\n";

std::string with(std::string doc, const std::string& what, const std::string& by) {
  doc.replace(doc.find(what), what.size(), by);
  return doc;
}

class CacheCli : public ::testing::Test {
 protected:
  pdsim::testing::TempDir dir;
  Cmd run(const std::string& args) { return pdsim::testing::run_capturing(dir, fmt::format("{} {}", PDSIM_BINARY, args)); }
  std::string image(std::size_t blocks = 1024) {
    const std::string p = dir.file("cmeta.bin");
    write(p, "");
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f.seekp(static_cast<std::streamoff>(4096 * blocks - 1));
    f.put('\0');
    return p;
  }
  void expect_untouched(const std::string& img) {
    std::ifstream f(img, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), {});
    EXPECT_EQ(bytes.find_first_not_of('\0'), std::string::npos) << "a refused restore wrote to the image";
  }
  void expect_refused(const std::string& xml, const std::string& words, const std::string& flags = "") {
    const std::string in = dir.file("in.xml");
    write(in, xml);
    const std::string img = image();
    Cmd r = run(fmt::format("cache-restore {} -i '{}' -o '{}'", flags, in, img));
    EXPECT_EQ(r.rc, 1) << xml;
    EXPECT_EQ(lines(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find(words), std::string::npos) << r.err;
    expect_untouched(img);
  }
};

TEST_F(CacheCli, RoundTripBothVersions) {
  for (const char* v : {"1", "2"}) {
    const std::string in = dir.file("in.xml"), img = image();
    write(in, kGood);
    Cmd r = run(fmt::format("cache-restore --metadata-version {} -i '{}' -o '{}'", v, in, img));
    ASSERT_EQ(r.rc, 0) << r.err;
    Cmd d = run(fmt::format("cache-dump '{}'", img));
    EXPECT_EQ(d.rc, 0);
    EXPECT_EQ(d.out, kGood);
    Cmd c = run(fmt::format("cache-check '{}'", img));
    EXPECT_EQ(c.rc, 0) << c.out;
    EXPECT_NE(c.err.find(fmt::format("version {}, 70 cache blocks, 2 mapped, 1 dirty", v)), std::string::npos) << c.err;
    Cmd f = run(fmt::format("cache-dump '{}' -o '{}'", img, dir.file("out.xml")));
    EXPECT_EQ(f.rc, 0);
    std::ifstream o(dir.file("out.xml"));
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(o), {}), kGood);
  }
}

TEST_F(CacheCli, RefusesMalformedXml) { expect_refused("<superblock uuid=\"\" block_size=\"64\"", "line"); }
TEST_F(CacheCli, RefusesTruncatedXml) { expect_refused(std::string(kGood).substr(0, 150), "line"); }
TEST_F(CacheCli, RefusesGarbage) { expect_refused("\x01\x02 not xml at all", "line 1"); }
TEST_F(CacheCli, RefusesAnEmptyDocument) { expect_refused("", "line 1"); }
TEST_F(CacheCli, RefusesUnknownElements) { expect_refused(with(kGood, "  </mappings>", "<bogus/>  </mappings>"), "unknown element <bogus>"); }
TEST_F(CacheCli, RefusesMissingAttributes) { expect_refused(with(kGood, " dirty=\"false\"", ""), "missing attribute dirty"); }
TEST_F(CacheCli, RefusesBadNumbers) {
  expect_refused(with(kGood, "origin_block=\"10\"", "origin_block=\"-1\""), "not a number");
  expect_refused(with(kGood, "origin_block=\"10\"", "origin_block=\"281474976710656\""), "48 bits");
  expect_refused(with(kGood, "dirty=\"false\"", "dirty=\"maybe\""), "not true or false");
}
TEST_F(CacheCli, RefusesBadSuperblocks) {
  expect_refused(with(kGood, "block_size=\"64\"", "block_size=\"100\""), "block_size 100");
  expect_refused(with(kGood, "hint_width=\"4\"", "hint_width=\"8\""), "hint_width 8");
  expect_refused(with(kGood, "policy=\"mq\"", "policy=\"a-policy-name-too-long\""), "longer than 15");
  expect_refused(with(kGood, "nr_cache_blocks=\"70\"", "nr_cache_blocks=\"4000000000\""), "metadata blocks");
}
TEST_F(CacheCli, RefusesBadMappings) {
  expect_refused(with(kGood, "cache_block=\"65\" origin", "cache_block=\"70\" origin"), "beyond nr_cache_blocks");
  expect_refused(with(kGood, "cache_block=\"65\" origin", "cache_block=\"0\" origin"), "mapped twice");
  expect_refused(with(kGood, "origin_block=\"14\"", "origin_block=\"10\""), "origin block 10 is mapped by cache blocks 0 and 65");
}
TEST_F(CacheCli, RefusesBadHints) {
  expect_refused(with(kGood, "AQIDBA==", "AQID"), "3 bytes");
  expect_refused(with(kGood, "AQIDBA==", "A*IDBA=="), "not base64");
  expect_refused(with(kGood, "hint cache_block=\"65\"", "hint cache_block=\"0\""), "two hints");
}
TEST_F(CacheCli, RefusesDiscards) {
  expect_refused(with(kGood, "</superblock>", "<discards><discard dbegin=\"3\" dend=\"5\"/></discards></superblock>"),
                 "discards cannot be restored");
}
TEST_F(CacheCli, RefusesAnOutputTooSmallOrMissing) {
  const std::string in = dir.file("in.xml"), img = image(3);
  write(in, kGood);
  Cmd r = run(fmt::format("cache-restore -i '{}' -o '{}'", in, img));
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  expect_untouched(img);
  Cmd o = run(fmt::format("cache-restore -i '{}' -o '{}'", in, dir.file("missing.bin")));
  EXPECT_EQ(o.rc, 1);
  EXPECT_NE(o.err.find("missing.bin"), std::string::npos) << o.err;
  Cmd i = run(fmt::format("cache-restore -i '{}' -o '{}'", dir.file("nope.xml"), image()));
  EXPECT_EQ(i.rc, 1);
  EXPECT_NE(i.err.find("nope.xml"), std::string::npos) << i.err;
  EXPECT_NE(run(fmt::format("cache-restore --metadata-version 3 -i '{}' -o '{}'", in, image())).rc, 0);
}

class CacheBadImage : public CacheCli, public ::testing::WithParamInterface<const char*> {};

TEST_P(CacheBadImage, DumpAndCheckRefuseWithOneLine) {
  const std::string img = dir.file("bad.bin");
  const std::string kind = GetParam();
  if (kind == "short") write(img, std::string(100, 'x'));
  else if (kind == "zero") write(img, std::string(64 * 4096, '\0'));
  else if (kind == "garbage") {
    std::string g(64 * 4096, '\0');
    for (std::size_t i = 0; i < g.size(); ++i) g[i] = static_cast<char>((i * 2654435761u) >> 13);
    write(img, g);
  } else if (kind == "xml") {
    write(img, std::string(kGood) + std::string(8192, ' '));
  } else if (kind == "thin") {
    const std::string in = dir.file("thin.xml");
    write(in, "<superblock uuid=\"\" time=\"0\" transaction=\"1\" flags=\"0\" version=\"2\" data_block_size=\"128\" nr_data_blocks=\"10\">\n</superblock>\n");
    write(img, std::string(64 * 4096, '\0'));
    ASSERT_EQ(run(fmt::format("restore -i '{}' -o '{}'", in, img)).rc, 0);
  } else if (kind == "missing") {
    // no file at all
  }
  Cmd d = run(fmt::format("cache-dump '{}'", img));
  EXPECT_EQ(d.rc, 1) << kind;
  EXPECT_EQ(lines(d.err), 1u) << d.err;
  EXPECT_TRUE(d.out.empty()) << "cache-dump printed a partial document";
  Cmd c = run(fmt::format("cache-check '{}'", img));
  EXPECT_EQ(c.rc, 1) << kind;
}

INSTANTIATE_TEST_SUITE_P(Kinds, CacheBadImage, ::testing::Values("short", "zero", "garbage", "xml", "thin", "missing"));

}  // namespace
}  // namespace pdsim
