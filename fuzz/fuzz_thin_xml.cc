// SPDX-License-Identifier: GPL-2.0-or-later
// Fuzz target: a thin_dump XML document into restore. A document restore accepts must give a
// pool that checks clean, whose dump restores again to the same dump (restore is idempotent on
// its own output); a refused one gets a one-line error.
#include <sstream>

#include <fmt/format.h>

#include "core/check/thin_input.h"
#include "core/thin/thin_dump.h"
#include "core/thin/thin_restore.h"
#include "fuzz/fuzz_support.h"
#include "sim/image.h"

using namespace pdsim;

namespace {
constexpr std::string_view kTarget = "thin_xml";
constexpr BlockNr kOutputBlocks = 1024;  // 4 MiB: room for the corpus's pools, not for any claim
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  sim::ImageDevice dev(sim::Image{kOutputBlocks});
  std::vector<std::string> warnings;
  if (Status s = thin::restore_thin_xml(in, dev, &warnings); !s) {
    fuzz::require_one_line(kTarget, s.error(), "restore");
    return 0;
  }
  auto report = check::check_thin(dev);
  if (!report) fuzz::fail(kTarget, fmt::format("a restored pool does not check: {}", report.error().to_string()));
  if (!report->clean())
    fuzz::fail(kTarget, fmt::format("a restored pool does not check clean: {}", check::to_string(report->problems.front())));
  std::ostringstream xml;
  if (Status s = thin::dump_xml(dev, {}, xml); !s)
    fuzz::fail(kTarget, fmt::format("a restored pool does not dump: {}", s.error().to_string()));
  sim::ImageDevice again(sim::Image{kOutputBlocks});
  std::istringstream in2(xml.str());
  if (Status s = thin::restore_thin_xml(in2, again); !s)
    fuzz::fail(kTarget, fmt::format("a restored pool's dump does not restore: {}", s.error().to_string()));
  std::ostringstream xml2;
  if (Status s = thin::dump_xml(again, {}, xml2); !s || xml2.str() != xml.str())
    fuzz::fail(kTarget, "restore, dump, restore, dump gives another document");
  return 0;
}

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int seed) {
  return fuzz::custom_mutate(fuzz::mutate_text, 4, data, size, max_size, seed);
}
