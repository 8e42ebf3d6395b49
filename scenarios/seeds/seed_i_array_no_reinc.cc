// SPDX-License-Identifier: GPL-2.0-or-later
// Regression for seed bug (i), "dm array: fix a reference counting bug in shadow_ablock".
//
// What broke: after shadowing an array block b (which already dropped one reference to b),
// re-inserting the copy into the array's btree dropped the btree's reference to b a second time;
// the fix takes one reference back first.
//
// Trigger: an array is cloned by taking a reference on its btree root at a transaction boundary
// (both clones share every array block through the shared root), then elements of one clone are
// set. The re-insert shadows the shared root with inc_children (b back to 1), and the overwrite's
// release then sees "last reference" and frees b although the other clone still points at it.
// Later allocations reuse b.
//
// Symptom: the untouched clone's entries change (or its blocks stop validating), and the checker
// finds array blocks referenced more often than counted. With a single owner the second release
// is a decrement below zero.
#include <fmt/format.h>

#include "core/array/array.h"
#include "scenarios/seeds/seed_common.h"

namespace pdsim::scenarios::seeds {
namespace {

constexpr BlockNr kMetadataBlocks = 4096;

array::Value u64(std::uint64_t v) {
  array::Value out(8);
  store_le<std::uint64_t>(out.data(), v);
  return out;
}

check::TreeSpec array_tree(std::string name, BlockNr root) {
  check::TreeSpec t;
  t.name = std::move(name);
  t.root = root;
  t.refs = check::ValueRefs::metadata_block;
  t.array_value_size = 8;
  return t;
}

SeedOutcome run_i(std::uint64_t seed, const RunOptions&, std::ostream&) {
  Run run(seed, "seed.i.workload");
  Bare bare(kMetadataBlocks, seed);
  const auto size = static_cast<std::uint32_t>(run.rng.between(100, 3000));
  const std::uint64_t sets = run.rng.between(1, 8);
  const auto summary = [&] { return fmt::format("array of {} entries cloned, {} sets on one clone", size, sets); };
  if (Status s = bare.format(); !s) return run.fail(fmt::format("format: {}", s.error().to_string())), run.outcome(summary());
  array::Info info = array::make_info(bare.tm, btree::plain_value_type(8));
  std::vector<std::uint64_t> a_model(size), b_model;
  for (auto& v : a_model) v = run.rng.next();
  auto made = array::create_from(info, size, [&](std::uint32_t i) -> Result<array::Value> { return u64(a_model[i]); });
  if (!made) return run.fail(fmt::format("create: {}", made.error().to_string())), run.outcome(summary());
  BlockNr a = *made;
  Status s = bare.commit();
  // The clone: one more reference on the root, taken at a transaction boundary.
  if (s) s = bare.tm.inc(a);
  if (s) s = bare.commit();
  if (!s) return run.fail(fmt::format("setup: {}", s.error().to_string())), run.outcome(summary());
  const BlockNr b = a;
  b_model = a_model;
  for (std::uint64_t k = 0; k < sets; ++k) {
    const auto i = static_cast<std::uint32_t>(run.rng.below(size));
    a_model[i] = run.rng.next();
    ++run.operations;
    s = array::set(info, a, i, u64(a_model[i]));
    if (!s) {
      const auto victim = below_zero_block(s.error());
      return run.fail(victim ? fmt::format("array block {} released twice: its reference count would go below zero "
                                           "(set of entry {}): {}", *victim, i, s.error().to_string())
                             : fmt::format("set of entry {}: {}", i, s.error().to_string())),
             run.outcome(summary());
    }
  }
  // Further allocations (after a commit) reuse whatever was freed: a third array.
  if (s = bare.commit(); !s) return run.fail(fmt::format("commit after the sets: {}", s.error().to_string())), run.outcome(summary());
  auto c = array::create_from(info, static_cast<std::uint32_t>(run.rng.between(509, 3000)),
                              [](std::uint32_t i) -> Result<array::Value> { return u64(0xC0FFEE00u + i); });
  if (c) s = bare.commit();
  if (!c || !s) return run.fail(fmt::format("reuse: {}", c ? s.error().to_string() : c.error().to_string())), run.outcome(summary());
  for (std::uint32_t i = 0; i < size; ++i) {
    auto v = array::get(info, b, i);
    if (!v || !*v || load_le<std::uint64_t>((*v)->data()) != b_model[i]) {
      run.fail(fmt::format("array entry {} of the untouched clone lost: its block was freed while still shared ({})", i,
                           !v ? v.error().to_string() : !*v ? std::string("missing") : fmt::format("reads {:#x}", load_le<std::uint64_t>((*v)->data()))));
      break;
    }
    auto w = array::get(info, a, i);
    if (!w || !*w || load_le<std::uint64_t>((*w)->data()) != a_model[i]) {
      run.fail(fmt::format("array entry {} of the changed clone is wrong", i));
      break;
    }
  }
  auto in = bare.input({array_tree("clone a", a), array_tree("clone b", b), array_tree("third", *c)});
  if (!in) run.fail(in.error().to_string());
  else if (auto problems = check_image(bare.disk.current(), *in); !problems.empty())
    run.fail(fmt::format("array block released twice by a shadow re-insert: checker: {}", summarize(problems)));
  return run.outcome(summary());
}

}  // namespace

Scenario seed_i_scenario() {
  Scenario s;
  s.name = "seed_i_array_no_reinc_shared_block_freed";
  s.description =
      "Seed bug (i): when dm-array shadowed an array block and re-inserted the copy into its btree, the old block lost "
      "two references instead of one. Triggered by cloning an array (a reference on its root at a transaction "
      "boundary), setting entries of one clone and allocating more. Symptom: an array block still used by the other "
      "clone is freed and reused, so the untouched clone's entries change and the checker finds wrong counts.";
  s.catches = {Bug::i};
  s.run = run_i;
  return s;
}

}  // namespace pdsim::scenarios::seeds
