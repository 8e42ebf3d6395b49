// SPDX-License-Identifier: GPL-2.0-or-later
// `pdsim pack`, `pdsim unpack`, and packs as inputs of the other commands: `dump` and `check` of a
// kernel fixture's pack print what they print for the raw image; a bad pack gets one line.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "tests/pack_test_util.h"
#include "testing/test_util.h"

#ifndef PDSIM_BINARY
#error "PDSIM_BINARY must name the pdsim program"
#endif
#ifndef PDSIM_FIXTURE_DIR
#error "PDSIM_FIXTURE_DIR must name shared/fixtures/kernel-metadata"
#endif

namespace pdsim {
namespace {

using Cmd = pdsim::testing::CommandOutput;

class PackCli : public ::testing::Test {
 protected:
  testing::TempDir dir;
  Cmd run(const std::string& args) { return testing::run_capturing(dir, fmt::format("{} {}", PDSIM_BINARY, args)); }
  std::string raw(const std::string& name) {
    const std::string out = dir.file(name + ".bin");
    const std::string cmd = fmt::format("xz -dc '{}/{}.bin.xz' > '{}'", PDSIM_FIXTURE_DIR, name, out);
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return out;
  }
  static std::string pack_of(const std::string& name) { return fmt::format("{}/{}.pack", PDSIM_FIXTURE_DIR, name); }
  static std::string slurp(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  }
};

const char* const kFixtures[] = {"tmeta_with_empty_roots", "tmeta_with_shared_internal_root",
                                 "tmeta_with_shared_internals_and_leaves", "tmeta_device_id_reuse",
                                 "corrupted_tmeta_with_metadata_snap"};

TEST_F(PackCli, DumpAndCheckOfAPackEqualThoseOfTheRawImage) {
  for (const char* name : kFixtures) {
    const std::string img = raw(name), pk = pack_of(name);
    for (const char* args : {"dump", "dump -m", "check"}) {
      Cmd a = run(fmt::format("{} '{}'", args, pk));
      Cmd b = run(fmt::format("{} '{}'", args, img));
      EXPECT_EQ(a.rc, b.rc) << name << " " << args << ": " << a.err;
      EXPECT_EQ(a.out, b.out) << name << " " << args;
      // Error lines name the input; otherwise they must be the same.
      std::string err = a.err;
      for (auto at = err.find(pk); at != std::string::npos; at = err.find(pk)) err.replace(at, pk.size(), img);
      EXPECT_EQ(err, b.err) << name << " " << args;
    }
  }
  // The comparison sees a difference: a clean fixture's dump is not empty.
  EXPECT_NE(run(fmt::format("dump '{}'", pack_of("tmeta_device_id_reuse"))).out.find("<device"), std::string::npos);
}

TEST_F(PackCli, PackThenUnpackRoundTrips) {
  const std::string img = raw("tmeta_with_shared_internals_and_leaves");
  const std::string pk = dir.file("m.pack"), back = dir.file("back.bin");
  Cmd p = run(fmt::format("pack '{}' -o '{}'", img, pk));
  ASSERT_EQ(p.rc, 0) << p.err;
  EXPECT_EQ(p.out, fmt::format("{}: 322 of 1024 blocks packed in 1 record, {} bytes\n", pk,
                               std::filesystem::file_size(pk)));
  EXPECT_FALSE(std::filesystem::exists(pk + ".partial"));
  Cmd u = run(fmt::format("unpack '{}' -o '{}'", pk, back));
  ASSERT_EQ(u.rc, 0) << u.err;
  EXPECT_EQ(u.out, fmt::format("{}: 1024 blocks, 322 from the pack, the rest zero\n", back));
  EXPECT_EQ(slurp(back), slurp(img));
  // Packing twice gives the same bytes; so does packing the pack itself (packs are inputs too).
  const std::string again = dir.file("again.pack"), of_pack = dir.file("of-pack.pack");
  ASSERT_EQ(run(fmt::format("pack '{}' -o '{}'", img, again)).rc, 0);
  ASSERT_EQ(run(fmt::format("pack '{}' -o '{}'", pk, of_pack)).rc, 0);
  EXPECT_EQ(slurp(again), slurp(pk));
  EXPECT_EQ(slurp(of_pack), slurp(pk));
}

TEST_F(PackCli, BadPackGetsOneLineAndWritesNothing) {
  std::string bytes = slurp(pack_of("tmeta_with_empty_roots"));
  bytes[bytes.size() - 1] ^= 1;  // the last record's Adler-32: zlib sees it inside the last block
  const std::string bad = dir.file("bad.pack"), out = dir.file("out.bin");
  std::ofstream(bad, std::ios::binary) << bytes;
  for (const char* args : {"dump", "check"}) {
    Cmd c = run(fmt::format("{} '{}'", args, bad));
    EXPECT_EQ(c.rc, 1) << args;
    EXPECT_EQ(c.out, "") << args;
    EXPECT_EQ(std::count(c.err.begin(), c.err.end(), '\n'), 1) << c.err;
    EXPECT_NE(c.err.find("incorrect data check"), std::string::npos) << c.err;
  }
  Cmd u = run(fmt::format("unpack '{}' -o '{}'", bad, out));
  EXPECT_EQ(u.rc, 1);
  EXPECT_EQ(u.err, fmt::format("pdsim unpack: corruption: pack file '{}': record 0 at offset 32: entry 24 (block 24): "
                               "zlib error -3 (incorrect data check)\n",
                               bad));
  EXPECT_FALSE(std::filesystem::exists(out));
  EXPECT_FALSE(std::filesystem::exists(out + ".partial"));
}

TEST_F(PackCli, PackRefusesXmlAndMissingInputs) {
  const std::string xml = dir.file("x.xml"), pk = dir.file("x.pack");
  std::ofstream(xml) << "<superblock uuid=\"\">\n" << std::string(5000, ' ');
  Cmd c = run(fmt::format("pack '{}' -o '{}'", xml, pk));
  EXPECT_EQ(c.rc, 1);
  EXPECT_NE(c.err.find("looks like XML"), std::string::npos) << c.err;
  EXPECT_FALSE(std::filesystem::exists(pk));
  Cmd m = run(fmt::format("pack '{}' -o '{}'", dir.file("missing.bin"), pk));
  EXPECT_EQ(m.rc, 1);
  EXPECT_EQ(std::count(m.err.begin(), m.err.end(), '\n'), 1) << m.err;
  EXPECT_FALSE(std::filesystem::exists(pk));
}

}  // namespace
}  // namespace pdsim
