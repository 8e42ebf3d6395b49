// SPDX-License-Identifier: GPL-2.0-or-later
// Packs as inputs: decoded into a read-only in-memory device, or unpacked to a raw file.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>

#include <fmt/format.h>

#include "core/io/file_device.h"
#include "core/pack/pack.h"
#include "core/pack/partial_file.h"

namespace pdsim::pack {
namespace {

// The blocks of a decoded pack, in file order, with an index sorted by block number; every other
// block reads as zeros.
class PackedImageDevice final : public BlockDevice {
 public:
  using Index = std::vector<std::pair<BlockNr, std::size_t>>;
  PackedImageDevice(BlockNr nr_blocks, std::deque<Block> blocks, Index index)
      : nr_blocks_(nr_blocks), blocks_(std::move(blocks)), index_(std::move(index)) {}

  [[nodiscard]] Status read(BlockNr b, BlockSpan out) override {
    if (b >= nr_blocks_)
      return Error::invalid(fmt::format("read of block {} past the end of the pack's image ({} blocks)", b, nr_blocks_));
    const auto it = std::lower_bound(index_.begin(), index_.end(), std::pair<BlockNr, std::size_t>{b, 0});
    if (it == index_.end() || it->first != b) {
      std::fill(out.begin(), out.end(), std::uint8_t{0});
      return {};
    }
    const Block& src = blocks_[it->second];
    std::copy(src.begin(), src.end(), out.begin());
    return {};
  }
  using BlockDevice::write;
  [[nodiscard]] Status write(BlockNr b, ConstBlockSpan, WriteMode) override {
    return Error::read_only(fmt::format("write of block {}: a pack file is read-only (unpack it first)", b));
  }
  [[nodiscard]] Status flush() override { return {}; }
  [[nodiscard]] BlockNr nr_blocks() const override { return nr_blocks_; }

 private:
  BlockNr nr_blocks_;
  std::deque<Block> blocks_;
  Index index_;
};

std::string errno_text(int err) { return std::strerror(err); }

}  // namespace

Result<std::unique_ptr<BlockDevice>> load_pack(std::span<const std::uint8_t> file) {
  // Blocks arrive in file order (upstream's packer shuffles them); the index is sorted once.
  std::deque<Block> blocks;
  PackedImageDevice::Index index;
  PackVisitor v{
      .on_header = [](BlockNr) { return Status{}; },
      .on_block =
          [&](BlockNr b, ConstBlockSpan data) {
            index.emplace_back(b, blocks.size());
            blocks.emplace_back();
            std::copy(data.begin(), data.end(), blocks.back().begin());
            return Status{};
          },
  };
  PDSIM_TRY_ASSIGN(const PackStats stats, read_pack(file, v));
  std::sort(index.begin(), index.end());
  return std::unique_ptr<BlockDevice>(new PackedImageDevice(stats.nr_blocks, std::move(blocks), std::move(index)));
}

Result<std::vector<std::uint8_t>> read_whole_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    return Error::io(fmt::format("cannot open '{}': {}", path, errno_text(err)));
  }
  std::vector<std::uint8_t> bytes;
  std::array<std::uint8_t, 1 << 16> buf{};
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return Error::io(fmt::format("cannot read '{}': {}", path, errno_text(err)));
    }
    if (n == 0) break;
    bytes.insert(bytes.end(), buf.begin(), buf.begin() + n);
  }
  ::close(fd);
  return bytes;
}

Result<std::unique_ptr<BlockDevice>> open_input_image(const std::string& path) {
  // Only a regular file can be a pack; a block device is always raw metadata.
  struct stat st {};
  bool maybe_pack = false;
  if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      std::array<std::uint8_t, 8> head{};
      maybe_pack = ::pread(fd, head.data(), head.size(), 0) == static_cast<ssize_t>(head.size()) && has_pack_magic(head);
      ::close(fd);
    }
  }
  if (!maybe_pack) {
    PDSIM_TRY_ASSIGN(std::unique_ptr<FileDevice> dev, FileDevice::open(path, FileDevice::Mode::read_only));
    return std::unique_ptr<BlockDevice>(std::move(dev));
  }
  PDSIM_TRY_ASSIGN(const std::vector<std::uint8_t> bytes, read_whole_file(path));
  auto dev = load_pack(bytes);
  if (!dev) return std::move(dev).error().with_context(fmt::format("pack file '{}'", path));
  return dev;
}

Result<PackStats> unpack_file(const std::string& pack_path, const std::string& image_path) {
  PDSIM_TRY_ASSIGN(const std::vector<std::uint8_t> bytes, read_whole_file(pack_path));
  PDSIM_TRY_ASSIGN(PartialFile out, PartialFile::prepare(image_path));
  // The output is created only once the header validated, so a bad header touches nothing.
  std::unique_ptr<FileDevice> dev;
  PackVisitor v{
      .on_header =
          [&](BlockNr nr_blocks) -> Status {
            PDSIM_TRY_ASSIGN(dev, FileDevice::create(out.partial_path(), nr_blocks));
            return {};
          },
      .on_block = [&](BlockNr b, ConstBlockSpan data) { return dev->write(b, data); },
  };
  auto stats = read_pack(bytes, v);
  if (!stats) return std::move(stats).error().with_context(fmt::format("pack file '{}'", pack_path));
  PDSIM_TRY(dev->flush());
  dev.reset();
  PDSIM_TRY(out.commit());
  return stats;
}

}  // namespace pdsim::pack
