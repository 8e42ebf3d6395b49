// SPDX-License-Identifier: GPL-2.0-or-later
// Fuzz target: a thin-pool metadata image (fuzz/sparse_image.h) into check, dump and dump -m.
// Properties beyond "no crash": an error is one line; an image that checks clean dumps, and its
// dump restores and dumps again to the same document.
#include <sstream>

#include <fmt/format.h>

#include "core/check/thin_input.h"
#include "core/thin/thin_dump.h"
#include "core/thin/thin_restore.h"
#include "fuzz/fuzz_support.h"
#include "fuzz/image_mutator.h"
#include "fuzz/sparse_image.h"
#include "sim/image.h"

namespace pdsim::fuzz {
namespace {

constexpr std::string_view kTarget = "thin_image";

}  // namespace
}  // namespace pdsim::fuzz

using namespace pdsim;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  sim::ImageDevice dev(fuzz::decode_image({data, size}));
  auto report = check::check_thin(dev);
  if (!report) fuzz::require_one_line(fuzz::kTarget, report.error(), "check");
  std::ostringstream xml;
  Status dumped = thin::dump_xml(dev, {}, xml);
  if (!dumped) fuzz::require_one_line(fuzz::kTarget, dumped.error(), "dump");
  std::ostringstream snap;
  if (Status s = thin::dump_xml(dev, thin::DumpOptions{0, false}, snap); !s) fuzz::require_one_line(fuzz::kTarget, s.error(), "dump -m");
  if (!report || !report->clean()) return 0;
  if (!dumped) fuzz::fail(fuzz::kTarget, fmt::format("the image checks clean but does not dump: {}", dumped.error().to_string()));
  // A clean image's document restores (into room enough) and dumps back the same.
  sim::ImageDevice restored(sim::Image(dev.nr_blocks() * 2 + 64));
  std::istringstream in(xml.str());
  if (Status s = thin::restore_thin_xml(in, restored); !s)
    fuzz::fail(fuzz::kTarget, fmt::format("the dump of a clean image does not restore: {}", s.error().to_string()));
  std::ostringstream again;
  if (Status s = thin::dump_xml(restored, {}, again); !s)
    fuzz::fail(fuzz::kTarget, fmt::format("the restored image does not dump: {}", s.error().to_string()));
  if (again.str() != xml.str()) fuzz::fail(fuzz::kTarget, "dump, restore, dump gives another document");
  return 0;
}

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int seed) {
  return fuzz::custom_mutate(fuzz::mutate_image, 8, data, size, max_size, seed);
}
