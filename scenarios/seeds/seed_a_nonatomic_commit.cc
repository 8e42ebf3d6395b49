// SPDX-License-Identifier: GPL-2.0-or-later
// Regression for seed bug (a), "dm transaction manager: fix corruption due to non-atomic
// transaction commit".
//
// What broke: pre-commit committed the space map but did not flush; the metadata blocks were
// flushed by commit() after the superblock had been filled in, and when that flush failed the
// superblock was released dirty all the same and reached the disk with the next write-back.
// The durable superblock then named blocks that never reached the disk.
//
// Trigger: a committed pool; many new mappings (hundreds of dirty btree nodes and bitmaps); a
// commit during which the write of one non-superblock block fails; abort; power cut; reopen.
//
// Symptom: the new transaction's superblock is durable although its commit failed, and the
// checker finds bad checksums / block numbers or missing mappings below it.
#include <map>

#include <fmt/format.h>

#include "core/check/thin_input.h"
#include "core/thin/pool_metadata.h"
#include "scenarios/harness/disk_trace.h"
#include "scenarios/harness/failures.h"
#include "scenarios/seeds/seed_common.h"

namespace pdsim::scenarios::seeds {
namespace {

constexpr BlockNr kMetadataBlocks = 4096;
constexpr BlockNr kDataBlocks = 40000;
constexpr std::uint32_t kDataBlockSize = 128;

using Mappings = std::map<std::uint64_t, BlockNr>;

Status map_some(thin::PoolMetadata& md, Run& run, Mappings& model, std::uint64_t count) {
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint64_t vblock = run.rng.below(200000);
    if (model.count(vblock)) continue;
    PDSIM_TRY_ASSIGN(std::optional<BlockNr> b, md.alloc_data_block());
    if (!b) return Error::no_space("data device full");
    PDSIM_TRY(md.insert_mapping(1, vblock, *b));
    model[vblock] = *b;
    ++run.operations;
  }
  return {};
}

std::uint64_t durable_trans_id(const sim::Image& image) {
  Block b{};
  image.read(0, b);
  return check::parse_thin_superblock(b).trans_id;
}

SeedOutcome run_a(std::uint64_t seed, const RunOptions& opts, std::ostream& trace) {
  Run run(seed, "seed.a.workload");
  sim::SimDisk disk(kMetadataBlocks, sim::sub_seed(seed, "disk"));
  std::size_t traced = 0;  // --trace: the phases as steps, each with its disk operations
  auto phase = [&](std::size_t i, const std::string& what) {
    if (!opts.trace) return;
    trace_disk(disk, traced, trace);
    trace << fmt::format("  step {}: {}\n", i, what);
  };
  const std::uint64_t before = run.rng.between(10, 300);
  const std::uint64_t during = run.rng.between(300, 1200);
  const std::uint64_t nth_write = run.rng.between(1, 6);
  const sim::PowerCutPolicy policy =
      sim::kSectorAtomicPowerCutPolicies[run.rng.below(sim::kSectorAtomicPowerCutPolicies.size())];
  const auto summary = [&] {
    return fmt::format("{} mappings committed, {} more, write {} of the commit fails, power cut ({})", before, during,
                       nth_write, sim::to_string(policy));
  };
  Mappings committed;
  bool second_committed = false;
  sim::Image commit_image;  // the disk as the last successful commit left it (for --report)
  {
    phase(0, fmt::format("format, create thin 1, map {} blocks, commit transaction 1", before));
    auto md = thin::PoolMetadata::format(disk, kDataBlockSize);
    if (!md) return run.fail(fmt::format("format: {}", md.error().to_string())), run.outcome(summary());
    Status s = (*md)->resize_data(kDataBlocks);
    if (s) s = (*md)->create_thin(1);
    if (s) s = map_some(**md, run, committed, before);
    if (s) s = (*md)->set_transaction_id(0, 1);
    if (s) s = (*md)->commit();
    if (!s) return run.fail(fmt::format("setting up transaction 1: {}", s.error().to_string())), run.outcome(summary());
    commit_image = disk.current();

    Mappings attempted = committed;
    phase(1, fmt::format("map {} more blocks, commit transaction 2 with its write {} failing", during, nth_write));
    s = map_some(**md, run, attempted, during);
    if (s) s = (*md)->set_transaction_id(1, 2);
    if (!s) return run.fail(fmt::format("building transaction 2: {}", s.error().to_string())), run.outcome(summary());
    const std::uint64_t w = disk.counters().writes + nth_write;
    auto plan = sim::FaultPlan::parse(fmt::format("write ops={}-{} blocks=1- -> error", w, w));
    if (!plan) return run.fail(plan.error().to_string()), run.outcome(summary());
    disk.set_plan(*plan);
    Status commit = (*md)->commit();
    disk.set_plan(sim::FaultPlan{});
    ++run.operations;
    if (commit) {
      committed = attempted;  // the fault missed the commit: transaction 2 is legitimate
      second_committed = true;
      commit_image = disk.current();
    }
    if (opts.trace && !commit) trace << fmt::format("    result: {}\n", commit.error().to_string());
    phase(2, "abort");
    if (!commit) (void)(*md)->abort();  // what dm-thin does next; its own errors do not matter here
  }
  phase(3, fmt::format("cut {}", sim::to_string(policy)));
  disk.power_cut(policy);
  if (opts.trace) trace_disk(disk, traced, trace);
  const std::uint64_t expected = second_committed ? 2 : 1;
  const std::uint64_t got = durable_trans_id(disk.durable());
  const auto problems = check_thin_image(disk.durable());
  if (got != expected) {
    run.fail(fmt::format("superblock written after a failed flush: transaction {} is durable although its commit failed "
                         "(expected transaction {}); checker: {}",
                         got, expected, summarize(problems)));
  } else if (!problems.empty()) {
    run.fail(fmt::format("checker after the failed commit and power cut: {}", summarize(problems)));
  }
  if (run.failed()) {
    if (!opts.save_images_dir.empty()) {
      std::vector<std::string> saved;  // the durable image the checks read
      save_failing_image(failing_images(disk, disk.durable(), commit_image), opts.save_images_dir,
                         "seed_a_nonatomic_commit_superblock_after_failed_flush", seed, saved);
    }
    return run.outcome(summary());
  }
  auto md = thin::PoolMetadata::open(disk, kDataBlockSize);
  if (!md) return run.fail(fmt::format("reopen: {}", md.error().to_string())), run.outcome(summary());
  std::size_t found = 0;
  Status walked = (*md)->walk_mappings(1, [&](std::uint64_t vblock, std::uint64_t block_time) -> Result<bool> {
    auto it = committed.find(vblock);
    if (it == committed.end() || it->second != (block_time >> 24))
      return Error::corruption(fmt::format("mapping {} -> {} is not in transaction {}", vblock, block_time >> 24, expected));
    ++found;
    return true;
  });
  if (!walked) run.fail(fmt::format("after reopen: {}", walked.error().to_string()));
  else if (found != committed.size())
    run.fail(fmt::format("after reopen: {} mappings, transaction {} has {}", found, expected, committed.size()));
  return run.outcome(summary());
}

}  // namespace

Scenario seed_a_scenario() {
  Scenario s;
  s.name = "seed_a_nonatomic_commit_superblock_after_failed_flush";
  s.description =
      "Seed bug (a): the transaction manager's pre-commit did not flush the metadata, and when the flush inside "
      "commit failed the filled-in superblock was still released dirty and written back. Triggered by committing a "
      "pool, adding hundreds of mappings, failing one non-superblock write during the next commit, aborting and "
      "cutting the power. Symptom: the failed transaction's superblock is durable over blocks that never reached "
      "the disk (bad checksums, missing mappings).";
  s.catches = {Bug::a};
  s.run = run_a;
  return s;
}

}  // namespace pdsim::scenarios::seeds
