// SPDX-License-Identifier: GPL-2.0-or-later
// A scratch device for the restore commands: the metadata is built here first and copied to the
// output only once it committed, so a refused document writes nothing to the output.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/io/file_device.h"
#include "core/io/forwarding_device.h"

namespace pdsim::tools {

// It lives in an unlinked temporary file rather than in memory: the page cache holds it, not the
// process, which keeps restore's peak RSS at a few cached nodes however large the metadata. Its durability is irrelevant (flush does nothing); it
// records which blocks were written, which are the ones to copy.
class ScratchDevice final : public ForwardingDevice {
 public:
  [[nodiscard]] static Result<std::unique_ptr<ScratchDevice>> create(BlockNr nr_blocks) {
    std::error_code ec;
    std::filesystem::path dir = std::filesystem::temp_directory_path(ec);
    if (ec) dir = "/tmp";
    std::string name = (dir / "pdsim-restore-XXXXXX").string();
    const int fd = ::mkstemp(name.data());
    if (fd < 0) return Error::io(fmt::format("cannot create a scratch file in {}", dir.string()));
    ::close(fd);
    auto file = FileDevice::create(name, nr_blocks);
    std::filesystem::remove(name, ec);  // the open descriptor keeps it until we exit
    if (!file) return std::move(file).error().with_context("scratch file");
    return std::unique_ptr<ScratchDevice>(new ScratchDevice(std::move(*file)));
  }

  using BlockDevice::write;
  [[nodiscard]] Status write(BlockNr b, ConstBlockSpan data, WriteMode) override {
    PDSIM_TRY(file_->write(b, data, WriteMode::normal));
    if (b < written_.size()) written_[b] = true;
    return {};
  }
  [[nodiscard]] Status flush() override { return {}; }

  // Copies every block written here to `out`, then makes `out` durable.
  [[nodiscard]] Status copy_to(BlockDevice& out) {
    Block buf{};
    for (BlockNr b = 0; b < written_.size(); ++b) {
      if (!written_[b]) continue;
      PDSIM_TRY(file_->read(b, buf));
      PDSIM_TRY(out.write(b, buf));
    }
    return out.flush();
  }

 private:
  explicit ScratchDevice(std::unique_ptr<FileDevice> file)
      : ForwardingDevice(*file), file_(std::move(file)), written_(static_cast<std::size_t>(file_->nr_blocks()), false) {}

  std::unique_ptr<FileDevice> file_;
  std::vector<bool> written_;
};

}  // namespace pdsim::tools
