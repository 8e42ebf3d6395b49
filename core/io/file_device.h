// SPDX-License-Identifier: GPL-2.0-or-later
// FileDevice: BlockDevice over a regular file or a block device (pread / pwrite / fdatasync).
#pragma once

#include <memory>
#include <string>

#include "core/io/block_device.h"

namespace pdsim {

class FileDevice final : public BlockDevice {
 public:
  enum class Mode { read_only, read_write };

  // Opens an existing file or block device. Errors: missing or unreadable path (io), a directory
  // or other non-file (invalid), a file shorter than one block (invalid, "short"). A trailing
  // partial block is ignored: nr_blocks() is the number of whole blocks.
  [[nodiscard]] static Result<std::unique_ptr<FileDevice>> open(const std::string& path, Mode mode);
  // Creates (or truncates) a regular file of nr_blocks zero blocks and opens it read-write.
  [[nodiscard]] static Result<std::unique_ptr<FileDevice>> create(const std::string& path, BlockNr nr_blocks);

  ~FileDevice() override;

  [[nodiscard]] Status read(BlockNr b, BlockSpan out) override;
  using BlockDevice::write;
  [[nodiscard]] Status write(BlockNr b, ConstBlockSpan data, WriteMode mode) override;
  [[nodiscard]] Status flush() override;
  [[nodiscard]] BlockNr nr_blocks() const override { return nr_blocks_; }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  FileDevice(int fd, std::string path, BlockNr nr_blocks, Mode mode)
      : fd_(fd), path_(std::move(path)), nr_blocks_(nr_blocks), mode_(mode) {}

  int fd_;
  std::string path_;
  BlockNr nr_blocks_;
  Mode mode_;
};

}  // namespace pdsim
