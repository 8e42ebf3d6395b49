// SPDX-License-Identifier: GPL-2.0-or-later
// PoolHarness: a dm-thin pool (core/thin/pool.h) on a SimDisk, behind the write-ordering oracle,
// with a model of what each transaction committed, and the checks every thin scenario shares:
//   - after a power cut or an injected error: reopen from the durable image; the pool is exactly
//     the last committed transaction, or exactly the one being committed when its superblock
//     became durable — never a mix; the independent checker is clean; where thin_check is
//     installed, it passes on a sample of recovered images (every one with --thin-check=always);
//   - while running: the oracle's ordering rules, and every successful read equals the model.
// Operations return the pool's Status; the harness keeps the model in step and records failures.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/thin/pool.h"
#include "core/thin/pool_metadata.h"
#include "scenarios/harness/failures.h"
#include "scenarios/harness/ordering_oracle.h"
#include "scenarios/harness/pool_state.h"
#include "scenarios/runner/scenario.h"
#include "sim/rng.h"
#include "sim/sim_disk.h"

namespace pdsim::scenarios {

struct HarnessConfig {
  BlockNr metadata_blocks = 1024;  // the table's metadata device size
  BlockNr device_blocks = 0;       // the simulated disk (0: metadata_blocks); larger to grow into
  BlockNr data_blocks = 4096;
  bool error_if_no_space = true;
  // Faults that corrupt what is stored (bit flips, misdirected writes): committed metadata may be
  // destroyed, which no engine can roll back. The rule then is only that corruption is detected
  // (a validator error, a checker problem) and never returned as data: the first detection ends
  // the run (stopped()), a wrong answer still fails it.
  bool corruption_faults = false;
  // The metadata block cache's bound: small, every transaction evicts dirty blocks before its
  // commit, so write errors hit evictions (whose errors the next flush must report).
  std::size_t cache_blocks = thin::PoolMetadata::kDefaultCacheBlocks;
};

class PoolHarness {
 public:
  PoolHarness(std::string scenario, std::uint64_t seed, HarnessConfig cfg, const RunOptions& opts);

  // Formats the metadata and binds the table (the dmtest "create pool").
  [[nodiscard]] bool start();

  // Operations (model kept in step; a failure is returned, not recorded: scenarios decide).
  Status create_thin(std::uint64_t id);
  Status snapshot(std::uint64_t id, std::uint64_t origin);
  Status delete_thin(std::uint64_t id);
  Status write(std::uint64_t id, std::uint64_t vblock);
  Status read(std::uint64_t id, std::uint64_t vblock);  // checks the answer against the model
  Status discard(std::uint64_t id, std::uint64_t begin, std::uint64_t end);
  Status unmap(std::uint64_t id, std::uint64_t vblock);  // a single btree remove of a mapped block
  Status commit();
  Status reload(const thin::PoolTable& table);

  // Cuts the power (pool lost without teardown), reopens from the disk and checks.
  void power_cut(sim::PowerCutPolicy policy);
  // Tears the pool down (shutdown), removes the fault plan, reopens and checks: what dmtest
  // does after an error ("remove pool; thin_check; create the pool again").
  void teardown_and_reopen(const char* why);
  // The independent checker (and a sampled thin_check) on what a reader of the disk sees now.
  void check_image(const char* when);
  // Offline repair of a pool that came up with needs_check: checked clean by the reopen, so the
  // flag is cleared (as thin_check --clear-needs-check-flag) and the pool re-activated.
  void repair();

  void fail(std::string what);
  [[nodiscard]] bool failed() const { return !failures_.empty(); }
  // The engine behind the seam this harness drives.
  [[nodiscard]] seam::ThinEngine& engine() const {
    if (opts_.thin_engine != nullptr) return *opts_.thin_engine;
    return thin::pdsim_thin_engine();
  }
  // Corruption was detected (corruption_faults runs only), or the engine dropped an error a
  // fault caused (a known divergence, see diverge()): nothing more to check.
  [[nodiscard]] bool stopped() const { return stopped_; }
  [[nodiscard]] SeedOutcome outcome(std::string summary);

  sim::SimDisk& disk() { return disk_; }
  thin::Pool& pool() { return *pool_; }  // REQUIRES: has_pool()
  // The pool's mode, FAIL when there is no pool (a reopen failed).
  [[nodiscard]] thin::PoolMode mode() const { return pool_ ? pool_->mode() : thin::PoolMode::fail; }
  [[nodiscard]] bool needs_check() const { return pool_ && pool_->metadata().needs_check(); }
  [[nodiscard]] bool has_pool() const { return pool_ != nullptr; }
  [[nodiscard]] const PoolState& model() const { return current_; }
  [[nodiscard]] const PoolState& committed() const { return committed_; }
  // How many times the committed state moved (format, commits, a commit in flight found durable),
  // and how it last did ("a commit", ...): a step's trace says so when the count changed.
  [[nodiscard]] std::uint64_t commit_moves() const { return commit_moves_; }
  [[nodiscard]] const char* last_commit_move() const { return commit_how_; }
  thin::PoolTable& table() { return table_; }
  [[nodiscard]] std::uint64_t operations() const { return ops_; }
  [[nodiscard]] std::string counters() const;

 private:
  // What an operation started from, to judge its error.
  struct OpStart {
    thin::PoolMode mode;
    std::uint64_t faults;
  };
  [[nodiscard]] OpStart op_start() const;
  // Fails the run on an error that nothing explains: not the disk (no fault fired during the
  // call), not the workload (`legal`: the model says the operation is valid), not a degraded
  // pool refusing, and not the kernel's no-space paths (ErrorKind::no_space, or the pool now out
  // of data or metadata space). An engine error the disk did not cause is a bug.
  void judge_error(const Error& e, const OpStart& st, bool legal, const char* op);
  // After an error a fault caused in an operation that does not abort (a pool message, a read):
  // dm-thin keeps the transaction, half-done changes included, and commits it later; a block
  // that failed validation stays cached and fails again. The harness does not follow it there:
  // it drops the transaction (the pool is lost without a commit, as in a crash with nothing
  // pending) and reopens from the disk. Counted in the summary.
  void after_unaborted_fault(const OpStart& st, const char* op);
  // After a failed operation: an abort must have rolled back to the committed (or `attempted`)
  // state; otherwise see after_unaborted_fault.
  void settle_error(const OpStart& st, const char* op, const PoolState& attempted);
  [[nodiscard]] static std::vector<BlockNr> used_data_blocks(std::initializer_list<const PoolState*> states);
  // A write sent the pool out of data space: the model must account for every data block.
  void expect_no_free_data(const char* op);
  // The pool's free data count must match the model's (see the definition).
  void expect_free_data_count(const char* when);
  // A transaction that changed mappings must show in the metadata free count.
  void expect_metadata_used_by_transaction(const char* when);
  // After a successful commit or a reopen: what the next transaction is measured from.
  void mark_clean();
  bool changed_since_clean_ = false;
  std::optional<BlockNr> meta_free_at_clean_;
  // Runs a pool operation that moves the model from current_ to `after` when it succeeds;
  // `attempted` is what a commit inside it would make durable.
  template <typename Fn>
  Status apply(Fn&& fn, std::optional<PoolState> after, bool commits_after, bool legal, const char* op);
  // The same for an operation that never commits: `mutate` updates current_ in place on success
  // (no copy of the model, which may hold hundreds of thousands of mappings).
  template <typename Fn, typename Mutate>
  Status apply_in_place(Fn&& fn, Mutate&& mutate, bool legal, const char* op);
  // Sampled lookups of the in-core pool against current_ after a commit (faults off).
  void lookup_check(seam::ThinMetadata& md, const PoolState& want, std::uint64_t sample, const char* when);
  // After an error: the in-core pool must hold the committed state or the attempted one.
  void expect_rolled_back(const PoolState& attempted);
  // Reopens from the disk (faults off) and checks contents against committed / attempted.
  void reopen_and_verify(const char* why, const std::optional<PoolState>& attempted);
  [[nodiscard]] Result<std::vector<BlockNr>> reachable(BlockDevice& dev);
  void run_thin_check(const char* when);

  std::string scenario_;
  std::uint64_t seed_;
  HarnessConfig cfg_;
  RunOptions opts_;
  sim::SimDisk disk_;
  OrderingOracle oracle_;
  thin::PoolTable table_;
  std::unique_ptr<thin::Pool> pool_;
  PoolState committed_, current_;
  // Each point committed_ moves: counts it and says how (for --trace) and, with images being
  // saved (--save-images, --report), keeps the disk as that commit left it, the expected side of
  // a failing run's report.
  void committed_moved(const char* how);
  std::optional<sim::Image> commit_image_;
  std::uint64_t commit_moves_ = 0;
  const char* commit_how_ = "";
  std::optional<PoolState> in_flight_;  // a commit that failed after its superblock may be durable
  Failures failures_;
  bool stopped_ = false;
  std::uint64_t detected_ = 0;
  // The engine dropped an error a fault caused (ErrorKind::dropped): the run ends here as a
  // known divergence. The pool is let go without a commit; failures after it are not recorded.
  void diverge(const char* op, const Error& e);
  std::string divergence_;
  // In a corruption_faults run: records a detected corruption and stops; false otherwise.
  bool detected(const Error& e);
  std::uint64_t tolerated_leaks_ = 0;
  // The kernel's out-of-metadata leak: a write allocates its data block, then commits because
  // free metadata reached 0 (so the commit holds the block counted but unmapped); if the mapping
  // never reaches a later commit (the insert or the next commit fails, the power is cut), that
  // block stays leaked. Each such write adds its block here (or one to leak_budget_ when it
  // failed and its block is unknown); only those leaks are tolerated.
  std::set<BlockNr> committed_unmapped_;
  std::uint64_t leak_budget_ = 0;
  sim::Rng lookup_rng_;
  std::uint64_t lookups_ = 0;
  std::uint64_t dropped_ = 0;
  std::uint64_t faults_at_clean_ = 0;  // faults fired by the last successful commit or reopen
  std::uint64_t collapse_underfills_ = 0;
  std::uint64_t ops_ = 0, reopens_ = 0, repairs_ = 0, checks_ = 0, thin_checks_ = 0, errors_ = 0, power_cuts_ = 0;
};

// Whether the real thin_check is installed (looked up once).
[[nodiscard]] bool thin_check_available();

}  // namespace pdsim::scenarios
