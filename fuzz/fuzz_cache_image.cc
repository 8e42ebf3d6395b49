// SPDX-License-Identifier: GPL-2.0-or-later
// Fuzz target: a dm-cache metadata image (fuzz/sparse_image.h) into cache-check and cache-dump.
// Properties beyond "no crash": an error is one line; an image that checks clean dumps, and its
// dump restores (same metadata version), checks clean and dumps again to the same document.
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/cache/cache_dump.h"
#include "core/cache/cache_format.h"
#include "core/cache/cache_restore.h"
#include "core/check/cache_input.h"
#include "core/common/endian.h"
#include "fuzz/fuzz_support.h"
#include "fuzz/image_mutator.h"
#include "fuzz/sparse_image.h"
#include "sim/image.h"

namespace pdsim::fuzz {
namespace {

constexpr std::string_view kTarget = "cache_image";

// The second dump without the <hint> lines the first has not: an image whose hint array is
// shorter than the cache (the kernel leaves it so after a resize, and our check accepts it) dumps
// hints only for the blocks the array holds, and cache-restore writes a hint, 0 when the document
// has none, for every mapped block.
std::string without_added_hints(const std::string& again, const std::string& first) {
  std::set<std::string_view> hints;
  std::istringstream in(first);
  std::vector<std::string> first_lines;
  for (std::string line; std::getline(in, line);) first_lines.push_back(line);
  for (const auto& l : first_lines)
    if (l.find("<hint ") != std::string::npos) hints.insert(l);
  std::istringstream in2(again);
  std::string out;
  for (std::string line; std::getline(in2, line);) {
    if (line.find("<hint ") != std::string::npos && hints.count(line) == 0 && line.find("data=\"AAAAAA==\"") != std::string::npos)
      continue;
    out += line + "\n";
  }
  return out;
}

}  // namespace
}  // namespace pdsim::fuzz

using namespace pdsim;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const sim::Image image = fuzz::decode_image({data, size});
  sim::ImageDevice dev(image);
  auto report = check::check_cache(dev);
  if (!report) fuzz::require_one_line(fuzz::kTarget, report.error(), "cache-check");
  std::ostringstream xml;
  Status dumped = cache::dump_cache_xml(dev, xml);
  if (!dumped) fuzz::require_one_line(fuzz::kTarget, dumped.error(), "cache-dump");
  if (!report || !report->report.clean()) return 0;
  if (!dumped) fuzz::fail(fuzz::kTarget, fmt::format("the image checks clean but does not dump: {}", dumped.error().to_string()));
  std::array<std::uint8_t, kBlockSize> sb{};
  image.read(0, sb);
  const std::uint32_t version = load_le<std::uint32_t>(sb.data() + cache::sb::version);
  sim::ImageDevice restored(sim::Image(dev.nr_blocks() * 2 + 64));
  std::istringstream in(xml.str());
  auto doc = cache::parse_cache_xml(in, restored.nr_blocks());
  if (!doc) fuzz::fail(fuzz::kTarget, fmt::format("the dump of a clean image does not parse: {}", doc.error().to_string()));
  if (Status s = cache::restore_cache(restored, *doc, version); !s)
    fuzz::fail(fuzz::kTarget, fmt::format("the dump of a clean image does not restore: {}", s.error().to_string()));
  auto again_report = check::check_cache(restored);
  if (!again_report || !again_report->report.clean()) fuzz::fail(fuzz::kTarget, "the restored image does not check clean");
  std::ostringstream again;
  if (Status s = cache::dump_cache_xml(restored, again); !s)
    fuzz::fail(fuzz::kTarget, fmt::format("the restored image does not dump: {}", s.error().to_string()));
  if (fuzz::without_added_hints(again.str(), xml.str()) != xml.str())
    fuzz::fail(fuzz::kTarget, "dump, restore, dump gives another document");
  return 0;
}

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int seed) {
  return fuzz::custom_mutate(fuzz::mutate_image, 8, data, size, max_size, seed);
}
