// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — errors as values.
//
// Every fallible call in pdsim returns a Result<T> (or Status = Result<void>). Both are
// [[nodiscard]]: an ignored error is one of the seed bugs we exist to catch, so the compiler must
// refuse to let one go by silently. Success costs a tagged union; a failure carries an ErrorKind
// and a one-line message saying what and where.
#pragma once

#include "core/common/assert.h"
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace pdsim {

enum class ErrorKind {
  io,          // the device failed a read, write or flush
  no_space,    // out of space (device or space map); an expected outcome where the caller asks
  corruption,  // bad checksum, wrong block number, broken invariant read from disk
  invalid,     // bad argument or bad input (wrong flag, out-of-range block, validator mismatch)
  no_data,     // a lookup found nothing where something was required
  read_only,   // a mutating call against a read-only device or manager (EPERM)
  busy,        // a resource is locked or the cache is pinned full
  engine_bug,  // the engine broke its own invariant (a kernel BUG_ON): always a failure of the run
  // The engine logged a failure and carried on as if the call had succeeded (the kernel's
  // void-returning reference-count callbacks): its metadata no longer matches what it reports.
  // After a fault, a known kernel divergence that ends the run; without one, a failure.
  dropped,
};

[[nodiscard]] std::string_view to_string(ErrorKind kind) noexcept;

class [[nodiscard]] Error {
 public:
  Error(ErrorKind kind, std::string message) : kind_(kind), message_(std::move(message)) {}

  static Error io(std::string m) { return {ErrorKind::io, std::move(m)}; }
  static Error no_space(std::string m) { return {ErrorKind::no_space, std::move(m)}; }
  static Error corruption(std::string m) { return {ErrorKind::corruption, std::move(m)}; }
  static Error invalid(std::string m) { return {ErrorKind::invalid, std::move(m)}; }
  static Error no_data(std::string m) { return {ErrorKind::no_data, std::move(m)}; }
  static Error read_only(std::string m) { return {ErrorKind::read_only, std::move(m)}; }
  static Error busy(std::string m) { return {ErrorKind::busy, std::move(m)}; }
  static Error engine_bug(std::string m) { return {ErrorKind::engine_bug, std::move(m)}; }
  static Error dropped(std::string m) { return {ErrorKind::dropped, std::move(m)}; }

  [[nodiscard]] ErrorKind kind() const noexcept { return kind_; }
  [[nodiscard]] const std::string& message() const noexcept { return message_; }
  // "io: write of block 12 failed"
  [[nodiscard]] std::string to_string() const;

  // Prefixes context: Error::io("x").with_context("flush") -> "flush: x".
  [[nodiscard]] Error with_context(std::string_view context) &&;

  friend bool operator==(const Error&, const Error&) = default;

 private:
  ErrorKind kind_;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  [[nodiscard]] bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  // REQUIRES: ok().
  [[nodiscard]] T& value() & { PDSIM_ASSERT(ok(), "value() of a failed Result"); return std::get<0>(v_); }
  [[nodiscard]] const T& value() const& { PDSIM_ASSERT(ok(), "value() of a failed Result"); return std::get<0>(v_); }
  [[nodiscard]] T&& value() && { PDSIM_ASSERT(ok(), "value() of a failed Result"); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // REQUIRES: !ok().
  [[nodiscard]] const Error& error() const& { PDSIM_ASSERT(!ok(), "error() of a successful Result"); return std::get<1>(v_); }
  [[nodiscard]] Error&& error() && { PDSIM_ASSERT(!ok(), "error() of a successful Result"); return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT: implicit by design

  [[nodiscard]] bool ok() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return ok(); }
  [[nodiscard]] const Error& error() const& { PDSIM_ASSERT(failed_, "error() of a successful Status"); return error_; }
  [[nodiscard]] Error&& error() && { PDSIM_ASSERT(failed_, "error() of a successful Status"); return std::move(error_); }

 private:
  Error error_{ErrorKind::invalid, {}};
  bool failed_ = false;
};

using Status = Result<void>;

[[nodiscard]] inline Status ok_status() { return {}; }

}  // namespace pdsim

#define PDSIM_CONCAT_INNER(a, b) a##b
#define PDSIM_CONCAT(a, b) PDSIM_CONCAT_INNER(a, b)

// PDSIM_TRY(expr): evaluate a Status/Result; on failure return its error from this function.
#define PDSIM_TRY(expr)                                  \
  do {                                                   \
    auto&& pdsim_try_result_ = (expr);                   \
    if (!pdsim_try_result_.ok())                         \
      return std::move(pdsim_try_result_).error();       \
  } while (false)

// PDSIM_TRY_ASSIGN(decl, expr): `decl = value` on success, return the error on failure. It expands
// to several statements (it declares a temporary): give it braces under an if.
#define PDSIM_TRY_ASSIGN(decl, expr) \
  PDSIM_TRY_ASSIGN_IMPL(PDSIM_CONCAT(pdsim_try_tmp_, __LINE__), decl, expr)
#define PDSIM_TRY_ASSIGN_IMPL(tmp, decl, expr) \
  auto tmp = (expr);                           \
  if (!tmp.ok()) return std::move(tmp).error(); \
  decl = std::move(tmp).value()
