// SPDX-License-Identifier: GPL-2.0-or-later
// Model-based properties of the simulator: SimDisk against a plain durable/pending model under
// random operations and power cuts; FaultPlan print/parse round trips for arbitrary plans; crash
// state counts against the formula for arbitrary pending sets.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>

#include "sim/crash_states.h"
#include "sim/sim_disk.h"

namespace pdsim::sim {
namespace {

Block block_of(std::uint8_t tag) {
  Block b;
  b.fill(tag);
  return b;
}

template <typename T>
rc::Gen<std::optional<T>> opt(rc::Gen<T> g) {
  return rc::gen::map(rc::gen::maybe(std::move(g)),
                      [](rc::Maybe<T> m) { return m ? std::optional<T>(*m) : std::optional<T>(); });
}

rc::Gen<Range> gen_range() {
  return rc::gen::apply(
      [](std::uint64_t lo, bool open, std::uint64_t span) {
        return open ? Range{lo, std::nullopt} : Range{lo, lo + span};
      },
      rc::gen::inRange<std::uint64_t>(0, 1000), rc::gen::arbitrary<bool>(), rc::gen::inRange<std::uint64_t>(0, 100));
}

rc::Gen<std::pair<std::uint64_t, std::uint64_t>> gen_ratio() {
  return rc::gen::mapcat(rc::gen::inRange<std::uint64_t>(1, 1000), [](std::uint64_t q) {
    return rc::gen::map(rc::gen::inRange<std::uint64_t>(0, q + 1), [q](std::uint64_t p) { return std::make_pair(p, q); });
  });
}

rc::Gen<FaultRule> gen_rule() {
  return rc::gen::mapcat(rc::gen::inRange(0, 7), [](int action_index) {
    auto action = static_cast<FaultAction>(action_index + 1);
    std::vector<std::optional<OpKind>> kinds;
    for (auto k : {OpKind::read, OpKind::write, OpKind::flush})
      if (action_applies(action, k)) kinds.emplace_back(k);
    if (action == FaultAction::error) kinds.emplace_back(std::nullopt);
    return rc::gen::apply(
        [action](std::optional<OpKind> kind, std::optional<std::uint64_t> nth, std::optional<Range> ops,
                 std::optional<Range> blocks, std::optional<std::pair<std::uint64_t, std::uint64_t>> p,
                 std::optional<std::pair<std::uint64_t, std::uint64_t>> flakey, std::int64_t param) {
          FaultRule r;
          r.selector.kind = kind;
          r.selector.nth = nth;
          r.selector.ops = ops;
          if (kind != OpKind::flush) r.selector.blocks = blocks;
          r.selector.probability = p;
          r.selector.flakey = flakey;
          r.action = action;
          if (action == FaultAction::flip || action == FaultAction::rot) r.param = 1 + std::abs(param) % 64;
          if (action == FaultAction::misdirect) r.param = param == 0 ? 1 : param;
          return r;
        },
        rc::gen::elementOf(kinds), opt(rc::gen::inRange<std::uint64_t>(1, 100000)),
        opt(gen_range()), opt(gen_range()), opt(gen_ratio()), opt(gen_ratio()), rc::gen::inRange<std::int64_t>(-1000, 1000));
  });
}

RC_GTEST_PROP(FaultPlanProperty, PrintParseRoundTrip, ()) {
  auto rules = *rc::gen::container<std::vector<FaultRule>>(gen_rule());
  FaultPlan plan(rules);
  auto back = FaultPlan::parse(plan.to_string());
  RC_ASSERT(back.ok());
  RC_ASSERT(*back == plan);
  RC_ASSERT(back->to_string() == plan.to_string());
}

// Operations for the model test.
struct Op {
  int kind;  // 0 write, 1 fua write, 2 read, 3 flush, 4 power cut
  BlockNr block;
  std::uint8_t tag;
  int policy;
};

RC_GTEST_PROP(SimDiskProperty, MatchesADurablePendingModel, ()) {
  const BlockNr n = *rc::gen::inRange<BlockNr>(1, 16);
  auto ops = *rc::gen::container<std::vector<Op>>(rc::gen::apply(
      [](int k, BlockNr b, std::uint8_t t, int p) { return Op{k, b, t, p}; }, rc::gen::inRange(0, 5),
      rc::gen::inRange<BlockNr>(0, 16), rc::gen::arbitrary<std::uint8_t>(), rc::gen::inRange(0, 2)));
  SimDisk disk(n, *rc::gen::arbitrary<std::uint64_t>());
  std::map<BlockNr, std::uint8_t> durable;
  std::vector<std::pair<BlockNr, std::uint8_t>> pending;
  auto expect_durable = [&] {
    for (BlockNr b = 0; b < n; ++b) {
      Block got;
      disk.durable().read(b, BlockSpan(got));
      auto it = durable.find(b);
      RC_ASSERT(got == (it == durable.end() ? Block{} : block_of(it->second)));
    }
  };
  for (const auto& op : ops) {
    BlockNr b = op.block % n;
    switch (op.kind) {
      case 0:
        RC_ASSERT(disk.write(b, ConstBlockSpan(block_of(op.tag))).ok());
        pending.emplace_back(b, op.tag);
        break;
      case 1:
        RC_ASSERT(disk.write(b, ConstBlockSpan(block_of(op.tag)), WriteMode::fua).ok());
        durable[b] = op.tag;
        std::erase_if(pending, [&](const auto& p) { return p.first == b; });
        break;
      case 2: {
        Block got;
        RC_ASSERT(disk.read(b, BlockSpan(got)).ok());
        std::optional<std::uint8_t> want;
        for (auto& [pb, t] : pending)
          if (pb == b) want = t;
        if (!want && durable.count(b)) want = durable[b];
        RC_ASSERT(got == (want ? block_of(*want) : Block{}));
        break;
      }
      case 3:
        RC_ASSERT(disk.flush().ok());
        for (auto& [pb, t] : pending) durable[pb] = t;
        pending.clear();
        expect_durable();
        break;
      default: {
        // none or all: fully predictable outcomes
        bool all = op.policy == 1;
        disk.power_cut(all ? PowerCutPolicy::all : PowerCutPolicy::none);
        if (all)
          for (auto& [pb, t] : pending) durable[pb] = t;
        pending.clear();
        expect_durable();
        break;
      }
    }
  }
  RC_ASSERT(disk.pending().size() == pending.size());
  auto replay = disk.log().replay(disk.log().size());
  RC_ASSERT(replay.durable.same_content(disk.durable()));
}

RC_GTEST_PROP(CrashStatesProperty, CountMatchesFormulaForAnyPendingSet, ()) {
  const std::size_t p = *rc::gen::inRange<std::size_t>(0, 12);
  const std::size_t k = *rc::gen::inRange<std::size_t>(0, 4);
  const bool torn = *rc::gen::arbitrary<bool>();
  SimDisk disk(32, 1);
  for (std::size_t i = 0; i < p; ++i)
    RC_ASSERT(disk.write(*rc::gen::inRange<BlockNr>(0, 32), ConstBlockSpan(block_of(static_cast<std::uint8_t>(i)))).ok());
  RC_ASSERT(disk.flush().ok());
  CrashStateOptions o{.max_subset = k, .torn = torn};
  CrashStates cs(disk.log(), o);
  std::uint64_t at_flush = 0;
  std::uint64_t total = 0;
  while (auto s = cs.next()) {
    ++total;
    if (s->after_entries == p + 1) ++at_flush;
  }
  std::uint64_t want_total = 0;
  for (std::size_t i = 1; i <= p; ++i) want_total += CrashStates::states_at(i, o);
  RC_ASSERT(at_flush == 1u);  // after the flush nothing is pending: only the durable image
  RC_ASSERT(total == want_total + 1);
}

}  // namespace
}  // namespace pdsim::sim
