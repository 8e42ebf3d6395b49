// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — ForwardingDevice: a BlockDevice that passes every call to another one. Decorators
// (the ordering oracle, a growable view of a device, the restore's scratch device, a test's
// counting device) derive from it and override only the calls they change.
#pragma once

#include "core/io/block_device.h"

namespace pdsim {

class ForwardingDevice : public BlockDevice {
 public:
  explicit ForwardingDevice(BlockDevice& inner) : inner_(&inner) {}

  [[nodiscard]] Status read(BlockNr b, BlockSpan out) override { return inner_->read(b, out); }
  using BlockDevice::write;
  [[nodiscard]] Status write(BlockNr b, ConstBlockSpan data, WriteMode mode) override {
    return inner_->write(b, data, mode);
  }
  [[nodiscard]] Status flush() override { return inner_->flush(); }
  [[nodiscard]] BlockNr nr_blocks() const override { return inner_->nr_blocks(); }

 protected:
  [[nodiscard]] BlockDevice& inner() const { return *inner_; }

 private:
  BlockDevice* inner_;
};

}  // namespace pdsim
