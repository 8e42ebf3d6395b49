// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/check/context.h"

#include <fmt/format.h>

#include "core/block/checksum.h"

namespace pdsim::check::detail {

std::string describe(const Role& r) {
  switch (r.kind) {
    case Role::Kind::btree:
      return fmt::format("btree node (value size {}, {} level(s) below)", r.value_size, r.levels_below);
    case Role::Kind::sm_index: return "metadata space-map index block";
    case Role::Kind::bitmap: return "space-map bitmap";
    case Role::Kind::array: return fmt::format("array block (value size {})", r.value_size);
  }
  return "?";
}

void Context::problem(ProblemKind kind, std::optional<BlockNr> block, std::string message,
                      Severity severity, Space space) {
  if (report_.problems.size() >= kMaxProblems) {
    ++report_.problems_dropped;
    return;
  }
  report_.problems.push_back(Problem{kind, severity, space, block, std::move(message)});
}

bool Context::ref_metadata(BlockNr b, std::string_view what, std::optional<BlockNr> from) {
  if (b >= metadata_limit_) {
    std::string msg = from ? fmt::format("{} in block {} points to metadata block {}, past the end ({})",
                                         what, *from, b, metadata_limit_)
                           : fmt::format("{} is metadata block {}, past the end ({})", what, b,
                                         metadata_limit_);
    problem(ProblemKind::out_of_range, from ? from : std::optional<BlockNr>(b), std::move(msg));
    report_.walk_incomplete = true;
    return false;
  }
  meta_refs_.add(b);
  return true;
}

void Context::ref_data(BlockNr b, BlockNr from_leaf) {
  if (data_limit_ && b >= *data_limit_) {
    problem(ProblemKind::out_of_range, from_leaf,
            fmt::format("leaf {} maps data block {}, past the data device's end ({})", from_leaf, b,
                        *data_limit_));
    return;
  }
  data_refs_.add(b);
}

bool Context::claim(BlockNr b, const Role& role, std::string_view what) {
  auto [it, inserted] = roles_.try_emplace(b, role);
  if (!inserted && !(it->second == role)) {
    problem(ProblemKind::cross_linked, b,
            fmt::format("block {} is used as {} ({}) but was already read as {}", b, describe(role),
                        what, describe(it->second)));
  }
  return inserted;
}

Result<bool> Context::read_validated(BlockNr b, std::uint32_t salt, std::size_t blocknr_offset,
                                     std::string_view what, Block& out) {
  if (b >= dev_.nr_blocks()) {
    problem(ProblemKind::io_limit, b, fmt::format("{} {} is beyond the device's {} blocks", what, b,
                                                  dev_.nr_blocks()));
    return false;
  }
  PDSIM_TRY(dev_.read(b, BlockSpan(out)));
  ++report_.metadata_blocks_read;
  const ConstBlockSpan span(out);
  const std::uint32_t want = block_checksum(span, salt);
  const std::uint32_t have = stored_checksum(span);
  if (want != have) {
    problem(ProblemKind::bad_checksum, b,
            fmt::format("bad checksum in {} (block {}): stored {:#010x}, computed {:#010x}", what, b,
                        have, want));
    return false;
  }
  const std::uint64_t self = load_le<std::uint64_t>(out.data() + blocknr_offset);
  if (self != b) {
    problem(ProblemKind::bad_blocknr, b,
            fmt::format("bad block nr in {} at block {}: it says {}", what, b, self));
    return false;
  }
  return true;
}

}  // namespace pdsim::check::detail
