// SPDX-License-Identifier: GPL-2.0-or-later
#include "scenarios/thin/thin_steps.h"

#include <algorithm>
#include <numeric>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "scenarios/harness/disk_trace.h"

namespace pdsim::scenarios {

std::string random_fault_plan(sim::Rng& rng) {
  switch (rng.below(5)) {
    case 0: return fmt::format("any p=1/{} -> error", rng.between(20, 200));
    case 1: return fmt::format("write p=1/{} -> error", rng.between(10, 100));
    case 2: return fmt::format("flush p=1/{} -> error", rng.between(2, 10));
    case 3: return fmt::format("read p=1/{} -> rot=1", rng.between(20, 200));
    default: return "none";
  }
}

namespace {

// Whether the pool can take the next block operation of a multi-block step: a failed or
// degraded pool ends the step (the step loop then handles an abort).
bool keep_going(PoolHarness& h, const Status& s) {
  return s && !h.failed() && !h.stopped() && h.has_pool() && h.mode() == thin::PoolMode::write;
}

// fill / rfill / sfill: writes every S-th block of [B, E) in the order the step names.
Status fill(PoolHarness& h, const std::string& op, std::istringstream& in) {
  std::uint64_t id = 0, b = 0, e = 0, stride = 1, key = 0;
  in >> id >> b >> e >> stride;
  if (op == "sfill") in >> key;
  if (stride == 0) stride = 1;
  const std::uint64_t n = e > b ? (e - b + stride - 1) / stride : 0;
  std::vector<std::uint64_t> order(n);
  std::iota(order.begin(), order.end(), std::uint64_t{0});
  if (op == "rfill") std::reverse(order.begin(), order.end());
  if (op == "sfill") {
    sim::Rng rng(key);
    rng.shuffle(std::span<std::uint64_t>(order));
  }
  Status s;
  for (const std::uint64_t i : order) {
    s = h.write(id, b + i * stride);
    if (!keep_going(h, s)) break;
  }
  return s;
}

// punch: a single remove of every S-th mapped block of [B, E) (by position among the mapped
// ones), as the model sees them before the step.
Status punch(PoolHarness& h, std::istringstream& in) {
  std::uint64_t id = 0, b = 0, e = 0, stride = 1;
  in >> id >> b >> e >> stride;
  if (stride == 0) stride = 1;
  std::vector<std::uint64_t> victims;
  const auto& maps = h.model().devices.at(id);
  std::uint64_t pos = 0;
  for (auto it = maps.lower_bound(b); it != maps.end() && it->first < e; ++it, ++pos)
    if (pos % stride == 0) victims.push_back(it->first);
  Status s;
  for (const std::uint64_t v : victims) {
    s = h.unmap(id, v);
    if (!keep_going(h, s)) break;
  }
  return s;
}

// trim: single removes from the top of the device until its mapping tree's root has exactly one
// child (the state a later remove collapses), or nothing is left. The fan-out is read with
// faults off: steering is not part of the workload.
Status trim(PoolHarness& h, std::uint64_t id) {
  Status s;
  for (;;) {
    const auto& maps = h.model().devices.at(id);
    if (maps.empty()) return s;
    seam::ThinTreeShape* shape = h.pool().metadata().tree_shape();
    if (shape == nullptr) return s;  // an engine that cannot tell: no steering
    auto fanout = [&] {
      sim::PausedPlan paused(h.disk());
      return shape->mapping_root_fanout(id);
    }();
    if (!fanout) {
      h.fail(fmt::format("trim: reading thin {}'s mapping root: {}", id, fanout.error().to_string()));
      return s;
    }
    if (*fanout <= 1) return s;
    s = h.unmap(id, maps.rbegin()->first);
    if (!keep_going(h, s)) return s;
  }
}

// squeeze: with A the first mapped block at or after V, single removes of other blocks in A's
// leaf until that leaf and its siblings hold just fewer entries than the remove path's merge
// threshold (2 * (max/3 + 1) for a pair, 4 * (max/3) + 1 for three): every remove rebalances
// first, so this state is only ever left behind by the last remove of a transaction. A later
// remove of A then merges (after a snapshot: merges shared nodes).
Status squeeze(PoolHarness& h, std::uint64_t id, std::uint64_t v) {
  Status s;
  for (int guard = 0; guard < 1000; ++guard) {
    const auto& maps = h.model().devices.at(id);
    auto anchor = maps.lower_bound(v);
    if (anchor == maps.end()) return s;
    seam::ThinTreeShape* shape = h.pool().metadata().tree_shape();
    if (shape == nullptr) return s;  // an engine that cannot tell: no steering
    auto nb = [&] {
      sim::PausedPlan paused(h.disk());
      return shape->mapping_leaf_neighbourhood(id, anchor->first);
    }();
    if (!nb) {
      h.fail(fmt::format("squeeze: reading thin {}'s mapping tree: {}", id, nb.error().to_string()));
      return s;
    }
    if (nb->counts.size() < 2) return s;
    std::uint64_t total = 0;
    for (const auto c : nb->counts) total += c;
    const std::uint64_t third = nb->max_entries / 3;
    const std::uint64_t threshold = nb->counts.size() == 3 ? 4 * third + 1 : 2 * (third + 1);
    if (total < threshold) return s;
    // Another block of the same leaf: its last one, or its first when the anchor is the last.
    const std::uint64_t victim = nb->last_key != anchor->first ? nb->last_key : nb->first_key;
    if (victim == anchor->first || maps.count(victim) == 0) return s;
    s = h.unmap(id, victim);
    if (!keep_going(h, s)) return s;
  }
  return s;
}

// unmapnext: a single remove of the first mapped block at or after V.
Status unmap_next(PoolHarness& h, std::uint64_t id, std::uint64_t v) {
  const auto& maps = h.model().devices.at(id);
  auto it = maps.lower_bound(v);
  if (it == maps.end()) return {};
  return h.unmap(id, it->first);
}

}  // namespace

SeedOutcome replay_thin_steps(const char* name, std::uint64_t seed, const Steps& steps, const RunOptions& opts,
                              std::ostream& trace, HarnessConfig cfg) {
  PoolHarness h(name, seed, cfg, opts);
  if (!h.start()) return h.outcome(name);
  std::uint64_t aborts = 0;
  std::size_t traced = 0;  // write-log entries printed so far (--trace)
  for (std::size_t i = 0; i < steps.size() && !h.failed() && !h.stopped(); ++i) {
    if (opts.trace) trace_disk(h.disk(), traced, trace);
    const std::uint64_t moves_before = h.commit_moves();
    std::istringstream in(steps[i]);
    std::string op;
    in >> op;
    std::uint64_t a = 0, b = 0, c = 0;
    Status s;
    const bool exists = [&] {
      std::istringstream peek(steps[i]);
      std::string o;
      std::uint64_t id = 0;
      peek >> o >> id;
      return h.model().devices.count(id) != 0;
    }();
    if (opts.trace) trace << fmt::format("  step {}: {}\n", i, steps[i]);
    if (op == "create") { in >> a; s = h.create_thin(a); }
    else if (op == "snap") { in >> a >> b; s = h.snapshot(a, b); }
    else if (op == "delete") { in >> a; s = h.delete_thin(a); }
    else if (op == "write") { in >> a >> b; if (exists) s = h.write(a, b); }
    else if (op == "read") { in >> a >> b; if (exists) s = h.read(a, b); }
    else if (op == "discard") { in >> a >> b >> c; if (exists) s = h.discard(a, b, c); }
    else if (op == "unmap") {
      in >> a >> b;
      if (exists && h.model().devices.at(a).count(b) != 0) s = h.unmap(a, b);
    }
    else if (op == "fill" || op == "rfill" || op == "sfill") { if (exists) s = fill(h, op, in); }
    else if (op == "punch") { if (exists) s = punch(h, in); }
    else if (op == "squeeze") { in >> a >> b; if (exists && h.mode() == thin::PoolMode::write) s = squeeze(h, a, b); }
    else if (op == "unmapnext") { in >> a >> b; if (exists) s = unmap_next(h, a, b); }
    else if (op == "trim") { in >> a; if (exists && h.mode() == thin::PoolMode::write) s = trim(h, a); }
    else if (op == "commit") { s = h.commit(); }
    else if (op == "cut") {
      std::string p;
      in >> p;
      auto policy = sim::parse_power_cut_policy(p);
      if (!policy) { h.fail(fmt::format("step {}: {}", i, policy.error().to_string())); break; }
      h.power_cut(*policy);
    } else if (op == "reopen") { h.teardown_and_reopen("a teardown"); }
    else if (op == "plan") {
      std::string line;
      std::getline(in, line);
      auto plan = sim::FaultPlan::parse(line);
      if (!plan) { h.fail(fmt::format("step {}: {}", i, plan.error().to_string())); break; }
      h.disk().set_plan(*plan);
    } else { h.fail(fmt::format("step {}: unknown step '{}'", i, steps[i])); break; }
    if (opts.trace && !s) trace << fmt::format("    result: {}\n", s.error().to_string());
    if (opts.trace && h.commit_moves() != moves_before) trace << fmt::format("    pool: {}\n", h.last_commit_move());
    if (!s && h.has_pool()) {
      const thin::PoolMode m = h.pool().mode();
      // An aborted transaction: as dmtest does, tear down, check and re-activate (faults off).
      if (m == thin::PoolMode::read_only || m == thin::PoolMode::fail) {
        ++aborts;
        if (opts.trace) trace << fmt::format("    pool {}: aborted; teardown, check, repair and reopen\n", thin::to_string(m));
        h.teardown_and_reopen("an aborted transaction");
        h.repair();
      }
    }
  }
  if (opts.trace) trace_disk(h.disk(), traced, trace);
  return h.outcome(fmt::format("{} steps, {} aborts", steps.size(), aborts));
}

Scenario thin_step_scenario(const char* name, const char* description, std::function<Steps(std::uint64_t seed)> generate,
                            HarnessConfig cfg) {
  auto replay = [name, cfg](std::uint64_t seed, const Steps& steps, const RunOptions& o, std::ostream& t) {
    return replay_thin_steps(name, seed, steps, o, t, cfg);
  };
  Scenario s;
  s.name = name;
  s.description = description;
  s.generate = generate;
  s.replay = replay;
  s.grammar = thin_step_grammar();
  s.run = [generate, replay](std::uint64_t seed, const RunOptions& o, std::ostream& t) {
    return replay(seed, generate(seed), o, t);
  };
  return s;
}

}  // namespace pdsim::scenarios
