// SPDX-License-Identifier: GPL-2.0-or-later
#include "tools/cache_cmd.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "core/cache/cache_dump.h"
#include "core/cache/cache_restore.h"
#include "core/check/cache_input.h"
#include "core/io/file_device.h"
#include "tools/scratch_device.h"

namespace pdsim::tools {
namespace {

int fail(std::string_view cmd, const Error& e) {
  fmt::print(stderr, "pdsim {}: {}\n", cmd, e.to_string());
  return 1;
}

int cmd_cache_restore(const std::string& input, const std::string& output, std::uint32_t version) {
  constexpr std::string_view kCmd = "cache-restore";
  std::ifstream in(input, std::ios::binary);
  if (!in) return fail(kCmd, Error::io(fmt::format("cannot read '{}'", input)));
  // Like cache_restore, the output must exist already (a file or a device) and is not grown.
  auto dev = FileDevice::open(output, FileDevice::Mode::read_write);
  if (!dev) return fail(kCmd, dev.error());
  auto doc = cache::parse_cache_xml(in, (*dev)->nr_blocks());
  if (!doc) return fail(kCmd, std::move(doc).error().with_context(input));
  auto scratch = ScratchDevice::create((*dev)->nr_blocks());
  if (!scratch) return fail(kCmd, scratch.error());
  if (auto s = cache::restore_cache(**scratch, *doc, version); !s) return fail(kCmd, std::move(s).error().with_context(output));
  // Nothing reaches the output that our own checker rejects.
  auto report = check::check_cache(**scratch);
  if (!report) return fail(kCmd, std::move(report).error().with_context("checking the restored cache metadata"));
  if (!report->report.clean())
    return fail(kCmd, Error::invalid(fmt::format("{}: the restored cache metadata does not check clean ({} problems, first: "
                                                 "{}); nothing was written to {}", input, report->report.problems.size(),
                                                 check::to_string(report->report.problems.front()), output)));
  if (auto s = (*scratch)->copy_to(**dev); !s) return fail(kCmd, std::move(s).error().with_context(output));
  return 0;
}

int cmd_cache_dump(const std::string& image, const std::string& output, const cache::DumpOptions& opts) {
  constexpr std::string_view kCmd = "cache-dump";
  auto dev = FileDevice::open(image, FileDevice::Mode::read_only);
  if (!dev) return fail(kCmd, dev.error());
  if (output.empty()) {
    // Held back until complete: nothing partial is printed.
    std::ostringstream out;
    if (auto s = cache::dump_cache_xml(**dev, out, opts); !s) return fail(kCmd, std::move(s).error().with_context(image));
    std::cout << out.str();
    return 0;
  }
  // To a file it streams into FILE.partial, renamed over FILE only once complete.
  const std::string partial = output + ".partial";
  std::ofstream f(partial, std::ios::binary | std::ios::trunc);
  if (!f) return fail(kCmd, Error::io(fmt::format("cannot write '{}'", partial)));
  Status s = cache::dump_cache_xml(**dev, f, opts);
  f.close();
  if (!s || !f) {
    std::remove(partial.c_str());
    if (!s) return fail(kCmd, std::move(s).error().with_context(image));
    return fail(kCmd, Error::io(fmt::format("cannot write '{}'", partial)));
  }
  if (std::rename(partial.c_str(), output.c_str()) != 0) {
    std::remove(partial.c_str());
    return fail(kCmd, Error::io(fmt::format("cannot rename '{}' to '{}'", partial, output)));
  }
  return 0;
}

int cmd_cache_check(const std::string& image, bool quiet, bool ignore_non_fatal) {
  auto dev = FileDevice::open(image, FileDevice::Mode::read_only);
  if (!dev) return fail("cache-check", dev.error());
  auto rep = check::check_cache(**dev);
  if (!rep) return fail("cache-check", std::move(rep).error().with_context(image));
  const check::Report& r = rep->report;
  std::size_t counted = 0;
  for (const auto& p : r.problems) {
    if (ignore_non_fatal && p.severity == check::Severity::non_fatal) continue;
    ++counted;
    if (!quiet) fmt::print("{}\n", check::to_string(p));
  }
  if (r.problems_dropped > 0 && !quiet) fmt::print("... and {} more problems\n", r.problems_dropped);
  if (!quiet)
    fmt::print(stderr, "{}: {} problems; version {}, {} cache blocks, {} mapped, {} dirty; {} metadata blocks read, {} array blocks\n",
               image, r.problems.size() + r.problems_dropped, rep->version, rep->cache_blocks, rep->mapped, rep->dirty,
               r.metadata_blocks_read, r.array_blocks);
  return counted == 0 && (ignore_non_fatal || r.problems_dropped == 0) ? 0 : 1;
}

}  // namespace

CacheCommands::CacheCommands(CLI::App& app) {
  restore_ = app.add_subcommand("cache-restore", "Build dm-cache metadata from cache_dump's XML");
  restore_->add_option("-i,--input", input_, "XML document")->required();
  restore_->add_option("-o,--output", output_, "Metadata image (an existing file or device)")->required();
  restore_->add_option("--metadata-version", metadata_version_, "Metadata version to write (default 1)")
      ->check(CLI::IsMember({1u, 2u}));

  dump_ = app.add_subcommand("cache-dump", "Write dm-cache metadata as cache_dump's XML");
  dump_->add_option("image", image_, "Metadata image")->required();
  dump_->add_option("-o,--output", output_, "Write the XML here instead of stdout");
  dump_->add_flag("--discards", discards_, "Add the discarded ranges (not in cache_dump's output; not restorable)");

  check_ = app.add_subcommand("cache-check",
                              "Check dm-cache metadata with the independent checker: superblock, every array and bitset, "
                              "mapping values, the metadata space map (exit 0 when clean, 1 with one line per problem)");
  check_->add_option("image", image_, "Metadata image")->required();
  check_->add_flag("--ignore-non-fatal-errors", ignore_non_fatal_, "Exit 0 if only non-fatal problems (leaks) were found");
  check_->add_flag("-q,--quiet", quiet_, "Print nothing; the exit code tells");
}

bool CacheCommands::parsed() const { return restore_->parsed() || dump_->parsed() || check_->parsed(); }

int CacheCommands::run() const {
  if (restore_->parsed()) return cmd_cache_restore(input_, output_, metadata_version_);
  if (dump_->parsed()) return cmd_cache_dump(image_, output_, cache::DumpOptions{discards_});
  if (check_->parsed()) return cmd_cache_check(image_, quiet_, ignore_non_fatal_);
  return 2;
}

}  // namespace pdsim::tools
