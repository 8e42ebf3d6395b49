// SPDX-License-Identifier: GPL-2.0-or-later
// Differential scenarios: one step list into two engines — pdsim's and the kernel's own code
// (RunOptions::peer_*_engine) — each on its own SimDisk with the same seed, fault plan and power
// cuts.
//   - differential_thin:  thin-pool metadata (devices, snapshots, mappings, ranges, lookups,
//     commits, aborts, failed commits, power cuts, metadata snapshots, data grows);
//   - differential_cache: dm-cache metadata, v1 and v2 by seed (mappings, dirty bits, discards,
//     hints, grows and shrinks, loads, commits, aborts, failed commits, power cuts).
// After every operation the two results agree (values, error kinds); after every commit and
// every recovery (abort, reopen after a power cut) the two images agree at every level of
// image_diff.h (logical, allocation, bytes). The first divergence fails the run with its step
// and level; runs shrink like any step list. An error the kernel dropped after a fault ends the
// run as a known divergence (SeedOutcome::divergence).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/result.h"
#include "scenarios/differential/image_diff.h"
#include "scenarios/harness/failures.h"
#include "scenarios/runner/scenario.h"
#include "sim/sim_disk.h"

namespace pdsim::scenarios {

[[nodiscard]] Scenario differential_thin_scenario();
[[nodiscard]] Scenario differential_cache_scenario();
// The family's table: differential_thin, differential_cache.
[[nodiscard]] std::vector<Scenario> differential_scenarios();

// What the two sides share: the disks, the comparisons and the outcome. Side 0 is pdsim's engine,
// side 1 the peer (the kernel's).
class DiffRun {
 public:
  DiffRun(std::string scenario, std::uint64_t seed, const RunOptions& opts, std::ostream& trace, BlockNr disk_blocks);
  virtual ~DiffRun() = default;

  [[nodiscard]] bool done() const { return !failures_.empty() || !divergence_.empty(); }
  void fail(std::string what);
  [[nodiscard]] SeedOutcome outcome(std::string summary);

  // Runs a step list on a fresh pair (start(), every step, finish()): the replay of both scenarios.
  template <typename Diff>
  [[nodiscard]] static SeedOutcome replay(std::uint64_t seed, const Steps& steps, const RunOptions& opts,
                                          std::ostream& trace) {
    Diff d(seed, opts, trace);
    if (d.start()) {
      for (std::size_t i = 0; i < steps.size() && !d.done(); ++i) d.step(i, steps[i]);
      d.finish();
    }
    return d.outcome(d.summary());
  }

 protected:
  static constexpr std::array<std::string_view, 2> kNames{"pdsim", "kernel"};
  // "ok", "ok VALUE" or "error KIND": what is compared of a call's result.
  [[nodiscard]] static std::string describe(const Status& s);
  template <typename T, typename F>
  [[nodiscard]] static std::string describe(const Result<T>& r, F&& value) {
    return r ? "ok " + value(*r) : "error " + std::string(to_string(r.error().kind()));
  }
  // Compares the two sides' results of one step; false (and the run failed) when they differ.
  bool agree(const std::string& what, const std::array<std::string, 2>& results);
  // Compares the two disks' current images; false (and the run failed) when they differ.
  bool images_agree(const std::string& what, MetadataKind kind);
  // An error the peer dropped after a fault (ErrorKind::dropped): the run ends as a known
  // divergence. True when `e` is one (whatever the faults: without a fault it fails the run).
  bool dropped(const std::string& what, std::size_t side, const Error& e);
  // Whether an error means the transaction must be aborted (the disk failed or the engine ran out
  // of space) rather than a refused request that changed nothing.
  [[nodiscard]] static bool aborts(ErrorKind k) {
    return k == ErrorKind::io || k == ErrorKind::corruption || k == ErrorKind::no_space || k == ErrorKind::engine_bug;
  }
  void set_plans(const sim::FaultPlan& plan);
  [[nodiscard]] std::uint64_t faults_fired() const;

  // The transaction protocol both scenarios share, over the hooks below.
  // commit: both sides commit; the results agree; a failed commit aborts; the images agree.
  void commit(const std::string& what, bool clean = false);
  // abort: both sides abort and the images agree; then both reload (dm-thin and dm-cache never
  // commit after an abort: the target goes read-only with needs_check until it is reloaded).
  void abort(const std::string& what);
  // failcommit: a commit with every write failing on both disks, then an abort.
  void fail_commit(const std::string& what);
  // cut: the power is cut on both disks (the same policy, the same seed), both reopen.
  void cut(const std::string& what, sim::PowerCutPolicy policy);
  // After a step whose results agreed: an error the peer dropped after a fault ends the run; an
  // error that `aborts_on` accepts aborts both transactions; any other is a refusal.
  void after_errors(const std::string& what, bool (*aborts_on)(ErrorKind), bool force_abort = false);
  // Drops both instances and opens both again from their disks.
  void reopen(const std::string& what);

  // The engine-specific side of the protocol.
  [[nodiscard]] virtual Status commit_side(std::size_t s, bool clean) = 0;
  [[nodiscard]] virtual Status abort_side(std::size_t s) = 0;
  // Drops side s's instance (no commit) and opens a new one from its disk: "ok" or "error KIND".
  [[nodiscard]] virtual std::string reopen_side(std::size_t s) = 0;
  [[nodiscard]] virtual bool side_open(std::size_t s) const = 0;
  // The durable images after a commit or a recovery.
  [[nodiscard]] virtual bool durable_images_agree(const std::string& what) = 0;
  virtual void on_commit() {}    // the transaction became durable
  virtual void on_rollback() {}  // the transaction was dropped (abort, reopen)

  std::array<std::optional<Error>, 2> last_;  // each side's error in the current step, if any

  std::string scenario_;
  std::uint64_t seed_;
  RunOptions opts_;
  std::ostream& trace_;
  std::array<sim::SimDisk, 2> disks_;
  Failures failures_;
  std::string divergence_;
  std::uint64_t ops_ = 0, compared_images_ = 0, commits_ = 0, aborts_ = 0, cuts_ = 0, refused_ = 0;
};

}  // namespace pdsim::scenarios
