// pdsim — the command-line program. Each command is a subcommand of this one binary.
#include <cstdint>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/block/crc32c.h"
#include "core/check/thin_input.h"
#include "core/io/file_device.h"
#include "core/thin/thin_dump.h"
#include "core/thin/thin_restore.h"
#include "scenarios/suite.h"
#include "tools/cache_cmd.h"
#include "tools/restore_cmd.h"
#include "sim/image.h"

namespace {

constexpr const char* kVersion = "pdsim 0.1.0";

int cmd_list() {
  fmt::print(std::cout, "suites:\n");
  for (const auto& s : pdsim::scenarios::all_suites()) fmt::print(std::cout, "  {:<10} {}\n", s.name, s.description);
  return 0;
}

struct RunArgs {
  std::string suite;
  std::uint64_t seed = 0;
  bool seed_given = false;
  std::uint64_t first_seed = 1;
  std::uint64_t seeds = 8;
  bool trace = false;
};

int cmd_run(const RunArgs& a) {
  const auto* suite = pdsim::scenarios::find_suite(a.suite);
  if (suite == nullptr) {
    std::string known;
    for (const auto& s : pdsim::scenarios::all_suites()) known += (known.empty() ? "" : ", ") + s.name;
    fmt::print(stderr, "pdsim run: unknown suite '{}' (known: {})\n", a.suite, known);
    return 2;
  }
  std::uint64_t first = a.seed_given ? a.seed : a.first_seed;
  std::uint64_t count = a.seed_given ? 1 : a.seeds;
  fmt::print(std::cout, "suite {}: {}\n", suite->name, suite->description);
  fmt::print(std::cout, "seeds {}..{}\n", first, first + count - 1);
  pdsim::scenarios::RunOptions opts{.trace = a.trace};
  std::uint64_t passed = 0, failed = 0;
  for (std::uint64_t seed = first; seed < first + count; ++seed) {
    auto out = suite->run_seed(seed, opts, std::cout);
    fmt::print(std::cout, "seed {}: {}{}\n", seed, out.passed ? "ok" : "FAILED", out.summary);
    if (out.passed) {
      ++passed;
      continue;
    }
    ++failed;
    for (const auto& f : out.failures) fmt::print(std::cout, "  failure: {}\n", f);
    fmt::print(std::cout, "  reproduce: ./pdsim run {} --seed {}\n", suite->name, seed);
  }
  fmt::print(std::cout, "{} passed, {} failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}

int fail(std::string_view cmd, const pdsim::Error& e) {
  fmt::print(stderr, "pdsim {}: {}\n", cmd, e.to_string());
  return 1;
}

struct RestoreArgs {
  std::string input;
  std::string output;
};

struct DumpArgs {
  std::string image;
  std::string output;
  bool metadata_snap = false;
  std::optional<std::uint64_t> snap_block;
  bool skip_mappings = false;
};

int cmd_dump(const DumpArgs& a) {
  auto dev = pdsim::FileDevice::open(a.image, pdsim::FileDevice::Mode::read_only);
  if (!dev) return fail("dump", dev.error());
  pdsim::thin::DumpOptions opts;
  if (a.snap_block) opts.metadata_snap = *a.snap_block;
  else if (a.metadata_snap) opts.metadata_snap = 0;
  opts.skip_mappings = a.skip_mappings;
  if (a.output.empty()) {
    // To stdout the document is held back until it is complete: nothing partial is printed.
    std::ostringstream out;
    auto s = pdsim::thin::dump_xml(**dev, opts, out);
    if (!s) return fail("dump", std::move(s).error().with_context(a.image));
    std::cout << out.str();
    return 0;
  }
  // To a file it streams into FILE.partial, renamed over FILE only once complete.
  const std::string partial = a.output + ".partial";
  std::ofstream f(partial, std::ios::binary | std::ios::trunc);
  if (!f) return fail("dump", pdsim::Error::io(fmt::format("cannot write '{}'", partial)));
  auto s = pdsim::thin::dump_xml(**dev, opts, f);
  f.close();
  if (!s || !f) {
    std::remove(partial.c_str());
    if (!s) return fail("dump", std::move(s).error().with_context(a.image));
    return fail("dump", pdsim::Error::io(fmt::format("cannot write '{}'", partial)));
  }
  if (std::rename(partial.c_str(), a.output.c_str()) != 0) {
    std::remove(partial.c_str());
    return fail("dump", pdsim::Error::io(fmt::format("cannot rename '{}' to '{}'", partial, a.output)));
  }
  return 0;
}

struct CheckArgs {
  std::string image;
  bool metadata_snap = false;
  bool ignore_non_fatal = false;
  bool quiet = false;
};

int cmd_check(const CheckArgs& a) {
  auto dev = pdsim::FileDevice::open(a.image, pdsim::FileDevice::Mode::read_only);
  if (!dev) return fail("check", dev.error());
  if (a.metadata_snap) {
    auto in = pdsim::check::thin_input(**dev);
    if (!in) return fail("check", std::move(in).error().with_context(a.image));
    if (!in->snapshot) {
      fmt::print(stderr, "pdsim check: {}: no metadata snapshot is held\n", a.image);
      return 1;
    }
  }
  auto rep = pdsim::check::check_thin(**dev);
  if (!rep) return fail("check", std::move(rep).error().with_context(a.image));
  std::size_t counted = 0;
  for (const auto& p : rep->problems) {
    if (a.ignore_non_fatal && p.severity == pdsim::check::Severity::non_fatal) continue;
    ++counted;
    if (!a.quiet) fmt::print("{}\n", pdsim::check::to_string(p));
  }
  if (rep->problems_dropped > 0 && !a.quiet) fmt::print("... and {} more problems\n", rep->problems_dropped);
  if (!a.quiet)
    fmt::print(stderr, "{}: {} problems; {} metadata blocks read, {} btree nodes, {} mappings\n", a.image,
               rep->problems.size() + rep->problems_dropped, rep->metadata_blocks_read, rep->btree_nodes, rep->mappings);
  return counted == 0 && (a.ignore_non_fatal || rep->problems_dropped == 0) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"pdsim: a deterministic simulation and fault-injection testbed for the device-mapper persistent-data library"};
  app.name("pdsim");
  app.require_subcommand(1);
  app.set_version_flag("--version", kVersion);

  auto* list = app.add_subcommand("list", "List the suites");

  RunArgs run_args;
  auto* run = app.add_subcommand("run", "Run a suite over a range of seeds, or replay one seed");
  run->add_option("suite", run_args.suite, "Suite to run (see 'pdsim list')")->required();
  auto* seed_opt = run->add_option("--seed", run_args.seed, "Replay exactly this one seed");
  run->add_option("--first-seed", run_args.first_seed, "First seed of the range")->excludes(seed_opt);
  run->add_option("--seeds", run_args.seeds, "Number of seeds to run")->excludes(seed_opt)->check(CLI::Range(1, 1000000));
  run->add_flag("--trace", run_args.trace, "Print every disk operation");

  auto* info = app.add_subcommand("info", "Print build facts (crc32c implementation, version)");

  RestoreArgs restore_args;
  auto* restore = app.add_subcommand("restore", "Build thin-pool metadata from thin_dump's XML");
  restore->add_option("-i,--input", restore_args.input, "XML document")->required();
  restore->add_option("-o,--output", restore_args.output, "Metadata image (an existing file or device)")->required();

  DumpArgs dump_args;
  auto* dump = app.add_subcommand("dump", "Write thin-pool metadata as thin_dump's XML");
  dump->add_option("image", dump_args.image, "Metadata image")->required();
  dump->add_option("-o,--output", dump_args.output, "Write the XML here instead of stdout");
  auto* snap_flag = dump->add_flag("-m", dump_args.metadata_snap, "Read through the metadata snapshot");
  dump->add_option("--metadata-snap", dump_args.snap_block, "Read through the metadata snapshot at this block")
      ->excludes(snap_flag);
  dump->add_flag("--skip-mappings", dump_args.skip_mappings, "Omit the mappings");

  CheckArgs check_args;
  auto* check = app.add_subcommand(
      "check", "Check thin-pool metadata with the independent checker: every block, every tree, both space maps, "
               "data-block counts and index summaries (exit 0 when clean, 1 with one line per problem)");
  check->add_option("image", check_args.image, "Metadata image")->required();
  check->add_flag("-m,--metadata-snap", check_args.metadata_snap, "Require a metadata snapshot (its trees are always checked)");
  check->add_flag("--ignore-non-fatal-errors", check_args.ignore_non_fatal, "Exit 0 if only non-fatal problems (leaks) were found");
  check->add_flag("-q,--quiet", check_args.quiet, "Print nothing; the exit code tells");

  pdsim::tools::CacheCommands cache_commands(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;  // usage errors exit 2, like the thin tools
  }
  if (list->parsed()) return cmd_list();
  if (run->parsed()) {
    run_args.seed_given = seed_opt->count() > 0;
    return cmd_run(run_args);
  }
  if (restore->parsed()) return pdsim::tools::cmd_restore(restore_args.input, restore_args.output);
  if (check->parsed()) return cmd_check(check_args);
  if (dump->parsed()) return cmd_dump(dump_args);
  if (cache_commands.parsed()) return cache_commands.run();
  if (info->parsed()) {
    fmt::print(std::cout, "{}\ncrc32c: {}\n", kVersion, pdsim::crc32c_implementation());
    return 0;
  }
  return 2;
}
