// SPDX-License-Identifier: GPL-2.0-or-later
// Fuzz target: thin_metadata_pack bytes into the pack reader, and what it loads into check.
// Properties beyond "no crash": an error is one line; a pack that loads has at most kMaxBlocks
// blocks, and reading it block by block visits what loading it gives.
#include <fmt/format.h>

#include "core/check/thin_input.h"
#include "core/pack/pack.h"
#include "fuzz/fuzz_support.h"

using namespace pdsim;

namespace {
constexpr std::string_view kTarget = "pack";
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  std::uint64_t visited = 0;
  pack::PackVisitor visitor;
  visitor.on_header = [&](BlockNr) -> Status { return {}; };
  visitor.on_block = [&](BlockNr, ConstBlockSpan) -> Status {
    ++visited;
    return {};
  };
  auto read = pack::read_pack(bytes, visitor);
  auto dev = pack::load_pack(bytes);
  if (read.ok() != dev.ok())
    fuzz::fail(kTarget, fmt::format("reading and loading disagree: read {}, load {}",
                                    read ? "ok" : read.error().to_string(), dev ? "ok" : dev.error().to_string()));
  if (!dev) {
    fuzz::require_one_line(kTarget, dev.error(), "load");
    return 0;
  }
  if ((*dev)->nr_blocks() > pack::kMaxBlocks) fuzz::fail(kTarget, "a pack loaded with more than kMaxBlocks blocks");
  if (read->blocks != visited) fuzz::fail(kTarget, "the block count differs from the blocks visited");
  auto report = check::check_thin(**dev);
  if (!report) fuzz::require_one_line(kTarget, report.error(), "check");
  return 0;
}

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int) {
  return LLVMFuzzerMutate(data, size, max_size);
}
