// SPDX-License-Identifier: GPL-2.0-or-later
// CacheHarness: dm-cache metadata (core/cache) on a SimDisk, with a model of what each
// transaction committed, and the checks every cache scenario shares — the analogue of
// PoolHarness for dm-cache:
//   - after an injected I/O error: abort, and the durable metadata is exactly the last commit,
//     or exactly the commit in flight when its superblock became durable — never a mix;
//   - after a power cut (any sector-atomic policy): reopen, and the same rule; the clean-shutdown
//     flag found at open is the one the surviving commit wrote;
//   - after every commit and every recovery: the independent cache checker is clean;
//   - after every grow of the cache: every mapping of the model reads back unchanged;
//   - an engine call that fails while the disk injected no fault fails the run (an engine bug,
//     not a fault to roll back).
//
// It runs steps, one text line each (so that failing runs shrink and replay from a file):
//   resize N | insert C O | remove C | dirty C 0|1 | discards N | discard D 0|1 |
//   hints SEED NAME | stats A B | commit CLEAN(0|1) | cut POLICY | plan FAULT-PLAN-LINE
// A step that does not apply to the current state (a block beyond the cache, an unmapped block,
// an origin block mapped elsewhere) is skipped, so that any sublist of steps still runs.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "core/cache/cache_metadata.h"
#include "scenarios/harness/failures.h"
#include "scenarios/runner/scenario.h"
#include "sim/sim_disk.h"

namespace pdsim::scenarios {

// What the cache metadata should hold: what the engine was told, as of one transaction.
struct CacheState {
  std::uint32_t version = 1;
  std::uint32_t cache_blocks = 0;
  std::map<std::uint32_t, cache::Mapping> mappings;
  std::string policy;
  bool hint_array = false;
  std::vector<std::uint32_t> hints;  // the hint array: cache_blocks entries, unless the engine keeps its length on resize
  std::uint64_t discard_block_size = 0;
  std::vector<bool> discards;
  cache::Stats stats;  // stats.write_hits is the transaction number (set by the harness)
  bool clean = false;  // CLEAN_SHUTDOWN in this transaction's superblock (not part of the dump)

  // As `pdsim cache-dump --discards` prints it.
  [[nodiscard]] std::string xml() const;
};

// The hint the scenarios store for cblock under a `hints SEED NAME` step.
[[nodiscard]] constexpr std::uint32_t cache_hint(std::uint32_t seed, std::uint32_t cblock) noexcept {
  return seed ^ (cblock * 2654435761u);
}

// A kernel bug (pinned by KernelEngine.TheKernelsArrayShrinkToAWholeNumberOfBlocksKeepsTheOldPartialBlock):
// dm-array's shrink to a whole number of array blocks, from a size with as many full blocks and a
// partial one, keeps the old partial block. A run of the kernel engine whose image then shows
// exactly that ends there as a known divergence (a tree with the bug fixed just carries on).
[[nodiscard]] constexpr bool kernel_array_shrink_keeps_partial_block(std::uint64_t old_size, std::uint64_t new_size,
                                                                     std::uint64_t per_block = 509) noexcept {
  return new_size < old_size && new_size % per_block == 0 && old_size / per_block == new_size / per_block;
}

inline constexpr std::uint32_t kCacheBlockSize = 128;      // sectors
inline constexpr std::uint32_t kCacheMappingsPerBlock = 509;  // u64 mapping entries per array block
inline constexpr std::uint64_t kCacheDiscardBlockSize = 256;

class CacheHarness {
 public:
  // `metadata_blocks`: the simulated metadata device (large caches need more than the default).
  CacheHarness(std::string scenario, std::uint64_t seed, std::uint32_t version, const RunOptions& opts,
               std::ostream& trace, BlockNr metadata_blocks = 1024);

  // Formats the metadata (faults off). False (and a failure recorded) if that failed.
  [[nodiscard]] bool start();
  // Runs one step (number `i` of the list, for messages).
  void step(std::size_t i, const std::string& text);
  [[nodiscard]] bool metadata_step(const std::string& word, const std::string& what, const std::vector<std::uint64_t>& a);
  // The end of a run: faults off, power cut that keeps nothing pending, reopen and verify.
  void finish();

  void fail(std::string what);
  [[nodiscard]] bool failed() const { return !failures_.empty(); }
  // The engine dropped an error a fault caused (a known kernel divergence): the run ends there.
  [[nodiscard]] bool stopped() const { return !divergence_.empty(); }
  // The engine behind the seam this harness drives: the run's (RunOptions), else ours.
  [[nodiscard]] seam::CacheEngine& engine() const {
    return opts_.cache_engine != nullptr ? *opts_.cache_engine : cache::pdsim_cache_engine();
  }
  [[nodiscard]] SeedOutcome outcome();

 private:
  // Runs one engine call that moves the model from current_ to `next` when it succeeds.
  template <typename Fn>
  void apply(const std::string& what, Fn&& fn);
  void resize(const std::string& what, std::uint32_t n);
  void commit(const std::string& what, bool clean);
  // After an open (a power cut's, or the reopen of a failed abort): the clean-shutdown flag it
  // found must be the surviving commit's; the open cleared it on disk and flushed.
  void after_reopen(const std::string& when);
  void power_cut(sim::PowerCutPolicy policy);
  // After an injected error: abort and check the durable metadata (attempted: a commit in flight).
  void recover(const std::optional<CacheState>& attempted);
  // The durable metadata against committed_ (or `attempted`, if its superblock is durable), and
  // the checker. Moves committed_ to what was found.
  void expect_durable(const std::optional<CacheState>& attempted, const char* when);
  // After a grow: every mapping of the model reads back the same through the engine.
  void verify_mappings_after_grow(const std::string& what, std::uint32_t old_blocks);
  // An engine error while no fault fired.
  void unexpected(const std::string& what, const Error& e);
  // A failed call the disk did not explain fails the run, except an error the engine dropped
  // after a fault (ErrorKind::dropped), which ends it as a known divergence. True if handled.
  [[nodiscard]] bool unexplained(std::uint64_t faults_at_call, const std::string& what, const Error& e);
  std::string divergence_;
  // --trace: one line under the current step (what a call returned, commits, aborts, reopens).
  void note(const std::string& line);
  // A shrink the kernel's dm-array gets wrong was made (the kernel engine only): if the checker
  // then finds only a mapping array longer than the cache, that is the known kernel bug.
  std::string shrink_bug_possible_;

  std::string scenario_;
  std::uint64_t seed_;
  RunOptions opts_;
  std::ostream& trace_;
  std::size_t traced_ = 0;  // write-log entries printed so far (--trace)
  sim::SimDisk disk_;
  std::unique_ptr<seam::CacheMetadata> md_;  // through the seam: ours, or the run's engine
  CacheState committed_, current_;
  std::optional<CacheState> previous_;  // after a commit in flight was found durable: the one before
  // With images being saved (--save-images, --report): the disk as committed_'s (previous_'s)
  // commit left it, the expected side of a failing run's report.
  [[nodiscard]] bool keep_images() const { return !opts_.save_images_dir.empty(); }
  std::optional<sim::Image> commit_image_, previous_image_;
  Failures failures_;
  // Whether a failed call is the disk's doing: a fault during it, or (io and corruption errors)
  // one earlier in the transaction, whose deferred write error the next flush reports.
  [[nodiscard]] bool explained(std::uint64_t faults_at_call, const Error& e) const;
  std::uint64_t faults_at_clean_ = 0;  // faults fired by the last commit, abort or reopen
  std::uint64_t ops_ = 0, skipped_ = 0, commits_ = 0, errors_ = 0, cuts_ = 0, in_flight_ = 0, checks_ = 0,
                grows_ = 0, refused_ = 0;
};

// Runs `steps` on a fresh cache of the given version and finishes (the replay of every cache scenario).
[[nodiscard]] SeedOutcome run_cache_steps(const std::string& scenario, std::uint64_t seed, std::uint32_t version,
                                          const Steps& steps, const RunOptions& opts, std::ostream& trace,
                                          BlockNr metadata_blocks = 1024);

}  // namespace pdsim::scenarios
