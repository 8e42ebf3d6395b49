// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — calling into the kernel's C code: errno to Error, the BUG trap, and the graveyard of
// poisoned instances. Shared by the thin and cache sides of the kernel engine.
#pragma once

#include <fmt/format.h>

#include <cerrno>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/common/result.h"
#include "kernel/kernel_bdev.h"

namespace pdsim::kernel {

// An errno the kernel's code returned, as an Error: EIO io, ENOSPC no_space, EILSEQ/ENOTBLK
// (checksum, block number) corruption, ENODATA no_data, EPERM read_only, EBUSY/EWOULDBLOCK busy,
// the rest invalid. The message names the call, the errno and what the device or the kernel's
// log said.
[[nodiscard]] Error errno_error(int r, std::string_view what, const block_device& bdev);

// One instance's connection to the kernel: its block device, and whether a BUG poisoned it.
class KernelCall {
 public:
  KernelCall(BlockDevice& dev, std::size_t cache_blocks);
  KernelCall(const KernelCall&) = delete;
  KernelCall& operator=(const KernelCall&) = delete;

  // Runs f (returning an errno) with the BUG trap armed. A BUG poisons the instance for good.
  template <typename F>
  [[nodiscard]] Status run(std::string_view what, F&& f) {
    if (!bug_.empty()) return Error::engine_bug(fmt::format("{}: the instance hit {} earlier", what, bug_));
    bdev_->last_io_error.clear();
    (void)take_log();
    try {
      const int r = f();
      if (r < 0) return errno_error(r, what, *bdev_);
      if (r == 0) return dropped_error(what);
      return {};
    } catch (const KernelBug& b) {
      bug_ = b.where;
      bdev_->detached = true;
      return Error::engine_bug(fmt::format("{}: {}", what, b.where));
    }
  }
  [[nodiscard]] bool poisoned() const noexcept { return !bug_.empty(); }
  // A call that returned 0 after the kernel logged an error (DMERR) dropped that error: the
  // kernel's value-type callbacks and dm_tm_inc/dm_tm_dec return nothing, so a failed reference
  // count update or subtree delete is logged and forgotten, and the call succeeds with the
  // metadata's counts wrong. Reported as ErrorKind::dropped at the call, with the kernel's words. (A
  // positive return is a loop our callback stopped, whose log line is expected.)
  [[nodiscard]] static Status dropped_error(std::string_view what);
  [[nodiscard]] block_device* bdev() noexcept { return bdev_.get(); }
  // Detaches the device (nothing more reaches the disk) and, if poisoned, hands the block device
  // to the graveyard: a poisoned instance's memory is never freed, since the kernel's objects may
  // be half-updated, and stays reachable so leak checkers do not report it.
  void detach() noexcept;
  // For a poisoned instance: keep its kernel object alive until the process exits.
  static void bury(void* kernel_object);
  // Ends an instance without a close: detaches the device, then frees the kernel's object with
  // `drop`, unless the instance is poisoned or the drop itself hits a BUG (then it is buried).
  template <typename T>
  void end(T* kernel_object, void (*drop)(T*)) noexcept {
    detach();
    if (kernel_object == nullptr) return;
    if (!poisoned()) {
      try {
        drop(kernel_object);
        return;
      } catch (const KernelBug&) {
      }
    }
    bury(kernel_object);
  }

 private:
  std::unique_ptr<block_device> bdev_;
  std::string bug_;
};

// A seam callback (Result<bool>: false stops, an error stops and is kept) called from a kernel
// loop (a btree walk, the cache's mapping and discard loaders): the kernel sees 0 to go on, 1 to
// stop (a positive return ends those loops without an error), or -EINTR when the callback failed.
class LoopBridge {
 public:
  [[nodiscard]] int step(Result<bool> more) {
    if (!more) {
      error_ = std::move(more).error();
      return -EINTR;
    }
    return *more ? 0 : 1;
  }
  // The loop's outcome: the callback's error if it failed, else the kernel's status.
  [[nodiscard]] Status finish(Status kernel) {
    if (error_) return std::move(*error_);
    return kernel;
  }

 private:
  std::optional<Error> error_;
};

}  // namespace pdsim::kernel
