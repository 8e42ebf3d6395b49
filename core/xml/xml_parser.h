// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — reading XML input (thin_dump's and cache_dump's formats) through expat, once for both
// restores: the input is streamed in 1 MiB chunks, so memory stays bounded whatever its size;
// every error names where it happened ("line L, column C: what"); the first error wins and
// stops the parse.
#pragma once

#include <cstdint>
#include <istream>
#include <optional>
#include <string>
#include <string_view>

#include "core/common/result.h"

namespace pdsim::xml {

// An attribute value as an error message shows it: whole up to 40 characters, else its first 32
// and its length (a 400-digit number is not echoed into a 500-character line).
[[nodiscard]] inline std::string shown_value(std::string_view v) {
  if (v.size() <= 40) return std::string(v);
  return std::string(v.substr(0, 32)) + "... (" + std::to_string(v.size()) + " characters)";
}

struct ParserCallbacks;

class Parser {
 public:
  Parser();
  virtual ~Parser();
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  // Parses all of `in`, calling start() and end() for every element. Returns the first error:
  // one a handler raised with fail() or stop(), a malformed document, or a read error.
  [[nodiscard]] Status parse(std::istream& in);

 protected:
  virtual void start(const char* name, const char** attrs) = 0;
  virtual void end(const char* name) = 0;

  // Where the parser is: "line L, column C", and the byte offset of the current element.
  [[nodiscard]] std::string where() const;
  [[nodiscard]] std::uint64_t byte_index() const;
  // Stops with Error::invalid("<where>: <what>") unless an error was already raised.
  void fail(const std::string& what);
  // Stops with `e` as it is (an error from whatever the handler feeds) unless one was raised.
  void stop(Error e);
  [[nodiscard]] bool failed() const { return error_.has_value(); }

 private:
  friend struct ParserCallbacks;
  void* xp_;  // XML_Parser
  std::optional<Error> error_;
};

// The value of attribute `name`, or nullptr.
[[nodiscard]] const char* attribute(const char** attrs, const char* name);

}  // namespace pdsim::xml
