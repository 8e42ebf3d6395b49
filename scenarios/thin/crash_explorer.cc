// SPDX-License-Identifier: GPL-2.0-or-later
#include "scenarios/thin/crash_explorer.h"

#include <algorithm>
#include <chrono>
#include <optional>

#include <fmt/format.h>

#include "core/check/thin_input.h"
#include "core/io/forwarding_device.h"
#include "core/thin/pool_metadata.h"
#include "scenarios/harness/pool_harness.h"
#include "sim/crash_states.h"
#include "sim/sim_disk.h"

namespace pdsim::scenarios {
namespace {

struct CommitPoint {
  std::size_t start;  // log entries before the commit began
  std::size_t end;    // log entries when it returned
  PoolState state;
};

// The engine behind the seam: the run's (RunOptions), else ours.
seam::ThinEngine& engine_of(const RunOptions& opts) {
  return opts.thin_engine != nullptr ? *opts.thin_engine : thin::pdsim_thin_engine();
}

// A small workload straight on the thin metadata (no pool target): a few transactions of creates,
// snapshots, inserts, removes and deletes, each ended by a commit whose log span is recorded.
Status workload(seam::ThinEngine& engine, sim::SimDisk& disk, std::uint64_t seed, std::vector<CommitPoint>& commits,
                std::uint64_t& ops) {
  sim::Rng rng(sim::sub_seed(seed, "crash_explorer.workload"));
  const std::size_t before_format = disk.log().size();
  PDSIM_TRY_ASSIGN(auto md, engine.format(disk, 128, thin::PoolMetadata::kDefaultCacheBlocks));
  PDSIM_TRY(md->resize_data(2000));
  PDSIM_TRY(md->commit());
  commits.push_back({before_format, disk.log().size(), PoolState{}});
  PoolState model;
  std::uint64_t next_id = 0;
  const std::uint64_t rounds = 3 + rng.below(3);
  for (std::uint64_t r = 0; r < rounds; ++r) {
    const std::uint64_t n = 5 + rng.below(30);
    // As in the kernel, a device's details reach the details tree only at commit, so one created
    // in this transaction cannot be deleted before it (dm-thin commits after every message).
    const std::uint64_t first_new = next_id;
    for (std::uint64_t i = 0; i < n; ++i, ++ops) {
      const auto dice = rng.below(100);
      if (model.devices.empty() || dice < 8) {
        PDSIM_TRY(md->create_thin(next_id));
        model.devices[next_id++];
      } else if (dice < 14) {
        const std::uint64_t origin = std::next(model.devices.begin(), static_cast<long>(rng.below(model.devices.size())))->first;
        PDSIM_TRY(md->create_snapshot(next_id, origin));
        model.devices[next_id++] = model.devices[origin];
      } else if (dice < 18 && model.devices.size() > 1 && model.devices.begin()->first < first_new) {
        const std::uint64_t id = model.devices.begin()->first;
        PDSIM_TRY(md->delete_device(id));
        model.devices.erase(id);
      } else if (dice < 28) {
        auto& [id, maps] = *std::next(model.devices.begin(), static_cast<long>(rng.below(model.devices.size())));
        if (maps.empty()) continue;
        const std::uint64_t v = std::next(maps.begin(), static_cast<long>(rng.below(maps.size())))->first;
        PDSIM_TRY(md->remove_mapping(id, v));
        maps.erase(v);
      } else {
        auto& [id, maps] = *std::next(model.devices.begin(), static_cast<long>(rng.below(model.devices.size())));
        PDSIM_TRY_ASSIGN(auto b, md->alloc_data_block());
        if (!b) continue;
        const std::uint64_t v = rng.below(400);
        PDSIM_TRY(md->insert_mapping(id, v, *b));
        maps[v] = *b;
      }
    }
    const std::size_t start = disk.log().size();
    PDSIM_TRY(md->commit());
    commits.push_back({start, disk.log().size(), model});
  }
  return {};
}

// Records which blocks are read through it.
class ReadSetDevice final : public ForwardingDevice {
 public:
  using ForwardingDevice::ForwardingDevice;
  [[nodiscard]] Status read(BlockNr b, BlockSpan out) override {
    reads_.push_back(b);
    return ForwardingDevice::read(b, out);
  }
  // Sorted, without repeats.
  [[nodiscard]] std::vector<BlockNr> reads() {
    std::sort(reads_.begin(), reads_.end());
    reads_.erase(std::unique(reads_.begin(), reads_.end()), reads_.end());
    return reads_;
  }

 private:
  std::vector<BlockNr> reads_;
};

// What opening, reading and checking one image gives, and which blocks that read.
struct Verdict {
  std::optional<Error> open_error;
  std::optional<std::string> read_error;
  PoolState state;
  std::string checker;  // "" when the checker is clean
  std::vector<BlockNr> reads;
};

template <typename F>
auto timed(double* into, F&& f) {
  if (into == nullptr) return f();
  const auto t0 = std::chrono::steady_clock::now();
  auto r = f();
  *into += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

Verdict evaluate(seam::ThinEngine& engine, const sim::Image& image, CrashExplorerTimes* times) {
  Verdict v;
  sim::ImageDevice base(image);
  ReadSetDevice dev(base);
  auto md = timed(times ? &times->open : nullptr,
                  [&] { return engine.open(dev, std::nullopt, /*read_only=*/true, thin::PoolMetadata::kDefaultCacheBlocks); });
  if (!md) {
    v.open_error = md.error();
  } else if (auto state = timed(times ? &times->read : nullptr, [&] { return read_pool_state(**md); }); !state) {
    v.read_error = state.error().to_string();
  } else {
    v.state = std::move(state).value();
    auto rep = timed(times ? &times->check : nullptr, [&] { return check::check_thin(dev); });
    if (!rep) {
      v.checker = rep.error().to_string();
    } else if (!rep->clean()) {
      for (const auto& p : rep->problems) v.checker += "; " + check::to_string(p);
    }
  }
  v.reads = dev.reads();
  return v;
}

}  // namespace

SeedOutcome explore_crash_states(std::uint64_t seed, const RunOptions& opts, const CrashExplorerOptions& xopts,
                                 std::ostream& trace) {
  SeedOutcome out;
  sim::SimDisk disk(512, sim::sub_seed(seed, "disk"));
  std::vector<CommitPoint> commits;
  std::uint64_t ops = 0;
  seam::ThinEngine& engine = engine_of(opts);
  if (Status s = workload(engine, disk, seed, commits, ops); !s) {
    out.passed = false;
    out.failures.push_back(fmt::format("seed {}: workload: {}", seed, s.error().to_string()));
    return out;
  }
  CrashExplorerTimes* times = xopts.times;
  sim::CrashStateOptions copts;
  copts.max_subset = 2;
  copts.torn = true;
  copts.max_states_per_point = 48;
  copts.seed = seed;
  sim::CrashStates states(disk.log(), copts);
  std::uint64_t checked = 0, skipped = 0, in_flight_seen = 0, detected = 0;
  // The durable image's verdict, for the states of its points. A state whose changed blocks that
  // verdict's open, read and check never read gives the same verdict: the same code reads the
  // same bytes. Most states are such (a transaction's new blocks, not yet referenced by the
  // durable superblock), so they cost a set lookup instead of an open and a check.
  std::optional<Verdict> durable;
  std::uint64_t durable_version = 0;
  while (true) {
    auto st = timed(times ? &times->build : nullptr, [&] { return states.next(); });
    if (!st) break;
    const std::size_t n = st->after_entries;
    if (n < commits.front().end) {  // before the format was durable: nothing to hold yet
      ++skipped;
      continue;
    }
    std::size_t done = 0;
    while (done + 1 < commits.size() && commits[done + 1].end <= n) ++done;
    const CommitPoint* flight = done + 1 < commits.size() && commits[done + 1].start <= n ? &commits[done + 1] : nullptr;
    auto fail = [&](const std::string& what) {
      if (out.failures.size() < 8)
        out.failures.push_back(fmt::format("seed {}: crash state {} ({}): {}", seed, checked, st->describe(), what));
    };
    ++checked;
    std::optional<Verdict> own;
    const Verdict* v = nullptr;
    if (xopts.reuse_verdicts) {
      if (!durable || durable_version != st->durable_version) {
        durable = evaluate(engine, states.durable(), times);
        durable_version = st->durable_version;
      }
      const bool untouched = std::none_of(st->changed.begin(), st->changed.end(), [&](BlockNr b) {
        return std::binary_search(durable->reads.begin(), durable->reads.end(), b);
      });
      if (untouched) {
        v = &*durable;
        if (times != nullptr) ++times->reused;
      }
    }
    if (v == nullptr) {
      own = evaluate(engine, st->image, times);
      v = &*own;
    }
    if (times != nullptr) ++times->states;
    if (v->open_error) {
      // Without sector atomicity (a garbage sector) the superblock itself may be torn: that must
      // be detected as corruption, never read as a pool.
      if (st->torn && st->tear_variant + 1 == sim::kTornVariants && v->open_error->kind() == ErrorKind::corruption) {
        ++detected;
        continue;
      }
      fail(fmt::format("does not open: {}", v->open_error->to_string()));
      continue;
    }
    if (v->read_error) {
      fail(fmt::format("cannot be read: {}", *v->read_error));
      continue;
    }
    if (v->state == commits[done].state) {
      // the last committed transaction
    } else if (flight != nullptr && v->state == flight->state) {
      ++in_flight_seen;
    } else {
      fail(fmt::format("is neither transaction {} nor the one being committed: {}", done, v->state.diff(commits[done].state)));
      continue;
    }
    if (!v->checker.empty()) fail(fmt::format("checker: {}", v->checker));
  }
  if (opts.trace) trace << fmt::format("  crash explorer: {} log entries, {} points\n", disk.log().size(), states.points());
  out.passed = out.failures.empty();
  out.operations = ops;
  out.crash_states = checked;
  out.summary = fmt::format("{} transactions, {} log entries, {} crash states checked at {} points ({} sampled), {} "
                            "found the in-flight commit durable, {} torn superblocks detected as corrupt",
                            commits.size() - 1, disk.log().size(), checked, states.points(), states.sampled_points(),
                            in_flight_seen, detected);
  return out;
}

namespace {

SeedOutcome explore(std::uint64_t seed, const RunOptions& opts, std::ostream& trace) {
  return explore_crash_states(seed, opts, CrashExplorerOptions{}, trace);
}

}  // namespace

Scenario crash_explorer_scenario() {
  return {"crash_explorer",
          "For a seeded thin workload (creates, snapshots, inserts, removes, deletes; several commits) on the run's "
          "engine, every crash "
          "state of its write log: after each write and flush, the durable image plus every subset of at most 2 pending "
          "writes and torn variants (sampled to 48 per point when there are more). Each must open as exactly the last "
          "transaction committed by then or the one under way, and check clean.",
          {},
          {},
          &explore,
          {},
          {}};
}

std::vector<Scenario> crash_scenarios() { return {crash_explorer_scenario()}; }

}  // namespace pdsim::scenarios
