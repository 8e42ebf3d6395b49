// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/io/file_device.h"

#include <fstream>

#include <gtest/gtest.h>

#include "testing/test_util.h"

namespace pdsim {
namespace {

using testing::pattern_block;
using testing::TempDir;

void write_bytes(const std::string& path, std::size_t n) {
  std::ofstream f(path, std::ios::binary);
  std::string bytes(n, 'x');
  f.write(bytes.data(), static_cast<std::streamsize>(n));
}

TEST(FileDevice, CreateWriteFlushReopenRead) {
  TempDir dir;
  auto path = dir.file("img");
  {
    auto dev = FileDevice::create(path, 16);
    ASSERT_TRUE(dev.ok()) << dev.error().to_string();
    EXPECT_EQ((*dev)->nr_blocks(), 16u);
    for (BlockNr b = 0; b < 16; ++b) {
      Block data = pattern_block(static_cast<std::uint8_t>(b));
      ASSERT_TRUE((*dev)->write(b, ConstBlockSpan(data), b % 2 ? WriteMode::fua : WriteMode::normal).ok());
    }
    ASSERT_TRUE((*dev)->flush().ok());
  }
  auto dev = FileDevice::open(path, FileDevice::Mode::read_only);
  ASSERT_TRUE(dev.ok()) << dev.error().to_string();
  EXPECT_EQ((*dev)->nr_blocks(), 16u);
  for (BlockNr b = 0; b < 16; ++b) {
    Block out{};
    ASSERT_TRUE((*dev)->read(b, BlockSpan(out)).ok());
    EXPECT_EQ(out, pattern_block(static_cast<std::uint8_t>(b))) << "block " << b;
  }
}

TEST(FileDevice, MissingFileIsAClearIoError) {
  TempDir dir;
  auto dev = FileDevice::open(dir.file("nope"), FileDevice::Mode::read_only);
  ASSERT_FALSE(dev.ok());
  EXPECT_EQ(dev.error().kind(), ErrorKind::io);
  EXPECT_NE(dev.error().message().find("nope"), std::string::npos);
  EXPECT_NE(dev.error().message().find("No such file"), std::string::npos);
}

TEST(FileDevice, ShortFileIsRefused) {
  TempDir dir;
  auto path = dir.file("short");
  write_bytes(path, 100);
  auto dev = FileDevice::open(path, FileDevice::Mode::read_only);
  ASSERT_FALSE(dev.ok());
  EXPECT_EQ(dev.error().kind(), ErrorKind::invalid);
  EXPECT_NE(dev.error().message().find("too short"), std::string::npos);
}

TEST(FileDevice, EmptyFileIsRefused) {
  TempDir dir;
  auto path = dir.file("empty");
  write_bytes(path, 0);
  EXPECT_FALSE(FileDevice::open(path, FileDevice::Mode::read_only).ok());
}

TEST(FileDevice, DirectoryIsRefused) {
  TempDir dir;
  std::filesystem::create_directory(dir.file("d"));
  auto dev = FileDevice::open(dir.file("d"), FileDevice::Mode::read_only);
  ASSERT_FALSE(dev.ok());
  EXPECT_EQ(dev.error().kind(), ErrorKind::invalid);
}

TEST(FileDevice, TrailingPartialBlockIsIgnored) {
  TempDir dir;
  auto path = dir.file("ragged");
  write_bytes(path, 3 * kBlockSize + 17);
  auto dev = FileDevice::open(path, FileDevice::Mode::read_only);
  ASSERT_TRUE(dev.ok());
  EXPECT_EQ((*dev)->nr_blocks(), 3u);
}

TEST(FileDevice, ReadAndWritePastTheEndAreInvalid) {
  TempDir dir;
  auto dev = FileDevice::create(dir.file("img"), 4);
  ASSERT_TRUE(dev.ok());
  Block b{};
  auto r = (*dev)->read(4, BlockSpan(b));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::invalid);
  auto w = (*dev)->write(99, ConstBlockSpan(b));
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().kind(), ErrorKind::invalid);
}

TEST(FileDevice, ReadOnlyRefusesWrites) {
  TempDir dir;
  auto path = dir.file("img");
  ASSERT_TRUE(FileDevice::create(path, 2).ok());
  auto dev = FileDevice::open(path, FileDevice::Mode::read_only);
  ASSERT_TRUE(dev.ok());
  Block b{};
  auto w = (*dev)->write(0, ConstBlockSpan(b));
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().kind(), ErrorKind::read_only);
}

TEST(FileDevice, UnreadableFileIsAnIoError) {
  if (::geteuid() == 0) {
    // root reads through any permission bits; check the open path with a file we cannot create instead
    TempDir dir;
    auto dev = FileDevice::create(dir.file("no-such-dir/img"), 1);
    ASSERT_FALSE(dev.ok());
    EXPECT_EQ(dev.error().kind(), ErrorKind::io);
    return;
  }
  TempDir dir;
  auto path = dir.file("locked");
  write_bytes(path, kBlockSize);
  std::filesystem::permissions(path, std::filesystem::perms::none);
  auto dev = FileDevice::open(path, FileDevice::Mode::read_only);
  ASSERT_FALSE(dev.ok());
  EXPECT_EQ(dev.error().kind(), ErrorKind::io);
}

TEST(FileDevice, CreateRejectsZeroBlocks) {
  TempDir dir;
  EXPECT_FALSE(FileDevice::create(dir.file("z"), 0).ok());
}

}  // namespace
}  // namespace pdsim
