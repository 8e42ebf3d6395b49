// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/xml/xml_parser.h"

#include <cstring>
#include <utility>

#include <expat.h>
#include <fmt/format.h>

namespace pdsim::xml {
namespace {

XML_Parser as_expat(void* p) { return static_cast<XML_Parser>(p); }

}  // namespace

struct ParserCallbacks {
  static void XMLCALL on_start(void* ud, const XML_Char* name, const XML_Char** attrs) {
    static_cast<Parser*>(ud)->start(name, attrs);
  }
  static void XMLCALL on_end(void* ud, const XML_Char* name) { static_cast<Parser*>(ud)->end(name); }
};

Parser::Parser() : xp_(XML_ParserCreate(nullptr)) {}

Parser::~Parser() {
  if (xp_ != nullptr) XML_ParserFree(as_expat(xp_));
}

Status Parser::parse(std::istream& in) {
  if (xp_ == nullptr) return Error::invalid("cannot create an XML parser");
  XML_Parser xp = as_expat(xp_);
  XML_SetUserData(xp, this);
  XML_SetElementHandler(xp, ParserCallbacks::on_start, ParserCallbacks::on_end);
  constexpr int kChunk = 1 << 20;
  for (;;) {
    void* buf = XML_GetBuffer(xp, kChunk);
    if (buf == nullptr) {
      error_ = Error::invalid("out of memory for the XML parser");
      break;
    }
    in.read(static_cast<char*>(buf), kChunk);
    const auto got = in.gcount();
    const bool last = got < kChunk;
    if (in.bad()) {
      error_ = Error::io("read error in the XML input");
      break;
    }
    if (XML_ParseBuffer(xp, static_cast<int>(got), last ? XML_TRUE : XML_FALSE) == XML_STATUS_ERROR) {
      if (!error_) error_ = Error::invalid(fmt::format("{}: {}", where(), XML_ErrorString(XML_GetErrorCode(xp))));
      break;
    }
    if (last) break;
  }
  if (error_) return std::move(*error_);
  return {};
}

std::string Parser::where() const {
  return fmt::format("line {}, column {}", XML_GetCurrentLineNumber(as_expat(xp_)),
                     XML_GetCurrentColumnNumber(as_expat(xp_)));
}

std::uint64_t Parser::byte_index() const {
  return static_cast<std::uint64_t>(XML_GetCurrentByteIndex(as_expat(xp_)));
}

void Parser::fail(const std::string& what) {
  if (!error_) error_ = Error::invalid(fmt::format("{}: {}", where(), what));
  XML_StopParser(as_expat(xp_), XML_FALSE);
}

void Parser::stop(Error e) {
  if (!error_) error_ = std::move(e);
  XML_StopParser(as_expat(xp_), XML_FALSE);
}

const char* attribute(const char** attrs, const char* name) {
  for (const char** a = attrs; *a != nullptr; a += 2)
    if (std::strcmp(a[0], name) == 0) return a[1];
  return nullptr;
}

}  // namespace pdsim::xml
