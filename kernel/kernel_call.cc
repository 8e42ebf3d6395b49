// SPDX-License-Identifier: GPL-2.0-or-later
#include "kernel/kernel_call.h"

#include <cerrno>

#include <fmt/ranges.h>
#include <vector>

namespace pdsim::kernel {
namespace {

std::string_view errno_name(int e) {
  switch (e) {
    case EPERM: return "EPERM";
    case EIO: return "EIO";
    case ENOMEM: return "ENOMEM";
    case ENOTBLK: return "ENOTBLK";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case EINVAL: return "EINVAL";
    case ENOSPC: return "ENOSPC";
    case ENODATA: return "ENODATA";
    case EILSEQ: return "EILSEQ";
    case EWOULDBLOCK: return "EWOULDBLOCK";
    default: return "errno";
  }
}

std::vector<void*>& graveyard() {
  static std::vector<void*> g;
  return g;
}

std::vector<std::unique_ptr<block_device>>& dead_devices() {
  static std::vector<std::unique_ptr<block_device>> d;
  return d;
}

}  // namespace

Error errno_error(int r, std::string_view what, const block_device& bdev) {
  const int e = -r;
  std::string msg = fmt::format("{}: kernel returned -{} ({})", what, errno_name(e), r);
  if (!bdev.last_io_error.empty()) msg += fmt::format(" after {}", bdev.last_io_error);
  const auto log = take_log();
  if (!log.empty()) msg += fmt::format(" [kernel log: {}]", fmt::join(log, "; "));
  switch (e) {
    case EIO: return Error::io(std::move(msg));
    case ENOSPC: return Error::no_space(std::move(msg));
    case EILSEQ:
    case ENOTBLK: return Error::corruption(std::move(msg));
    case ENODATA: return Error::no_data(std::move(msg));
    case EPERM: return Error::read_only(std::move(msg));
    case EBUSY:
    case EWOULDBLOCK: return Error::busy(std::move(msg));
    case ENOMEM: return Error::engine_bug(std::move(msg));
    default: return Error::invalid(std::move(msg));
  }
}

KernelCall::KernelCall(BlockDevice& dev, std::size_t cache_blocks) : bdev_(std::make_unique<block_device>()) {
  bdev_->dev = &dev;
  bdev_->cache_blocks = cache_blocks;
}

Status KernelCall::dropped_error(std::string_view what) {
  std::vector<std::string> errors;
  for (auto& line : take_log())
    if (line.starts_with("err: ")) errors.push_back(std::move(line));
  if (errors.empty()) return {};
  return Error::dropped(fmt::format("{}: the kernel returned success after logging an error (the error was dropped) "
                                       "[kernel log: {}]",
                                       what, fmt::join(errors, "; ")));
}

void KernelCall::detach() noexcept {
  bdev_->detached = true;
  if (poisoned()) dead_devices().push_back(std::move(bdev_));
}

void KernelCall::bury(void* kernel_object) { graveyard().push_back(kernel_object); }

}  // namespace pdsim::kernel
