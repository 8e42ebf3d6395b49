// SPDX-License-Identifier: GPL-2.0-or-later
// PartialFile: an output written as PATH.partial and renamed over PATH only when complete, so a
// failure never leaves a file at PATH that looks good. Destroyed uncommitted, it removes the
// partial file.
#pragma once

#include <string>

#include "core/common/result.h"

namespace pdsim::pack {

class PartialFile {
 public:
  // Fails (invalid) when PATH exists and is not a regular file: a device or directory would be
  // replaced by the rename, not written.
  [[nodiscard]] static Result<PartialFile> prepare(const std::string& path);

  PartialFile(PartialFile&& other) noexcept;
  PartialFile& operator=(PartialFile&&) = delete;
  PartialFile(const PartialFile&) = delete;
  PartialFile& operator=(const PartialFile&) = delete;
  ~PartialFile();

  [[nodiscard]] const std::string& partial_path() const { return partial_; }
  // Renames PATH.partial over PATH. The caller has written, synced and closed it.
  [[nodiscard]] Status commit();

 private:
  explicit PartialFile(std::string path) : final_(path), partial_(path + ".partial") {}
  std::string final_;
  std::string partial_;
  bool armed_ = true;  // remove the partial file on destruction
};

}  // namespace pdsim::pack
