// SPDX-License-Identifier: GPL-2.0-or-later
#include "tools/restore_cmd.h"

#include <fstream>
#include <vector>

#include <fmt/format.h>

#include "core/check/thin_input.h"
#include "core/io/file_device.h"
#include "core/thin/thin_restore.h"
#include "tools/scratch_device.h"

namespace pdsim::tools {
namespace {

int fail(const Error& e) {
  fmt::print(stderr, "pdsim restore: {}\n", e.to_string());
  return 1;
}

}  // namespace

int cmd_restore(const std::string& input, const std::string& output) {
  std::ifstream in(input, std::ios::binary);
  if (!in) return fail(Error::io(fmt::format("cannot read '{}'", input)));
  // Like thin_restore, the output must exist already (a file or a device) and is not grown.
  auto dev = FileDevice::open(output, FileDevice::Mode::read_write);
  if (!dev) return fail(dev.error());
  auto scratch = ScratchDevice::create((*dev)->nr_blocks());
  if (!scratch) return fail(scratch.error());
  std::vector<std::string> warnings;
  if (auto s = thin::restore_thin_xml(in, **scratch, &warnings); !s) return fail(std::move(s).error().with_context(input));
  for (const auto& w : warnings) fmt::print(stderr, "pdsim restore: warning: {}: {}\n", input, w);
  // Nothing reaches the output that our own checker rejects.
  auto report = check::check_thin(**scratch);
  if (!report) return fail(std::move(report).error().with_context("checking the restored pool"));
  if (!report->clean())
    return fail(Error::invalid(fmt::format("{}: the restored pool does not check clean ({} problems, first: {}); nothing "
                                           "was written to {}", input, report->problems.size(),
                                           check::to_string(report->problems.front()), output)));
  if (auto s = (*scratch)->copy_to(**dev); !s) return fail(std::move(s).error().with_context(output));
  return 0;
}

}  // namespace pdsim::tools
