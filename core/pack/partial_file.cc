// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/pack/partial_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

namespace pdsim::pack {

Result<PartialFile> PartialFile::prepare(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    return Error::invalid(fmt::format("'{}' exists and is not a regular file", path));
  return PartialFile(path);
}

PartialFile::PartialFile(PartialFile&& other) noexcept
    : final_(std::move(other.final_)), partial_(std::move(other.partial_)), armed_(other.armed_) {
  other.armed_ = false;
}

PartialFile::~PartialFile() {
  if (armed_) ::unlink(partial_.c_str());
}

Status PartialFile::commit() {
  if (std::rename(partial_.c_str(), final_.c_str()) != 0) {
    const int err = errno;
    return Error::io(fmt::format("cannot rename '{}' to '{}': {}", partial_, final_, std::strerror(err)));
  }
  armed_ = false;
  return {};
}

}  // namespace pdsim::pack
