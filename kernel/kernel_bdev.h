// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — the kernel engine's `struct block_device`: the BlockDevice the kernel's code runs on,
// the block cache's bound, and the switch that detaches a crashed instance from the disk.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/io/block_device.h"

struct block_device {
  pdsim::BlockDevice* dev = nullptr;
  std::size_t cache_blocks = 1024;  // buffers kept before clean or dirty ones are evicted (LRU)
  // Set when the instance is thrown away without a close (a simulated crash, or after a kernel
  // BUG): from then on the buffer cache neither reads nor writes, so freeing the kernel's objects
  // cannot write to the disk the next instance opens.
  bool detached = false;
  // The first error the device reported since it was last taken, for the message of the errno.
  std::string last_io_error;
};

namespace pdsim::kernel {

// The kernel's messages (DMERR, DMWARN) since the last take_log(): the engine attaches them to
// the error it returns. Bounded: older lines are dropped.
[[nodiscard]] std::vector<std::string> take_log();

// Thrown by BUG_ON inside the kernel's code (it unwinds through the C frames, built with
// -fexceptions); the engine catches it at its boundary and poisons the instance.
struct KernelBug {
  std::string where;
};

}  // namespace pdsim::kernel
