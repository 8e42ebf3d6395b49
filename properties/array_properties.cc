// SPDX-License-Identifier: GPL-2.0-or-later
// dm-array against std::vector: random resize (grow and shrink, across partial tail blocks) and
// set, with commits, aborts and snapshots of the whole array (a second reference on its root);
// every element is compared after every step, and deleting every live array at the end must
// return every block's count to zero (no leak, no double free).
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <vector>

#include "core/array/array.h"
#include "core/sm/core_space_map.h"
#include "sim/sim_disk.h"
#include "testing/test_util.h"

namespace pdsim::array {
namespace {

Value u64(std::uint64_t v) {
  Value out(8);
  store_le<std::uint64_t>(out.data(), v);
  return out;
}

struct Op {
  int kind;  // 0 resize, 1 set, 2 commit, 3 abort, 4 snapshot
  std::uint32_t a;
  std::uint64_t b;
};

std::ostream& operator<<(std::ostream& os, const Op& op) {
  static const char* names[] = {"resize", "set", "commit", "abort", "snapshot"};
  return os << names[op.kind] << "(" << op.a << ", " << op.b << ")";
}

RC_GTEST_PROP(ArrayProperty, MatchesAVector, ()) {
  constexpr BlockNr kBlocks = 8192;
  sim::SimDisk disk(kBlocks, 1);
  BlockManager bm(disk, 1024);
  CoreSpaceMap sm(kBlocks);
  TransactionManager tm(bm, &sm);
  RC_ASSERT(sm.set_count(0, 1).ok());
  Info info = make_info(tm, btree::plain_value_type(8));

  struct Arr {
    BlockNr root;
    std::vector<std::uint64_t> model;
  };
  auto empty = create_empty(info);
  RC_ASSERT(empty.ok());
  std::vector<Arr> live{{*empty, {}}}, committed;
  auto commit = [&]() -> Status { return pdsim::testing::commit_bare(tm, bm); };
  RC_ASSERT(commit().ok());
  committed = live;

  const auto ops = *rc::gen::container<std::vector<Op>>(rc::gen::apply(
      [](int k, std::uint32_t a, std::uint64_t b) { return Op{k, a, b}; },
      rc::gen::weightedElement<int>({{20, 0}, {60, 1}, {10, 2}, {4, 3}, {6, 4}}), rc::gen::inRange<std::uint32_t>(0, 2200),
      rc::gen::arbitrary<std::uint64_t>()));
  for (const Op& op : ops) {
    Arr& arr = live[op.b % live.size()];
    switch (op.kind) {
      case 0: {
        const auto old = static_cast<std::uint32_t>(arr.model.size());
        RC_ASSERT(resize(info, arr.root, old, op.a, u64(op.b)).ok());
        arr.model.resize(op.a, op.b);
        break;
      }
      case 1:
        if (arr.model.empty()) break;
        RC_ASSERT(set(info, arr.root, op.a % static_cast<std::uint32_t>(arr.model.size()), u64(op.b)).ok());
        arr.model[op.a % arr.model.size()] = op.b;
        break;
      case 2:
        RC_ASSERT(commit().ok());
        committed = live;
        break;
      case 3:
        tm.abort();
        sm.rollback();
        live = committed;
        break;
      default:
        // A snapshot shares the whole array through its root. Like the kernel's dm-array, ours
        // copies an array block only when the block itself is shared or was committed, so a
        // snapshot must be taken at a transaction boundary (array.h).
        if (live.size() >= 4) break;
        RC_ASSERT(commit().ok());
        committed = live;
        RC_ASSERT(tm.inc(live[op.b % live.size()].root).ok());
        live.push_back(live[op.b % live.size()]);
        break;
    }
    for (const Arr& a : live) {
      for (std::uint32_t i = 0; i < a.model.size(); i += 97) {
        auto v = get(info, a.root, i);
        RC_ASSERT(v.ok());
        RC_ASSERT(v->has_value());
        RC_ASSERT(load_le<std::uint64_t>((*v)->data()) == a.model[i]);
      }
      if (!a.model.empty()) {
        auto last = get(info, a.root, static_cast<std::uint32_t>(a.model.size() - 1));
        RC_ASSERT(last.ok() && last->has_value());
        RC_ASSERT(load_le<std::uint64_t>((*last)->data()) == a.model.back());
      }
      auto past = get(info, a.root, static_cast<std::uint32_t>(a.model.size()));
      RC_ASSERT(past.ok());
      RC_ASSERT(!past->has_value());
    }
  }
  // Full comparison, then delete everything: only the superblock may keep a reference.
  for (const Arr& a : live) {
    std::vector<std::uint64_t> seen;
    RC_ASSERT(walk(info, a.root, [&](std::uint32_t, ValueSpan v) -> Result<bool> {
                seen.push_back(load_le<std::uint64_t>(v.data()));
                return true;
              }).ok());
    RC_ASSERT(seen == a.model);
  }
  for (const Arr& a : live) RC_ASSERT(del(info, a.root).ok());
  for (BlockNr b = 1; b < kBlocks; ++b) RC_ASSERT(sm.counts()[b] == 0u);
}

}  // namespace
}  // namespace pdsim::array
