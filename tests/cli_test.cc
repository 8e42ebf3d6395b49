// SPDX-License-Identifier: GPL-2.0-or-later
// The pdsim program on bad input: one line on stderr saying what and where, a non-zero exit,
// nothing written, no crash.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include <fmt/format.h>

#include "testing/test_util.h"

#ifndef PDSIM_BINARY
#error "PDSIM_BINARY must name the pdsim program"
#endif

namespace pdsim {
namespace {

using Cmd = testing::CommandOutput;

Cmd run(testing::TempDir& dir, const std::string& args) {
  return testing::run_capturing(dir, fmt::format("{} {}", PDSIM_BINARY, args));
}

void write(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
}

std::size_t lines(const std::string& s) { return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n')); }

const char* kGood =
    "<superblock uuid=\"\" time=\"1\" transaction=\"5\" flags=\"0\" version=\"2\" data_block_size=\"128\" nr_data_blocks=\"1024\">\n"
    "  <device dev_id=\"1\" mapped_blocks=\"4\" transaction=\"0\" creation_time=\"0\" snap_time=\"1\">\n"
    "    <single_mapping origin_block=\"0\" data_block=\"10\" time=\"0\"/>\n"
    "    <range_mapping origin_begin=\"5\" data_begin=\"20\" length=\"3\" time=\"1\"/>\n"
    "  </device>\n"
    "</superblock>\n";

class Cli : public ::testing::Test {
 protected:
  testing::TempDir dir;
  std::string image() {
    const std::string p = dir.file("meta.bin");
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f.seekp(4096 * 1024 - 1);
    f.put('\0');
    return p;
  }
  // Expects one clear line and exit 1, and the image untouched (still all zero).
  void expect_refused(const std::string& xml, const std::string& words) {
    const std::string in = dir.file("in.xml");
    write(in, xml);
    const std::string img = image();
    Cmd r = run(dir, fmt::format("restore -i '{}' -o '{}'", in, img));
    EXPECT_EQ(r.rc, 1) << xml;
    EXPECT_EQ(lines(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find(words), std::string::npos) << r.err;
    std::ifstream f(img, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), {});
    EXPECT_EQ(bytes.find_first_not_of('\0'), std::string::npos) << "a refused restore wrote to the image";
  }
};

TEST_F(Cli, RestoreDumpRoundTrip) {
  const std::string in = dir.file("in.xml"), img = image();
  write(in, kGood);
  Cmd r = run(dir, fmt::format("restore -i '{}' -o '{}'", in, img));
  ASSERT_EQ(r.rc, 0) << r.err;
  Cmd d = run(dir, fmt::format("dump '{}'", img));
  EXPECT_EQ(d.rc, 0);
  EXPECT_EQ(d.out, kGood);
  Cmd c = run(dir, fmt::format("check '{}'", img));
  EXPECT_EQ(c.rc, 0) << c.out;
}

TEST_F(Cli, RestoreRefusesMalformedXml) { expect_refused("<superblock uuid=\"\" time=\"1\"", "line"); }
TEST_F(Cli, RestoreRefusesTruncatedXml) { expect_refused(std::string(kGood).substr(0, 200), "line"); }
TEST_F(Cli, RestoreRefusesGarbage) { expect_refused("\x01\x02 not xml at all", "line 1"); }
TEST_F(Cli, RestoreRefusesUnknownElement) {
  expect_refused(std::string(kGood).replace(std::string(kGood).find("  </device>"), 0, "<bogus/>"), "unknown element <bogus>");
}
TEST_F(Cli, RestoreRefusesOutOfRangeNumbers) {
  std::string x = kGood;
  x.replace(x.find("dev_id=\"1\""), 10, "dev_id=\"99999999999\"");
  expect_refused(x, "dev_id 99999999999");
  std::string y = kGood;
  y.replace(y.find("time=\"0\"/>"), 8, "time=\"-3\"");
  expect_refused(y, "not a number");
}
TEST_F(Cli, RestoreRefusesOverlappingMappings) {
  std::string x = kGood;
  x.replace(x.find("    <range"), 0, "    <single_mapping origin_block=\"6\" data_block=\"50\" time=\"0\"/>\n");
  expect_refused(x, "overlapping");
}
TEST_F(Cli, RestoreRefusesMappingsBeyondTheDataDevice) {
  std::string x = kGood;
  x.replace(x.find("data_block=\"10\""), 15, "data_block=\"1024\"");
  expect_refused(x, "beyond end of data device");
}
TEST_F(Cli, RestoreRefusesDuplicateDevices) {
  std::string x = kGood;
  const std::string dev = x.substr(x.find("  <device"), x.find("</superblock>") - x.find("  <device"));
  x.replace(x.find("</superblock>"), 0, dev);
  expect_refused(x, "appears twice");
}
TEST_F(Cli, RestoreRefusesAnOutputTooSmallWithoutWriting) {
  const std::string in = dir.file("in.xml"), img = dir.file("small.bin");
  write(in, kGood);
  write(img, std::string(4 * 4096, '\0'));  // 4 blocks: the format runs out of space
  Cmd r = run(dir, fmt::format("restore -i '{}' -o '{}'", in, img));
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  std::ifstream f(img, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), {});
  EXPECT_EQ(bytes.find_first_not_of('\0'), std::string::npos);
}
TEST_F(Cli, RestoreMissingInputOrOutput) {
  Cmd r = run(dir, fmt::format("restore -i '{}' -o '{}'", dir.file("nope.xml"), image()));
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("nope.xml"), std::string::npos);
  write(dir.file("in.xml"), kGood);
  Cmd o = run(dir, fmt::format("restore -i '{}' -o '{}'", dir.file("in.xml"), dir.file("missing.bin")));
  EXPECT_EQ(o.rc, 1);
  EXPECT_NE(o.err.find("missing.bin"), std::string::npos);
}

class BadImage : public Cli, public ::testing::WithParamInterface<const char*> {};

TEST_P(BadImage, DumpAndCheckRefuseWithOneLine) {
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
  }
  for (const char* cmd : {"dump", "check"}) {
    Cmd r = run(dir, fmt::format("{} '{}'", cmd, img));
    EXPECT_NE(r.rc, 0) << cmd << " " << kind;
    EXPECT_NE(r.rc, -1) << cmd << " " << kind << " crashed";
    if (std::string(cmd) == "dump") {
      EXPECT_EQ(lines(r.err), 1u) << r.err;
      EXPECT_TRUE(r.out.empty()) << "dump printed a partial document";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, BadImage, ::testing::Values("short", "zero", "garbage", "xml"));

TEST_F(Cli, DumpWithoutAMetadataSnapshotIsRefused) {
  const std::string in = dir.file("in.xml"), img = image();
  write(in, kGood);
  ASSERT_EQ(run(dir, fmt::format("restore -i '{}' -o '{}'", in, img)).rc, 0);
  Cmd r = run(dir, fmt::format("dump -m '{}'", img));
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("no metadata snapshot"), std::string::npos) << r.err;
}

TEST_F(Cli, UnknownSuiteAndBadFlags) {
  Cmd r = run(dir, "run nosuch");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("unknown suite or scenario 'nosuch'"), std::string::npos);
  EXPECT_EQ(run(dir, "run default --seed notanumber").rc, 2);
  Cmd b = run(dir, "run sim --bug seed.z_nothing");
  EXPECT_EQ(b.rc, 2);
  EXPECT_NE(b.err.find("unknown seed bug 'seed.z_nothing'"), std::string::npos) << b.err;
  EXPECT_EQ(run(dir, "run sim --shard 2/2").rc, 2);
  EXPECT_EQ(run(dir, "run sim --thin-check sometimes").rc, 2);
  EXPECT_EQ(run(dir, "frobnicate").rc, 2);
}

}  // namespace
}  // namespace pdsim
