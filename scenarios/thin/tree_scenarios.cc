// SPDX-License-Identifier: GPL-2.0-or-later
// Tree shapes: workloads that grow big mapping trees (two and three node levels per device,
// tens of thousands of mappings), share them with chains of snapshots, and then shrink them in
// every shape — single removes, range discards, whole-device deletes in random order, drains
// down to a single leaf — beside shared nodes and unshared ones, with inserts at both ends and
// in the middle, overwrites of shared regions, commits, aborts and power cuts in between. They
// exist to drive the btree's structural changes (splits, redistributions, merges, collapses)
// where its bugs live; the coverage marks they require prove it.
#include <algorithm>

#include <fmt/format.h>

#include "scenarios/thin/thin_scenarios.h"
#include "scenarios/thin/thin_steps.h"
#include "sim/rng.h"

namespace pdsim::scenarios {
namespace {

struct Regime {
  // Mappings grown in thin 0 first: more than one space-map bitmap's worth of data blocks
  // (16320), so allocation crosses into the next bitmap.
  std::uint64_t initial_min = 17000, initial_max = 30000;
  std::uint64_t rounds = 40;                              // macro steps after that
  std::uint64_t max_devices = 6;
  bool faults = true;  // fault plans and power cuts among the steps
};

class TreeGen {
 public:
  TreeGen(std::uint64_t seed, const Regime& r) : rng_(sim::sub_seed(seed, "trees.steps")), r_(r) {}

  Steps generate() {
    out_.push_back("create 0");
    ids_.push_back(next_id_++);
    const std::uint64_t n = rng_.between(r_.initial_min, r_.initial_max);
    stride_ = rng_.between(1, 3);
    lo_ = rng_.between(0, 5000);
    hi_ = lo_ + n * stride_;
    grow(0, lo_, hi_, stride_);
    out_.push_back("commit");
    // Every seed visits the rare shapes once (merges of shared nodes at a parent's edge and in
    // its middle), then draws its rounds, and ends by collapsing a shared single-child root.
    squeeze_then_share(0, lo_);
    squeeze_then_share(pick(), window_start(1));
    squeeze_then_share(pick(), window_start(1));
    squeeze_then_share(pick(), hi_);
    // New keys after the shared ones of a snapshot: the last leaf splits beside a shared sibling.
    const std::uint64_t len = rng_.between(1000, 3000);
    out_.push_back(fmt::format("fill {} {} {} 1", ids_.back(), hi_, hi_ + len));
    hi_ += len;
    // A fresh region filled in shuffled order: splits with full siblings on both sides.
    out_.push_back(fmt::format("sfill {} {} {} 1 {}", pick(), hi_, hi_ + 4000, rng_.next()));
    hi_ += 4000;
    remove_range(pick());
    for (std::uint64_t k = 0; k < r_.rounds; ++k) round();
    trim_then_share(pick(), pick());
    out_.push_back("commit");
    out_.push_back("reopen");
    return out_;
  }

 private:
  std::uint64_t pick() { return ids_[rng_.below(ids_.size())]; }
  // A window of `len` blocks inside the span the devices were grown over.
  std::uint64_t window_start(std::uint64_t len) { return hi_ > lo_ + len ? rng_.between(lo_, hi_ - len) : lo_; }

  void grow(std::uint64_t id, std::uint64_t b, std::uint64_t e, std::uint64_t stride) {
    switch (rng_.below(3)) {
      case 0: out_.push_back(fmt::format("fill {} {} {} {}", id, b, e, stride)); break;
      case 1: out_.push_back(fmt::format("rfill {} {} {} {}", id, b, e, stride)); break;
      default: out_.push_back(fmt::format("sfill {} {} {} {} {}", id, b, e, stride, rng_.next())); break;
    }
  }

  void round() {
    const std::uint64_t d = rng_.below(100);
    const std::uint64_t id = pick();
    if (d < 10) {  // a snapshot, mostly of the newest device: chains
      if (ids_.size() >= r_.max_devices) return remove_range(id);
      const std::uint64_t origin = rng_.chance(7, 10) ? ids_.back() : id;
      out_.push_back(fmt::format("snap {} {}", next_id_, origin));
      ids_.push_back(next_id_++);
      if (rng_.chance(1, 2)) out_.push_back("commit");
    } else if (d < 15) {  // delete an origin or a snapshot, in random order
      if (ids_.size() < 2) return remove_range(id);
      const std::size_t k = rng_.below(ids_.size());
      out_.push_back(fmt::format("delete {}", ids_[k]));
      ids_.erase(ids_.begin() + static_cast<long>(k));
    } else if (d < 25) {  // overwrite a shared region: breaks sharing leaf by leaf
      const std::uint64_t len = rng_.between(50, 4000);
      const std::uint64_t b = window_start(len);
      grow(id, b, b + len, rng_.between(1, 2));
    } else if (d < 33) {  // inserts at the front, at the end, or between existing keys
      const std::uint64_t len = rng_.between(100, 3000);
      switch (rng_.below(3)) {
        case 0:
          if (lo_ >= len) {
            lo_ -= len;
            grow(id, lo_, lo_ + len, 1);
          }
          break;
        case 1: grow(id, hi_, hi_ + len, 1); hi_ += len; break;
        default: {
          const std::uint64_t b = window_start(len * 2);
          out_.push_back(fmt::format("sfill {} {} {} {} {}", id, b + 1, b + len * 2, 2, rng_.next()));
        }
      }
    } else if (d < 55) {
      remove_range(id);
    } else if (d < 63) {  // thin a region out (nodes near their minimum), share it, remove there
      const std::uint64_t len = rng_.between(2000, 12000);
      const std::uint64_t b = window_start(len);
      out_.push_back(fmt::format("punch {} {} {} 2", id, b, b + len));
      share_then_remove(id, b, len);
    } else if (d < 68) {
      trim_then_share(id, pick());
    } else if (d < 73) {
      // At either end of the tree the leaf is at its parent's edge: a pair, not three.
      squeeze_then_share(id, rng_.chance(1, 3) ? (rng_.chance(1, 2) ? 0 : hi_) : window_start(1));
    } else if (d < 76) {  // drain: all but a small window goes, then the rest one by one
      const std::uint64_t keep = rng_.between(0, 600);
      out_.push_back(fmt::format("discard {} 0 {}", id, hi_ > keep ? hi_ - keep : 0));
      out_.push_back(fmt::format("punch {} 0 {} 1", id, hi_ + 1));
      if (rng_.chance(1, 2)) grow(id, lo_, lo_ + rng_.between(500, 8000), 1);
    } else if (d < 83) {
      out_.push_back("commit");
    } else if (d < 87 && r_.faults) {
      out_.push_back(fmt::format("cut {}", sim::to_string(sim::kSectorAtomicPowerCutPolicies[rng_.below(sim::kSectorAtomicPowerCutPolicies.size())])));
    } else if (d < 90 && r_.faults) {
      out_.push_back("plan " + random_fault_plan(rng_));
    } else if (d < 93) {
      out_.push_back("reopen");
    } else {
      for (int i = 0; i < 8; ++i) out_.push_back(fmt::format("read {} {}", id, rng_.between(lo_ > 2 ? lo_ - 2 : 0, hi_ + 2)));
    }
  }

  // Commits, snapshots `id` (a new device shares every node), then removes inside the window from
  // the origin or the snapshot: the first removes there meet shared neighbours.
  void share_then_remove(std::uint64_t id, std::uint64_t b, std::uint64_t len) {
    out_.push_back("commit");
    snapshot_of(id);
    const std::uint64_t target = rng_.chance(1, 2) ? id : ids_.back();
    out_.push_back(fmt::format("punch {} {} {} {}", target, b, b + len, rng_.between(3, 40)));
  }

  // Squeezes V's leaf and its siblings to just below the merge threshold, commits, snapshots, and
  // removes next to V in the origin or the snapshot: that remove merges shared nodes.
  void squeeze_then_share(std::uint64_t id, std::uint64_t v) {
    out_.push_back(fmt::format("squeeze {} {}", id, v));
    out_.push_back("commit");
    snapshot_of(id);
    out_.push_back(fmt::format("unmapnext {} {}", rng_.chance(1, 2) ? id : ids_.back(), v));
  }

  // A new snapshot of `id`; at the device limit another device is deleted first.
  void snapshot_of(std::uint64_t id) {
    if (ids_.size() >= r_.max_devices) {
      auto victim = std::find_if(ids_.begin(), ids_.end(), [&](std::uint64_t x) { return x != id; });
      out_.push_back(fmt::format("delete {}", *victim));
      ids_.erase(victim);
    }
    out_.push_back(fmt::format("snap {} {}", next_id_, id));
    ids_.push_back(next_id_++);
  }

  // Shrinks device `a` to a single-child root and removes again in the same transaction: the
  // root collapses into an unshared child. Then shrinks `b` the same way and shares it first: the
  // next remove collapses the root into a shared child.
  void trim_then_share(std::uint64_t a, std::uint64_t b) {
    // Fresh blocks at the end first, so that each tree has at least two levels to trim.
    out_.push_back(fmt::format("fill {} {} {} 1", a, hi_, hi_ + 1000));
    out_.push_back(fmt::format("trim {}", a));
    out_.push_back(fmt::format("unmapnext {} 0", a));
    out_.push_back(fmt::format("fill {} {} {} 1", b, hi_, hi_ + 1000));
    hi_ += 1000;
    out_.push_back(fmt::format("trim {}", b));
    out_.push_back("commit");
    snapshot_of(b);
    out_.push_back(fmt::format("unmapnext {} 0", b));
  }

  // Removal shapes: single removes, strided single removes, small / medium / large discards.
  void remove_range(std::uint64_t id) {
    switch (rng_.below(5)) {
      case 0:
        for (int i = 0; i < 6; ++i) out_.push_back(fmt::format("unmap {} {}", id, rng_.between(lo_, hi_)));
        break;
      case 1: {
        const std::uint64_t len = rng_.between(100, 6000);
        const std::uint64_t b = window_start(len);
        out_.push_back(fmt::format("punch {} {} {} {}", id, b, b + len, rng_.between(1, 4)));
        break;
      }
      case 2: {
        const std::uint64_t b = window_start(64);
        out_.push_back(fmt::format("discard {} {} {}", id, b, b + rng_.between(1, 64)));
        break;
      }
      case 3: {
        const std::uint64_t len = rng_.between(100, 3000);
        const std::uint64_t b = window_start(len);
        out_.push_back(fmt::format("discard {} {} {}", id, b, b + len));
        break;
      }
      default: {
        const std::uint64_t len = rng_.between(3000, 20000);
        const std::uint64_t b = window_start(len);
        out_.push_back(fmt::format("discard {} {} {}", id, b, b + len));
      }
    }
  }

  sim::Rng rng_;
  Regime r_;
  Steps out_;
  std::vector<std::uint64_t> ids_;
  std::uint64_t next_id_ = 0;
  std::uint64_t stride_ = 1, lo_ = 0, hi_ = 0;
};

// Data-space churn: a small data device filled and emptied again and again (in every fill order,
// with snapshots sharing some of it), so the allocator's cursor reaches the end and must wrap to
// the blocks freed behind it.
Steps generate_churn(std::uint64_t seed) {
  sim::Rng rng(sim::sub_seed(seed, "data_churn.steps"));
  Steps out{"create 0"};
  const char* shapes[] = {"fill", "rfill"};
  std::uint64_t next_id = 1;
  for (int round = 0; round < 8; ++round) {
    const std::uint64_t b = rng.below(100), e = b + rng.between(500, 900);
    if (rng.chance(1, 3)) out.push_back(fmt::format("sfill 0 {} {} 1 {}", b, e, rng.next()));
    else out.push_back(fmt::format("{} 0 {} {} 1", shapes[rng.below(2)], b, e));
    out.push_back("commit");
    if (rng.chance(1, 3)) {
      out.push_back(fmt::format("snap {} 0", next_id));
      out.push_back(fmt::format("fill {} {} {} 1", next_id, b, b + rng.between(10, 200)));
      out.push_back(fmt::format("delete {}", next_id++));
    }
    out.push_back(fmt::format("discard 0 {} {}", rng.below(50), 1000 - rng.below(50)));
    out.push_back("commit");
    if (rng.chance(1, 6)) out.push_back("reopen");
  }
  out.push_back("reopen");
  return out;
}

}  // namespace

std::vector<Scenario> tree_scenarios() {
  std::vector<Scenario> out;
  const Regime normal;
  out.push_back(thin_step_scenario(
      "tree_shapes",
      "Big mapping trees (6k-30k mappings grown up, down or shuffled), shared by snapshot chains, then shrunk in every "
      "shape beside shared and unshared nodes: single removes, strided removes, small to large range discards, "
      "drains to a single leaf, deletes of origins and snapshots in random order; inserts at both ends and in the "
      "middle, overwrites of shared regions; commits, I/O errors and power cuts between. Every commit, abort and "
      "reopen is checked by lookups of the model's keys and their neighbours as well as by a walk.",
      [normal](std::uint64_t seed) { return TreeGen(seed, normal).generate(); },
      {.metadata_blocks = 8192, .data_blocks = 400000}));
  out.back().required_marks = {
      "btree.split", "btree.split_beneath", "btree.split_two_into_three", "btree.split.shared_sibling",
      "btree.insert_redistribute", "btree.collapse.shared", "btree.collapse.unshared",
      "btree.rebalance2_merge.shared", "btree.rebalance2_merge.unshared", "btree.rebalance2_redistribute.shared",
      "btree.rebalance2_redistribute.unshared", "btree.rebalance3_merge.shared", "btree.rebalance3_merge.unshared",
      "btree.rebalance3_redistribute.shared", "btree.rebalance3_redistribute.unshared", "btree.remove_leaves",
      "btree.shadow_inc_children", "sm.overflow_insert", "sm.overflow_remove", "sm.alloc_enters_next_bitmap",
      "sm.count_last_entry_of_bitmap"};
  out.push_back(thin_step_scenario(
      "data_churn",
      "A 1200-block data device filled (up, down, shuffled) and emptied by discards eight times, with snapshots "
      "sharing part of it: the allocator must wrap to the blocks freed behind its cursor; running out of data "
      "space while the model leaves a block free in both the committed and the current transaction fails.",
      generate_churn, {.metadata_blocks = 1024, .data_blocks = 1200}));
  Regime heavy;
  heavy.initial_min = 45000;
  heavy.initial_max = 70000;
  heavy.rounds = 30;
  heavy.max_devices = 8;
  out.push_back(thin_step_scenario(
      "tree_swarm",
      "The tree shapes at swarm size: 45k-70k mappings in the first device (three node levels per device tree), up "
      "to eight devices; the same checks.",
      [heavy](std::uint64_t seed) { return TreeGen(seed, heavy).generate(); },
      {.metadata_blocks = 16384, .data_blocks = 1000000}));
  return out;
}

}  // namespace pdsim::scenarios
