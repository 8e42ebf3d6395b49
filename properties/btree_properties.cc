// SPDX-License-Identifier: GPL-2.0-or-later
// Model-based properties of the btree: random inserts (single keys and long sequential runs),
// removes (present and absent keys), remove_leaves, lookups, lookup_next, snapshots (a second
// reference to a root, then both copies evolve separately), tree deletes, commits and aborts,
// against std::map models, for single-level and 2-level trees with 8- and 16-byte values.
// Reference counts are exact at every check (space map counts against a census of the live
// trees, "data" counts against the values in live leaves), and deleting every live tree at the
// end brings every count back to zero: no leak, no double free.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <set>

#include "testing/btree_test_util.h"

namespace pdsim::btree {
namespace {

using testing::Census;
using testing::DataRefs;
using testing::Env;
using testing::TreeContents;
using testing::value_of;

using Sub = std::map<std::uint64_t, std::uint64_t>;  // last-level key -> data id
using Model = std::map<std::uint64_t, Sub>;          // upper key -> subtree (single level: key 0)

struct Tree {
  BlockNr root;
  Model model;
};

enum OpKind : int {
  kInsert,
  kInsertRun,
  kRemovePresent,
  kRemoveAbsent,
  kRemoveLeaves,
  kRemoveRun,
  kLookup,
  kLookupNext,
  kSnapshot,
  kDropTree,
  kCommit,
  kCheck,
  kOpKinds
};

struct Op {
  int kind;
  std::uint64_t a, b, c, d;
};

rc::Gen<Op> gen_op() {
  return rc::gen::apply(
      [](int kind, std::uint64_t a, std::uint64_t b, std::uint64_t c, std::uint64_t d) { return Op{kind, a, b, c, d}; },
      rc::gen::weightedElement<int>({{10, kInsert},
                                     {3, kInsertRun},
                                     {10, kRemovePresent},
                                     {1, kRemoveAbsent},
                                     {3, kRemoveLeaves},
                                     {3, kRemoveRun},
                                     {5, kLookup},
                                     {5, kLookupNext},
                                     {2, kSnapshot},
                                     {1, kDropTree},
                                     {3, kCommit},
                                     {1, kCheck}}),
      rc::gen::arbitrary<std::uint64_t>(), rc::gen::arbitrary<std::uint64_t>(), rc::gen::arbitrary<std::uint64_t>(),
      rc::gen::arbitrary<std::uint64_t>());
}

constexpr std::uint64_t kKeySpace = 6000;
constexpr std::uint64_t kUpperKeys = 6;
constexpr std::size_t kMaxTrees = 4;

class Runner {
 public:
  Runner(unsigned levels, std::uint32_t vs, const std::string& equal) : env_(16384, 7) {
    info_ = Info{&env_.tm, levels, refs_.type(vs, equal)};
    auto root = create_empty(info_);
    RC_ASSERT(root.ok());
    trees_.push_back(Tree{*root, {}});
    commit();
  }

  void run(const std::vector<Op>& ops) {
    for (const Op& op : ops) apply(op);
    check_all();
    // Coverage: how deep the trees got, and whether snapshots and aborts happened.
    std::size_t depth = 0, entries = 0;
    for (const Tree& t : trees_) {
      for (const auto& [upper, sub] : t.model) entries += sub.size();
      std::vector<BlockNr> roots{t.root};
      if (multi()) {
        // The upper level's values are the subtree roots.
        Info upper{&env_.tm, 1, plain_value_type(8)};  // upper-level leaves hold u64 subtree roots
        RC_ASSERT(walk(upper, t.root, [&](std::uint64_t, ValueSpan v) -> Result<bool> {
                    roots.push_back(testing::id_of(v));
                    return true;
                  }).ok());
      }
      for (BlockNr r : roots) {
        auto sh = testing::shape(env_.tm, r);
        RC_ASSERT(sh.ok());
        depth = std::max(depth, sh->size());
      }
    }
    RC_CLASSIFY(depth >= 3, "a tree of >= 3 node levels");
    RC_CLASSIFY(depth == 2, "a tree of 2 node levels");
    RC_CLASSIFY(entries >= 2000, ">= 2000 entries");
    RC_CLASSIFY(trees_.size() > 1, "snapshots live");
    RC_CLASSIFY(aborts_ > 0, "aborted");
    // Delete every live tree: all counts must return to zero.
    for (const Tree& t : trees_) {
      Status s = del(info_, t.root);
      RC_ASSERT(s.ok());
    }
    trees_.clear();
    RC_ASSERT(env_.sm.dec(0).ok());  // the superblock's reserved reference
    for (std::size_t b = 0; b < env_.sm.counts().size(); ++b) RC_ASSERT(env_.sm.counts()[b] == 0u);
    RC_ASSERT(refs_.counts.empty());
  }

 private:
  bool multi() const { return info_.levels == 2; }
  std::vector<std::uint64_t> keys(std::uint64_t upper, std::uint64_t k) const {
    return multi() ? std::vector<std::uint64_t>{upper, k} : std::vector<std::uint64_t>{k};
  }
  std::uint64_t upper_of(std::uint64_t x) const { return multi() ? x % kUpperKeys * 10 : 0; }

  void commit() {
    RC_ASSERT(env_.commit().ok());
    committed_trees_ = trees_;
    committed_refs_ = refs_.counts;
  }
  // A failed operation leaves the transaction inconsistent: roll everything back.
  void abort() {
    env_.tm.abort();
    env_.sm.rollback();
    trees_ = committed_trees_;
    refs_.counts = committed_refs_;
    ++aborts_;
  }

  void insert_one(Tree& t, std::uint64_t upper, std::uint64_t k, bool reuse_id) {
    Sub& sub = t.model[upper];
    auto it = sub.find(k);
    std::uint64_t id;
    if (reuse_id && it != sub.end()) {
      id = it->second;  // equal value: the tree keeps its reference and we keep ours
    } else {
      id = next_id_++;
      ++refs_.counts[id];  // our reference moves into the tree
    }
    auto r = insert(info_, t.root, keys(upper, k), value_of(id, info_.value_type.size));
    RC_ASSERT(r.ok());
    RC_ASSERT(r->inserted == (it == sub.end()));
    if (reuse_id && it != sub.end() && !info_.value_type.equal) {
      // Without equal the tree dec'ed the old value, which is the same id: give it back.
      ++refs_.counts[id];
    }
    t.root = r->root;
    sub[k] = id;
  }

  void apply(const Op& op) {
    Tree& t = trees_[op.a % trees_.size()];
    const std::uint64_t upper = upper_of(op.b);
    switch (op.kind) {
      case kInsert:
        insert_one(t, upper, op.c % kKeySpace, op.d % 4 == 0);
        break;
      case kInsertRun: {
        // Long ascending or descending runs make trees of several levels.
        const std::uint64_t len = 1 + op.d % 2500;
        const std::uint64_t step = 1 + (op.d >> 16) % 4 / 3;  // mostly contiguous runs
        const std::uint64_t start = op.c % kKeySpace;
        const bool down = (op.d >> 20) % 2 == 0;
        for (std::uint64_t i = 0; i < len; ++i) {
          const std::uint64_t k = down ? start + (len - 1 - i) * step : start + i * step;
          insert_one(t, upper, k, false);
        }
        break;
      }
      case kRemovePresent: {
        auto sub_it = t.model.find(upper);
        if (sub_it == t.model.end() || sub_it->second.empty()) break;
        auto it = std::next(sub_it->second.begin(), static_cast<long>(op.c % sub_it->second.size()));
        const std::uint64_t k = it->first;
        auto r = remove(info_, t.root, keys(upper, k));
        RC_ASSERT(r.ok());
        t.root = *r;
        sub_it->second.erase(it);  // the tree dec'ed the value
        break;
      }
      case kRemoveRun: {
        // Many removes in one region: merges, centre deletes and collapses, at every node level.
        auto sub_it = t.model.find(upper);
        if (sub_it == t.model.end() || sub_it->second.empty()) break;
        Sub& sub = sub_it->second;
        auto it = std::next(sub.begin(), static_cast<long>(op.c % sub.size()));
        for (std::uint64_t n = 1 + op.d % 2500; n > 0 && it != sub.end(); --n) {
          auto r = remove(info_, t.root, keys(upper, it->first));
          RC_ASSERT(r.ok());
          t.root = *r;
          it = sub.erase(it);
        }
        break;
      }
      case kRemoveAbsent: {
        const std::uint64_t k = op.c % (kKeySpace + 100);
        auto sub_it = t.model.find(upper);
        if (sub_it != t.model.end() && sub_it->second.count(k)) break;
        auto r = remove(info_, t.root, keys(upper, k));
        RC_ASSERT(!r.ok());
        RC_ASSERT(r.error().kind() == ErrorKind::no_data);
        abort();
        break;
      }
      case kRemoveLeaves: {
        const std::uint64_t k = op.c % kKeySpace;
        const std::uint64_t end = k + op.d % 3000;
        auto r = remove_leaves(info_, t.root, keys(upper, k), end);
        RC_ASSERT(r.ok());
        t.root = r->root;
        auto sub_it = t.model.find(upper);
        if (sub_it == t.model.end()) {
          RC_ASSERT(r->removed == 0u);
          break;
        }
        Sub& sub = sub_it->second;
        // It removes the first `removed` model keys >= k, all below end; it must not stop at a
        // key that directly follows the last removed one, nor before k itself when k is present.
        auto it = sub.lower_bound(k);
        std::optional<std::uint64_t> last;
        for (std::uint64_t n = 0; n < r->removed; ++n) {
          RC_ASSERT(it != sub.end());
          RC_ASSERT(it->first < end);
          last = it->first;
          it = sub.erase(it);
        }
        if (!last) RC_ASSERT(!(sub.count(k) && k < end));
        else RC_ASSERT(!(it != sub.end() && it->first == *last + 1 && it->first < end));
        check_tree_contents(t);
        break;
      }
      case kLookup: {
        const std::uint64_t k = op.c % kKeySpace;
        auto r = lookup(info_, t.root, keys(upper, k));
        RC_ASSERT(r.ok());
        auto sub_it = t.model.find(upper);
        const bool present = sub_it != t.model.end() && sub_it->second.count(k);
        RC_ASSERT(r->has_value() == present);
        if (present) RC_ASSERT(**r == value_of(sub_it->second.at(k), info_.value_type.size));
        break;
      }
      case kLookupNext: {
        const std::uint64_t k = op.c % (kKeySpace + 100);
        auto r = lookup_next(info_, t.root, keys(upper, k));
        RC_ASSERT(r.ok());
        auto sub_it = t.model.find(upper);
        std::optional<std::pair<std::uint64_t, std::uint64_t>> want;
        if (sub_it != t.model.end()) {
          auto it = sub_it->second.lower_bound(k);
          if (it != sub_it->second.end()) want = *it;
        }
        RC_ASSERT(r->has_value() == want.has_value());
        if (want) {
          RC_ASSERT((*r)->key == want->first);
          RC_ASSERT((*r)->value == value_of(want->second, info_.value_type.size));
        }
        break;
      }
      case kSnapshot: {
        if (trees_.size() >= kMaxTrees) break;
        RC_ASSERT(env_.tm.inc(t.root).ok());
        Tree copy = t;  // `t` may dangle after the push_back
        trees_.push_back(std::move(copy));
        break;
      }
      case kDropTree: {
        if (trees_.size() < 2) break;
        const std::size_t i = op.a % trees_.size();
        RC_ASSERT(del(info_, trees_[i].root).ok());
        trees_.erase(trees_.begin() + static_cast<long>(i));
        break;
      }
      case kCommit:
        commit();
        break;
      case kCheck:
        check_all();
        break;
      default:
        RC_FAIL("unknown op");
    }
  }

  // The tree's structure is valid and its entries are exactly the model's.
  void check_tree_contents(const Tree& t) {
    TreeContents contents;
    Status s = testing::check_tree(env_.tm, info_, t.root, contents);
    RC_ASSERT(s.ok());
    std::vector<std::pair<std::vector<std::uint64_t>, Value>> want;
    for (const auto& [upper, sub] : t.model)
      for (const auto& [k, id] : sub) want.emplace_back(keys(upper, k), value_of(id, info_.value_type.size));
    RC_ASSERT(contents.entries == want);
    if (multi()) {
      // Upper keys stay even when their subtree is empty.
      auto low = find_lowest(info_, t.root);
      RC_ASSERT(low.ok());
      if (t.model.empty()) RC_ASSERT(low->empty());
      else RC_ASSERT(low->front() == t.model.begin()->first);
    }
  }

  void check_all() {
    Census c;
    std::set<BlockNr> visited;
    for (const Tree& t : trees_) {
      check_tree_contents(t);
      RC_ASSERT(testing::census_add(env_.tm, info_, t.root, c, visited).ok());
    }
    RC_ASSERT(testing::compare_counts(env_.sm, c) == "");
    RC_ASSERT(testing::compare_data(refs_, c) == "");
    // Every node reads back from the disk through a fresh block manager and the validator.
    commit();
    RC_ASSERT(testing::check_on_disk(env_.disk, c).ok());
  }

  Env env_;
  DataRefs refs_;
  Info info_;
  std::vector<Tree> trees_;
  std::vector<Tree> committed_trees_;
  std::map<std::uint64_t, std::uint32_t> committed_refs_;
  std::uint64_t next_id_ = 1;
  int aborts_ = 0;
};

void run_property(unsigned levels, std::uint32_t vs, const std::string& equal) {
  const auto ops = *rc::gen::resize(40, rc::gen::container<std::vector<Op>>(gen_op()));
  Runner r(levels, vs, equal);
  r.run(ops);
}

RC_GTEST_PROP(BtreeProperty, SingleLevel8MatchesModel, ()) { run_property(1, 8, "bytes"); }
RC_GTEST_PROP(BtreeProperty, SingleLevel16MatchesModel, ()) { run_property(1, 16, "id"); }
RC_GTEST_PROP(BtreeProperty, TwoLevel8MatchesModel, ()) { run_property(2, 8, "bytes"); }
RC_GTEST_PROP(BtreeProperty, TwoLevel16MatchesModel, ()) { run_property(2, 16, "none"); }

}  // namespace
}  // namespace pdsim::btree
