// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — assertions that stay on.
//
// PDSIM_ASSERT(cond, "what") checks a cheap invariant (a lock state, a count, a node's fill, a
// recursion depth, who owns a block) in every build, the one users run included: a testbed that
// compiles its own invariants out tests less. A failed assertion prints the condition, the message
// and where, then aborts: it means pdsim itself is wrong, never the disk or the input (those are
// Results).
//
// PDSIM_ASSERT_SLOW(cond, "what") is for whole-structure checks (walk a node, recount a bitmap);
// it is compiled only with -DPDSIM_SLOW_ASSERTS=ON and otherwise costs nothing, not even the
// evaluation of its arguments.
#pragma once

namespace pdsim::detail {
[[noreturn]] void assertion_failed(const char* condition, const char* message, const char* file,
                                   int line, const char* function) noexcept;
}  // namespace pdsim::detail

#define PDSIM_ASSERT(cond, message)                                                          \
  do {                                                                                       \
    if (!(cond)) [[unlikely]]                                                                \
      ::pdsim::detail::assertion_failed(#cond, message, __FILE__, __LINE__, __func__);       \
  } while (false)

#if defined(PDSIM_SLOW_ASSERTS)
#define PDSIM_ASSERT_SLOW(cond, message) PDSIM_ASSERT(cond, message)
#else
#define PDSIM_ASSERT_SLOW(cond, message) \
  do {                                   \
    if (false) {                         \
      static_cast<void>(cond);           \
    }                                    \
  } while (false)
#endif
