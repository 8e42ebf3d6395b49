// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — the command-line program. Each command is a subcommand of this one binary.
#include <cstdint>
#include <iostream>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/common/crc32c.h"
#include "core/check/thin_input.h"
#include "core/io/file_device.h"
#include "core/pack/pack.h"
#include "core/thin/thin_dump.h"
#include "core/thin/thin_restore.h"
#include "kernel/kernel_engine.h"
#include "scenarios/runner/runner.h"
#include "scenarios/runner/registry.h"
#include "tools/cache_cmd.h"
#include "tools/merge_cmd.h"
#include "tools/restore_cmd.h"
#include "sim/image.h"
#include "tools/pack_cmd.h"

namespace {

constexpr const char* kVersion = "pdsim " PDSIM_VERSION;

int cmd_list() {
  fmt::print(std::cout, "suites:\n");
  for (const auto& s : pdsim::scenarios::all_suites()) fmt::print(std::cout, "  {:<10} {}\n", s.name, s.description);
  fmt::print(std::cout, "\nscenarios:\n");
  for (const auto& s : pdsim::scenarios::all_scenarios()) {
    fmt::print(std::cout, "  {}{}\n", s.name, s.generate ? "  (steps: shrinks and replays)" : "");
    fmt::print(std::cout, "      {}\n", s.description);
  }
  fmt::print(std::cout, "\nseed-bug switches (--bug NAME; off by default):\n");
  for (const auto& b : pdsim::all_bugs())
    fmt::print(std::cout, "  {:<40} {}\n  {:<40} symptom: {}\n", b.name, b.commit, "", b.symptom);
  return 0;
}

struct RunArgs {
  pdsim::scenarios::RunRequest req;
  std::uint64_t seed = 0;
  std::vector<std::string> bugs;
  std::string shard;
  std::string thin_check = "sample";
  std::string engine = "pdsim";
  bool no_shrink = false;
};

int cmd_run(RunArgs& a, bool seed_given) {
  auto& req = a.req;
  if (seed_given) {
    req.first_seed = a.seed;
    req.runs = 1;
  }
  if (a.engine == "kernel") {
    if (!pdsim::kernel::available()) {
      fmt::print(stderr, "pdsim run: --engine kernel: this build has no kernel engine ({}); configure with the "
                         "linux-source-6.1 package installed or -DPDSIM_KERNEL_SRC=TREE\n",
                 pdsim::kernel::source_description());
      return 2;
    }
    if (!a.bugs.empty()) {
      fmt::print(stderr, "pdsim run: --bug switches a bug back on in pdsim's engine, not in the kernel's ({} has the "
                         "fixes); to test a tree without a fix, build it with -DPDSIM_KERNEL_SRC=TREE and run the "
                         "bug's scenario without --bug\n",
                 pdsim::kernel::source_description());
      return 2;
    }
    req.opts.thin_engine = &pdsim::kernel::thin_engine();
    req.opts.cache_engine = &pdsim::kernel::cache_engine();
  } else if (a.engine != "pdsim") {
    fmt::print(stderr, "pdsim run: --engine must be pdsim or kernel, not '{}'\n", a.engine);
    return 2;
  }
  for (const auto& name : a.bugs) {
    auto b = pdsim::find_bug(name);
    if (!b) {
      fmt::print(stderr, "pdsim run: unknown seed bug '{}' (see 'pdsim list')\n", name);
      return 2;
    }
    req.bugs.push_back(*b);
  }
  if (!a.shard.empty()) {
    unsigned long long i = 0, n = 0;
    char extra = 0;
    if (std::sscanf(a.shard.c_str(), "%llu/%llu%c", &i, &n, &extra) != 2 || n == 0 || i >= n) {
      fmt::print(stderr, "pdsim run: --shard '{}' is not I/N with I < N\n", a.shard);
      return 2;
    }
    req.shard_index = i;
    req.shard_count = n;
  }
  if (a.thin_check == "never") req.opts.thin_check = pdsim::scenarios::ThinCheck::never;
  else if (a.thin_check == "sample") req.opts.thin_check = pdsim::scenarios::ThinCheck::sample;
  else if (a.thin_check == "always") req.opts.thin_check = pdsim::scenarios::ThinCheck::always;
  else {
    fmt::print(stderr, "pdsim run: --thin-check must be never, sample or always, not '{}'\n", a.thin_check);
    return 2;
  }
  req.shrink = !a.no_shrink;
  req.progress = true;
  req.build = fmt::format("{}; kernel engine: {}", kVersion, pdsim::kernel::source_description());
  return pdsim::scenarios::run(req, std::cout, std::cerr);
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
  auto dev = pdsim::pack::open_input_image(a.image);  // a raw image or a pack
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
  auto dev = pdsim::pack::open_input_image(a.image);  // a raw image or a pack
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
  // The scenario and suite tables are data: prove them consistent before anything runs.
  if (pdsim::Status reg = pdsim::scenarios::check_registry(); !reg) {
    fmt::print(std::cerr, "pdsim: {}\n", reg.error().message());
    return 2;
  }
  CLI::App app{"pdsim: a deterministic simulation and fault-injection testbed for the device-mapper persistent-data library"};
  app.name("pdsim");
  app.require_subcommand(1);
  app.set_version_flag("--version", kVersion);

  auto* list = app.add_subcommand("list", "List the suites, the scenarios and the seed-bug switches");

  RunArgs run_args;
  auto* run = app.add_subcommand("run", "Run a suite or one scenario over a range of seeds, or replay one seed");
  run->add_option("target", run_args.req.target, "Suite or scenario to run (see 'pdsim list')")->required();
  auto* seed_opt = run->add_option("--seed", run_args.seed, "Run exactly this one seed");
  run->add_option("--first-seed", run_args.req.first_seed, "First seed of the range")->excludes(seed_opt);
  run->add_option("--runs,--seeds", run_args.req.runs, "Seeds per scenario")->excludes(seed_opt)->check(CLI::Range(1, 1000000));
  run->add_option("--bug", run_args.bugs, "Turn a seed-bug switch on (repeatable; see 'pdsim list')");
  run->add_option("--json", run_args.req.json, "Write a JSON report here");
  run->add_option("--shard", run_args.shard, "Run shard I of N (I/N): seeds whose position % N == I");
  run->add_option("--save-images", run_args.req.opts.save_images_dir, "Save failing runs' images and shrunk steps here");
  run->add_option("--report", run_args.req.report_dir,
                  "Write an HTML page for each failing seed (steps, disk timeline, the blocks the failure names) and "
                  "index.html here");
  run->add_option("--thin-check", run_args.thin_check, "Run thin_check on recovered images: never, sample (default) or always");
  run->add_option("--replay", run_args.req.replay, "Replay a steps file (from a shrunk failure) instead of generating");
  run->add_flag("--no-shrink", run_args.no_shrink, "Do not shrink failing runs");
  run->add_option("--max-failures", run_args.req.max_failures, "Stop after this many failed seeds (default 0: run every seed)");
  run->add_flag("--trace", run_args.req.opts.trace, "Print every step and disk operation");
  run->add_flag("--strict", run_args.req.strict,
                "Fail a run that a known divergence of the engine ended (the kernel dropping an error a fault caused)");
  run_args.req.jobs = std::max(1u, std::thread::hardware_concurrency());
  run->add_option("--jobs,-j", run_args.req.jobs,
                  "Worker processes running seeds (default: the machine's cores); the output is the same for any number")
      ->check(CLI::Range(1u, 1024u));
  run->add_option("--engine", run_args.engine,
                  "Metadata engine behind the seam: pdsim (ours, default) or kernel (the kernel's own code; see 'pdsim info')");

  std::vector<std::string> merge_inputs;
  std::string merge_output;
  auto* merge = app.add_subcommand("merge", "Merge the JSON reports of a run's shards (--shard I/N --json) into one");
  merge->add_option("reports", merge_inputs, "The shard reports")->required();
  merge->add_option("-o,--output", merge_output, "The merged report")->required();

  auto* info = app.add_subcommand("info", "Print build facts (version, crc32c implementation, the kernel tree of the kernel engine)");

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

  pdsim::tools::PackCommands pack_commands(app);
  pdsim::tools::CacheCommands cache_commands(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;  // usage errors exit 2, like the thin tools
  }
  if (list->parsed()) return cmd_list();
  if (run->parsed()) return cmd_run(run_args, seed_opt->count() > 0);
  if (auto rc = pack_commands.run_if_parsed()) return *rc;
  if (restore->parsed()) return pdsim::tools::cmd_restore(restore_args.input, restore_args.output);
  if (check->parsed()) return cmd_check(check_args);
  if (dump->parsed()) return cmd_dump(dump_args);
  if (cache_commands.parsed()) return cache_commands.run();
  if (merge->parsed()) return pdsim::tools::cmd_merge(merge_inputs, merge_output);
  if (info->parsed()) {
    fmt::print(std::cout, "{}\ncrc32c: {}\nkernel engine: {}\n", kVersion, pdsim::crc32c_implementation(),
               pdsim::kernel::source_description());
    return 0;
  }
  return 2;
}
