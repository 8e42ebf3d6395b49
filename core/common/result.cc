// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/common/result.h"

#include <fmt/format.h>

namespace pdsim {

std::string_view to_string(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::io: return "io";
    case ErrorKind::no_space: return "no_space";
    case ErrorKind::corruption: return "corruption";
    case ErrorKind::invalid: return "invalid";
    case ErrorKind::no_data: return "no_data";
    case ErrorKind::read_only: return "read_only";
    case ErrorKind::busy: return "busy";
    case ErrorKind::engine_bug: return "engine_bug";
    case ErrorKind::dropped: return "dropped_error";
  }
  return "unknown";
}

std::string Error::to_string() const { return fmt::format("{}: {}", pdsim::to_string(kind_), message_); }

Error Error::with_context(std::string_view context) && {
  return {kind_, fmt::format("{}: {}", context, message_)};
}

}  // namespace pdsim
