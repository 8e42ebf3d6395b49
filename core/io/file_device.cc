// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/io/file_device.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace pdsim {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

// Loops over short transfers and EINTR; returns 0 on success or the errno.
int full_pread(int fd, std::uint8_t* buf, std::size_t len, off_t off, std::size_t* got) {
  *got = 0;
  while (*got < len) {
    ssize_t n = ::pread(fd, buf + *got, len - *got, off + static_cast<off_t>(*got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return 0;  // end of file
    *got += static_cast<std::size_t>(n);
  }
  return 0;
}

int full_pwrite(int fd, const std::uint8_t* buf, std::size_t len, off_t off) {
  std::size_t done = 0;
  while (done < len) {
    ssize_t n = ::pwrite(fd, buf + done, len - done, off + static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    done += static_cast<std::size_t>(n);
  }
  return 0;
}

}  // namespace

Result<std::unique_ptr<FileDevice>> FileDevice::open(const std::string& path, Mode mode) {
  int flags = (mode == Mode::read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
  int fd = ::open(path.c_str(), flags);
  if (fd < 0) {
    int err = errno;
    return Error::io(fmt::format("cannot open '{}': {}", path, errno_text(err)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return Error::io(fmt::format("cannot stat '{}': {}", path, errno_text(err)));
  }
  std::uint64_t bytes = 0;
  if (S_ISREG(st.st_mode)) {
    bytes = static_cast<std::uint64_t>(st.st_size);
  } else if (S_ISBLK(st.st_mode)) {
    if (::ioctl(fd, BLKGETSIZE64, &bytes) != 0) {
      int err = errno;
      ::close(fd);
      return Error::io(fmt::format("cannot get the size of block device '{}': {}", path, errno_text(err)));
    }
  } else {
    ::close(fd);
    return Error::invalid(fmt::format("'{}' is neither a regular file nor a block device", path));
  }
  if (bytes < kBlockSize) {
    ::close(fd);
    return Error::invalid(fmt::format("'{}' is too short: {} bytes, less than one {}-byte block", path,
                                      bytes, kBlockSize));
  }
  return std::unique_ptr<FileDevice>(new FileDevice(fd, path, bytes / kBlockSize, mode));
}

Result<std::unique_ptr<FileDevice>> FileDevice::create(const std::string& path, BlockNr nr_blocks) {
  if (nr_blocks == 0) return Error::invalid(fmt::format("cannot create '{}' with zero blocks", path));
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    int err = errno;
    return Error::io(fmt::format("cannot create '{}': {}", path, errno_text(err)));
  }
  if (::ftruncate(fd, static_cast<off_t>(nr_blocks * kBlockSize)) != 0) {
    int err = errno;
    ::close(fd);
    return Error::io(fmt::format("cannot size '{}' to {} blocks: {}", path, nr_blocks, errno_text(err)));
  }
  return std::unique_ptr<FileDevice>(new FileDevice(fd, path, nr_blocks, Mode::read_write));
}

FileDevice::~FileDevice() {
  if (fd_ >= 0) ::close(fd_);
}

Status FileDevice::read(BlockNr b, BlockSpan out) {
  if (b >= nr_blocks_)
    return Error::invalid(fmt::format("{}: read of block {} past the end ({} blocks)", path_, b, nr_blocks_));
  std::size_t got = 0;
  int err = full_pread(fd_, out.data(), kBlockSize, static_cast<off_t>(b * kBlockSize), &got);
  if (err != 0) return Error::io(fmt::format("{}: read of block {} failed: {}", path_, b, errno_text(err)));
  if (got != kBlockSize)
    return Error::io(fmt::format("{}: short read of block {} ({} of {} bytes)", path_, b, got, kBlockSize));
  return {};
}

Status FileDevice::write(BlockNr b, ConstBlockSpan data, WriteMode mode) {
  if (mode_ == Mode::read_only)
    return Error::read_only(fmt::format("{}: write of block {} on a read-only device", path_, b));
  if (b >= nr_blocks_)
    return Error::invalid(fmt::format("{}: write of block {} past the end ({} blocks)", path_, b, nr_blocks_));
  int err = full_pwrite(fd_, data.data(), kBlockSize, static_cast<off_t>(b * kBlockSize));
  if (err != 0) return Error::io(fmt::format("{}: write of block {} failed: {}", path_, b, errno_text(err)));
  if (mode == WriteMode::fua) return flush();
  return {};
}

Status FileDevice::flush() {
  if (mode_ == Mode::read_only) return {};
  if (::fdatasync(fd_) != 0) {
    int err = errno;
    return Error::io(fmt::format("{}: flush failed: {}", path_, errno_text(err)));
  }
  return {};
}

}  // namespace pdsim
