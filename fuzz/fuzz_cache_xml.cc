// SPDX-License-Identifier: GPL-2.0-or-later
// Fuzz target: a cache_dump XML document into cache-restore (metadata version 1 or 2, from the
// input's length). A document cache-restore accepts must give metadata that checks clean and
// dumps; a refused one gets a one-line error.
#include <sstream>

#include <fmt/format.h>

#include "core/cache/cache_dump.h"
#include "core/cache/cache_restore.h"
#include "core/check/cache_input.h"
#include "fuzz/fuzz_support.h"
#include "sim/image.h"

using namespace pdsim;

namespace {
constexpr std::string_view kTarget = "cache_xml";
constexpr BlockNr kOutputBlocks = 1024;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  auto doc = cache::parse_cache_xml(in, kOutputBlocks);
  if (!doc) {
    fuzz::require_one_line(kTarget, doc.error(), "cache-restore");
    return 0;
  }
  sim::ImageDevice dev(sim::Image{kOutputBlocks});
  const std::uint32_t version = 1 + static_cast<std::uint32_t>(size % 2);
  if (Status s = cache::restore_cache(dev, *doc, version); !s) {
    fuzz::require_one_line(kTarget, s.error(), "cache-restore");
    return 0;
  }
  auto report = check::check_cache(dev);
  if (!report) fuzz::fail(kTarget, fmt::format("restored metadata does not check: {}", report.error().to_string()));
  if (!report->report.clean())
    fuzz::fail(kTarget, fmt::format("restored metadata (v{}) does not check clean: {}", version,
                                    check::to_string(report->report.problems.front())));
  std::ostringstream xml;
  if (Status s = cache::dump_cache_xml(dev, xml); !s)
    fuzz::fail(kTarget, fmt::format("restored metadata does not dump: {}", s.error().to_string()));
  return 0;
}

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int seed) {
  return fuzz::custom_mutate(fuzz::mutate_text, 4, data, size, max_size, seed);
}
