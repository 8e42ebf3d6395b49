// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — the kernel infrastructure the persistent-data C code calls that is not a macro in the
// shim: allocation, crc32c, logging and the BUG trap.
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "core/common/crc32c.h"
#include "kernel/kernel_bdev.h"

extern "C" {
#include "kernel/kernel_c_api.h"
}

namespace pdsim::kernel {
namespace {

constexpr std::size_t kLogLines = 16;
constexpr unsigned char kPoisonByte = 0xa5;

std::deque<std::string>& log_lines() {
  static std::deque<std::string> lines;
  return lines;
}

}  // namespace

std::vector<std::string> take_log() {
  std::vector<std::string> out(log_lines().begin(), log_lines().end());
  log_lines().clear();
  return out;
}

}  // namespace pdsim::kernel

extern "C" {

void pdsim_kernel_bug(const char* file, int line, const char* what) {
  const char* base = std::strrchr(file, '/');
  throw pdsim::kernel::KernelBug{std::string("kernel BUG at ") + (base != nullptr ? base + 1 : file) + ":" +
                                 std::to_string(line) + ": " + what};
}

void pdsim_kernel_log(const char* level, const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  auto& lines = pdsim::kernel::log_lines();
  if (lines.size() == pdsim::kernel::kLogLines) lines.pop_front();
  lines.push_back(std::string(level) + ": " + buf);
}

// kmalloc's memory is not zeroed; here it is filled with a fixed poison byte, so that a kernel
// path that uses (or writes to disk) memory it never initialised does so the same way in every
// run (determinism) and visibly (0xa5 bytes) rather than with whatever the heap held.
void* pdsim_kmalloc(size_t size, bool zero) {
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) return nullptr;
  std::memset(p, zero ? 0 : pdsim::kernel::kPoisonByte, size);
  return p;
}

void pdsim_kfree(const void* p) { std::free(const_cast<void*>(p)); }

uint32_t crc32c(uint32_t seed, const void* data, unsigned int length) { return pdsim::crc32c_raw(seed, data, length); }

}  // extern "C"
