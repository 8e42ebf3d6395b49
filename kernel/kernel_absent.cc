// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — a build configured without a kernel tree: available() is false, and the CLI refuses
// `--engine kernel` before asking for an engine, so these are never reached.
#include "core/common/assert.h"
#include "kernel/kernel_engine.h"

namespace pdsim::kernel {

seam::ThinEngine& thin_engine() {
  detail::assertion_failed("available()", "the kernel engine is not built in", __FILE__, __LINE__, __func__);
}
seam::CacheEngine& cache_engine_as_called() {
  detail::assertion_failed("available()", "the kernel engine is not built in", __FILE__, __LINE__, __func__);
}
seam::CacheEngine& cache_engine() {
  detail::assertion_failed("available()", "the kernel engine is not built in", __FILE__, __LINE__, __func__);
}

}  // namespace pdsim::kernel
