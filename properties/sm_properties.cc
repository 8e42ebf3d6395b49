// SPDX-License-Identifier: GPL-2.0-or-later
// Space maps against a count table: random new_block / inc / dec / set_count / commit / abort /
// extend, checking every count the model knows after each step, and reopening from the durable
// root at every commit. Decrements are only issued on counted blocks, so a "below zero" error is
// a space-map bug, never the workload's.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>

#include "core/sm/disk_space_map.h"
#include "core/sm/metadata_space_map.h"
#include "sim/sim_disk.h"
#include "testing/test_util.h"

namespace pdsim::sm {
namespace {

struct Step {
  int kind;         // 0 new_block, 1 inc, 2 dec, 3 commit, 4 abort, 5 set_count, 6 extend
  std::uint64_t pick;
  std::uint32_t amount;
};

std::ostream& operator<<(std::ostream& os, const Step& s) {
  static const char* names[] = {"new_block", "inc", "dec", "commit", "abort", "set_count", "extend"};
  return os << names[s.kind] << "(pick=" << s.pick << ", amount=" << s.amount << ")";
}

rc::Gen<Step> gen_step() {
  return rc::gen::apply([](int k, std::uint64_t p, std::uint32_t a) { return Step{k, p, a}; },
                        rc::gen::weightedElement<int>({{30, 0}, {25, 1}, {25, 2}, {6, 3}, {3, 4}, {6, 5}, {2, 6}}),
                        rc::gen::arbitrary<std::uint64_t>(), rc::gen::inRange<std::uint32_t>(0, 9));
}

// The harness keeps the metadata space-map root in block 0 (a bare superblock).
struct Meta {
  sim::SimDisk disk;
  BlockManager bm;
  TransactionManager tm;
  std::unique_ptr<MetadataSpaceMap> sm;
  Meta(BlockNr device, BlockNr initial) : disk(device, 1), bm(disk, 64), tm(bm) {
    auto r = MetadataSpaceMap::create(tm, initial);
    RC_ASSERT(r.ok());
    sm = std::move(r).value();
    RC_ASSERT(commit().ok());
  }
  Status commit() { return pdsim::testing::commit_bare(tm, bm, sm.get()); }
  Status reopen() {
    PDSIM_TRY_ASSIGN(SpaceMapRoot root, pdsim::testing::read_bare_root(tm, bm));
    PDSIM_TRY_ASSIGN(sm, MetadataSpaceMap::open(tm, root));
    return {};
  }
};

RC_GTEST_PROP(MetadataSpaceMapProperty, MatchesACountTable, ()) {
  const BlockNr initial = *rc::gen::inRange<BlockNr>(64, 3000);
  Meta m(initial + 20000, initial);
  std::map<BlockNr, std::uint32_t> model, committed;  // only the blocks the workload owns
  auto steps = *rc::gen::container<std::vector<Step>>(gen_step());
  for (const Step& s : steps) {
    switch (s.kind) {
      case 0: {
        auto b = m.sm->new_block();
        RC_ASSERT(b.ok());
        if (!b->has_value()) break;  // out of space: an expected outcome
        // (RC_ASSERT decomposes its expression, so `||` would not short-circuit: test with find.)
        RC_ASSERT(model.find(**b) == model.end());
        RC_ASSERT(committed.find(**b) == committed.end());  // never reuse a committed block
        model[**b] = 1;
        break;
      }
      case 1:
      case 2:
      case 5: {
        if (model.empty()) break;
        auto it = model.begin();
        std::advance(it, static_cast<long>(s.pick % model.size()));
        if (s.kind == 1) {
          RC_ASSERT(m.sm->inc(it->first).ok());
          ++it->second;
        } else if (s.kind == 2) {
          if (it->second == 0) break;
          auto r = m.sm->dec(it->first);
          RC_ASSERT(r.ok());
          --it->second;
        } else {
          RC_ASSERT(m.sm->set_count(it->first, s.amount).ok());
          it->second = s.amount;
        }
        // A block whose count reaches 0 is no longer the workload's: the space map may hand it
        // out again (even to itself, for its own structures) in this same transaction.
        if (it->second == 0) model.erase(it);
        break;
      }
      case 3:
        RC_ASSERT(m.commit().ok());
        RC_ASSERT(m.reopen().ok());
        committed = model;
        break;
      case 4:
        RC_ASSERT(m.reopen().ok());
        model = committed;
        break;
      default: {
        const BlockNr extra = 1 + s.pick % 20000;
        auto before = *m.sm->nr_blocks();
        if (before + extra > initial + 20000) break;
        RC_ASSERT(m.sm->extend(extra).ok());
        RC_ASSERT(*m.sm->nr_blocks() == before + extra);
        RC_ASSERT(m.commit().ok());
        RC_ASSERT(m.reopen().ok());
        committed = model;
        break;
      }
    }
    for (const auto& [b, c] : model) {
      auto got = m.sm->get_count(b);
      RC_ASSERT(got.ok());
      RC_ASSERT(*got == c);
    }
  }
  // nr_allocated in the root equals the number of non-zero counts.
  RC_ASSERT(m.commit().ok());
  RootFields root = RootFields::unpack(*m.sm->copy_root());
  BlockNr used = 0;
  for (BlockNr b = 0; b < root.nr_blocks; ++b) used += *m.sm->get_count(b) > 0 ? 1u : 0u;
  RC_ASSERT(root.nr_allocated == used);
}

RC_GTEST_PROP(DiskSpaceMapProperty, MatchesACountTable, ()) {
  sim::SimDisk disk(4000, 1);
  BlockManager bm(disk, 64);
  TransactionManager tm(bm);
  auto meta = MetadataSpaceMap::create(tm, 4000);
  RC_ASSERT(meta.ok());
  const BlockNr data_blocks = *rc::gen::inRange<BlockNr>(1, 40000);
  auto data = DiskSpaceMap::create(tm, data_blocks);
  RC_ASSERT(data.ok());
  auto full_commit = [&]() -> Status {
    PDSIM_TRY((*data)->commit());
    return pdsim::testing::commit_bare(tm, bm);
  };
  RC_ASSERT(full_commit().ok());
  std::map<BlockNr, std::uint32_t> model;
  BlockNr size = data_blocks;
  auto steps = *rc::gen::container<std::vector<Step>>(gen_step());
  for (const Step& s : steps) {
    const BlockNr b = s.pick % size;
    switch (s.kind) {
      case 0: {
        auto nb = (*data)->new_block();
        RC_ASSERT(nb.ok());
        if (nb->has_value()) {
          const bool free_in_model = model.find(**nb) == model.end() || model[**nb] == 0u;
          RC_ASSERT(free_in_model);
          model[**nb] = 1;
        }
        break;
      }
      case 1:
        RC_ASSERT((*data)->inc(b).ok());
        ++model[b];
        break;
      case 2:
        if (model[b] == 0) {
          RC_ASSERT(!(*data)->dec(b).ok());  // below zero is refused
          // A rejected decrement leaves the transaction inconsistent (algorithms.md §3.3): stop here.
          return;
        }
        RC_ASSERT((*data)->dec(b).ok());
        --model[b];
        break;
      case 5:
        RC_ASSERT((*data)->set_count(b, s.amount).ok());
        model[b] = s.amount;
        break;
      case 6: {
        const BlockNr extra = 1 + s.pick % 20000;
        RC_ASSERT((*data)->extend(extra).ok());
        size += extra;
        RC_ASSERT(full_commit().ok());
        break;
      }
      default:
        RC_ASSERT(full_commit().ok());
        break;
    }
  }
  for (const auto& [blk, c] : model) RC_ASSERT(*(*data)->get_count(blk) == c);
  RC_ASSERT(full_commit().ok());
  BlockNr nonzero = 0;
  for (const auto& [blk, c] : model) nonzero += c > 0 ? 1u : 0u;
  RC_ASSERT(RootFields::unpack(*(*data)->copy_root()).nr_allocated == nonzero);
  RC_ASSERT(*(*data)->nr_free() == size - nonzero);
}

}  // namespace
}  // namespace pdsim::sm
