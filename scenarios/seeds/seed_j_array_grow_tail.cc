// SPDX-License-Identifier: GPL-2.0-or-later
// Regression for seed bug (j), "dm array: fix bug in growing array".
//
// What broke: growing an array whose last block was partial filled that tail block up, then
// inserted the new full blocks starting at the tail's own index, replacing it with a block of
// default values.
//
// Trigger: an array whose size is not a multiple of 509 (u64 entries per block), distinct values,
// a commit, then a resize across one or more block boundaries.
//
// Symptom: the entries of the old tail block read back as the default value after the grow.
#include <fmt/format.h>

#include "core/array/array.h"
#include "scenarios/seeds/seed_common.h"

namespace pdsim::scenarios::seeds {
namespace {

constexpr BlockNr kMetadataBlocks = 4096;
constexpr std::uint64_t kDefault = 0xDEFA017;

array::Value u64(std::uint64_t v) {
  array::Value out(8);
  store_le<std::uint64_t>(out.data(), v);
  return out;
}

// Steps: "resize N" (grow or shrink to N entries, new entries kDefault), "set I V", "commit".
Steps generate_j(std::uint64_t seed) {
  Run run(seed, "seed.j.workload");
  Steps steps;
  std::uint64_t size = run.rng.between(1, 1500);
  if (size % 509 == 0) ++size;
  steps.push_back(fmt::format("resize {}", size));
  for (std::uint64_t i = 0; i < size; ++i) steps.push_back(fmt::format("set {} {}", i, run.rng.below(1u << 30)));
  steps.push_back("commit");
  const std::uint64_t grows = run.rng.between(1, 3);
  for (std::uint64_t g = 0; g < grows; ++g) {
    size += run.rng.between(1, 1600);
    steps.push_back(fmt::format("resize {}", size));
    steps.push_back("commit");
  }
  return steps;
}

SeedOutcome replay_j(std::uint64_t seed, const Steps& steps, const RunOptions&, std::ostream&) {
  Run run(seed, "seed.j.workload");
  Bare bare(kMetadataBlocks, seed);
  std::vector<std::uint64_t> model;
  const auto summary = [&] { return fmt::format("{} steps, final size {}", steps.size(), model.size()); };
  if (Status s = bare.format(); !s) return run.fail(fmt::format("format: {}", s.error().to_string())), run.outcome(summary());
  array::Info info = array::make_info(bare.tm, btree::plain_value_type(8));
  auto empty = array::create_empty(info);
  if (!empty) return run.fail(empty.error().to_string()), run.outcome(summary());
  BlockNr root = *empty;
  for (const std::string& step : steps) {
    const std::string word = step_word(step);
    const auto args = step_args(step);
    ++run.operations;
    Status s;
    if (word == "resize" && !args.empty()) {
      const auto old_size = static_cast<std::uint32_t>(model.size());
      s = array::resize(info, root, old_size, static_cast<std::uint32_t>(args[0]), u64(kDefault));
      model.resize(args[0], kDefault);
      if (s) {
        for (std::uint32_t i = 0; i < model.size(); ++i) {
          auto v = array::get(info, root, i);
          const std::uint64_t got = v && *v ? load_le<std::uint64_t>((*v)->data()) : UINT64_MAX;
          if (got != model[i]) {
            run.fail(fmt::format("array entry {} lost after resize from {} to {} entries (expected {:#x}, got {:#x})", i,
                                 old_size, model.size(), model[i], got));
            return run.outcome(summary());
          }
        }
      }
    } else if (word == "set" && args.size() == 2) {
      if (args[0] >= model.size()) continue;
      s = array::set(info, root, static_cast<std::uint32_t>(args[0]), u64(args[1]));
      model[args[0]] = args[1];
    } else if (word == "commit") {
      s = bare.commit();
    }
    if (!s) return run.fail(fmt::format("{}: {}", step, s.error().to_string())), run.outcome(summary());
  }
  // The checker reads the device, so the array must be committed first: a step list that ends
  // without a commit (a shrunk one, say) would otherwise fail the check with every switch off.
  if (Status s = bare.commit(); !s) return run.fail(fmt::format("final commit: {}", s.error().to_string())), run.outcome(summary());
  check::TreeSpec t;
  t.name = "array";
  t.root = root;
  t.refs = check::ValueRefs::metadata_block;
  t.array_value_size = 8;
  auto in = bare.input({t});
  if (!in) run.fail(in.error().to_string());
  else if (auto problems = check_image(bare.disk.current(), *in); !problems.empty())
    run.fail(fmt::format("checker: {}", summarize(problems)));
  return run.outcome(summary());
}

}  // namespace

Scenario seed_j_scenario() {
  Scenario s;
  s.name = "seed_j_array_grow_overwrites_tail_entries_lost";
  s.description =
      "Seed bug (j): growing a dm-array whose last block was partial filled that block up and then inserted the new "
      "full blocks from the tail's own index, replacing it with defaults. Triggered by an array of u64 whose size is "
      "not a multiple of 509, set to distinct values, committed and grown across block boundaries. Symptom: the old "
      "tail's entries read back as the default value after the resize.";
  s.catches = {Bug::j};
  s.generate = generate_j;
  s.replay = replay_j;
  s.grammar = {{"resize", {{"entries", 0, kMaxCacheBlocks}}},
               {"set", {{"index", 0, kMaxCacheBlocks - 1}, {"value"}}},
               {"commit", {}}};
  s.run = [](std::uint64_t seed, const RunOptions& opts, std::ostream& trace) {
    return replay_j(seed, generate_j(seed), opts, trace);
  };
  return s;
}

}  // namespace pdsim::scenarios::seeds
