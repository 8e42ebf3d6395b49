// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — the kernel engine: the kernel's own persistent-data library with dm-thin-metadata.c and
// dm-cache-metadata.c, compiled in userspace from a kernel tree (never copied into this
// repository), behind the engine seam. `pdsim run --engine kernel` plugs these into every thin
// and cache scenario; the differential scenarios run them beside ours.
//
// Semantics kept (../shared/spec/kernel-engine.md): dm-bufio over our BlockDevice (kernel/bufio.cc),
// block-manager locking debug off (Debian's setting; locks are counters, runs are single-threaded),
// a kernel BUG_ON becomes ErrorKind::engine_bug and the instance is poisoned (never freed, never
// touched again), and dropping an instance without a close never writes to the disk.
#pragma once

#include <string_view>

#include "core/seam/seam.h"

namespace pdsim::kernel {

// Whether this build has the kernel engine (configured with a kernel tree).
[[nodiscard]] bool available() noexcept;
// Which tree and version it was built from, e.g. "Debian linux-source-6.1 (6.1.192)".
[[nodiscard]] std::string_view source_description() noexcept;
[[nodiscard]] seam::ThinEngine& thin_engine();
[[nodiscard]] seam::CacheEngine& cache_engine();
// The kernel's cache calls alone, without the two completions the seam's contract needs: the
// superblock re-read after dm_cache_metadata_abort (the kernel keeps the aborted transaction's
// roots in core) and the dm-cache target's way of resizing the discard bitset (cached word
// flushed first). Only for tests that pin the kernel's own behaviour.
[[nodiscard]] seam::CacheEngine& cache_engine_as_called();

}  // namespace pdsim::kernel
