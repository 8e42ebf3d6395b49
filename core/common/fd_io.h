// SPDX-License-Identifier: GPL-2.0-or-later
// Whole transfers over a file descriptor (a file or a pipe): short reads and writes are carried
// on, EINTR is retried.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstddef>

namespace pdsim {

// Writes all n bytes. Returns 0, or the errno of the write that failed (EIO for a write that
// took nothing).
[[nodiscard]] inline int write_fully(int fd, const void* data, std::size_t n) {
  const auto* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return errno;
    if (w == 0) return EIO;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return 0;
}

// Reads exactly n bytes. Returns 0, the errno of the read that failed, or -1 at end of file
// before n bytes.
[[nodiscard]] inline int read_fully(int fd, void* data, std::size_t n) {
  auto* p = static_cast<char*>(data);
  while (n > 0) {
    const ssize_t r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return errno;
    if (r == 0) return -1;
    p += r;
    n -= static_cast<std::size_t>(r);
  }
  return 0;
}

}  // namespace pdsim
