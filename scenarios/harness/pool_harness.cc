// SPDX-License-Identifier: GPL-2.0-or-later
// PoolHarness, its operations: each drives the pool through the seam, keeps the model in step
// and judges an error (the disk's doing, or a failure). Its checks and oracles are in
// pool_checks.cc; the model and the state readers in pool_state.{h,cc}.
#include "scenarios/harness/pool_harness.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/check/thin_input.h"
#include "core/thin/thin_format.h"

namespace pdsim::scenarios {

PoolHarness::PoolHarness(std::string scenario, std::uint64_t seed, HarnessConfig cfg, const RunOptions& opts)
    : scenario_(std::move(scenario)),
      seed_(seed),
      cfg_(cfg),
      opts_(opts),
      disk_(cfg.device_blocks != 0 ? cfg.device_blocks : cfg.metadata_blocks, sim::sub_seed(seed, "disk")),
      oracle_(disk_, [this](BlockDevice& d) { return reachable(d); }),
      failures_(fmt::format("seed {}: ", seed), 8),
      lookup_rng_(sim::sub_seed(seed, "pool_harness.lookups")) {
  disk_.set_logging(opts.trace);
  table_.data_blocks = cfg.data_blocks;
  table_.metadata_blocks = cfg.metadata_blocks;
  table_.error_if_no_space = cfg.error_if_no_space;
  oracle_.set_visible_blocks(cfg.metadata_blocks);
}

bool PoolHarness::detected(const Error& e) {
  if (!cfg_.corruption_faults) return false;
  if (e.kind() != ErrorKind::corruption && e.kind() != ErrorKind::io) return false;
  ++detected_;
  stopped_ = true;
  return true;
}

void PoolHarness::fail(std::string what) {
  if (!divergence_.empty()) return;  // nothing after a known divergence is judged
  failures_.add(std::move(what));
}

void PoolHarness::diverge(const char* op, const Error& e) {
  if (!divergence_.empty() || failed()) return;
  divergence_ = fmt::format("{}: {}", op, e.to_string());
  stopped_ = true;
  pool_.reset();
}

Result<std::vector<BlockNr>> PoolHarness::reachable(BlockDevice& dev) {
  // The oracle's own reads are not part of the workload: faults off while it looks.
  auto rep = [&] {
    sim::PausedPlan paused(disk_);
    return check::check_thin(dev);
  }();
  if (!rep) return std::move(rep).error();
  return std::move(rep->referenced_metadata);
}

bool PoolHarness::start() {
  auto md = engine().format(oracle_, 128, cfg_.cache_blocks);
  if (!md) {
    fail(fmt::format("format: {}", md.error().to_string()));
    return false;
  }
  auto p = thin::Pool::create(std::move(md).value(), table_);
  if (!p) {
    fail(fmt::format("create pool: {}", p.error().to_string()));
    return false;
  }
  pool_ = std::move(p).value();
  if (Status s = oracle_.restart(); !s) fail(fmt::format("oracle: {}", s.error().to_string()));
  committed_ = current_ = PoolState{};
  committed_moved("formatted");
  mark_clean();
  return !failed();
}

void PoolHarness::committed_moved(const char* how) {
  ++commit_moves_;
  commit_how_ = how;
  if (!opts_.save_images_dir.empty()) commit_image_ = disk_.current();
}

PoolHarness::OpStart PoolHarness::op_start() const { return {pool_->mode(), disk_.counters().faults_fired()}; }

void PoolHarness::judge_error(const Error& e, const OpStart& st, bool legal, const char* op) {
  // An engine that broke its own invariant (a kernel BUG, a dropped error) is never excused by a
  // fault or a refusal.
  if (e.kind() == ErrorKind::engine_bug) return fail(fmt::format("{}: {}", op, e.to_string()));
  if (e.kind() == ErrorKind::dropped) {
    // Dropping an error is the kernel's known behaviour when the disk caused it (a fault during
    // the call, or earlier in the transaction); a logged error with no fault behind it is a bug.
    const std::uint64_t faults = disk_.counters().faults_fired();
    if (faults != st.faults || faults != faults_at_clean_) return diverge(op, e);
    return fail(fmt::format("{}: an engine error the disk did not cause (no fault fired): {}", op, e.to_string()));
  }
  if (!legal) return;  // the workload asked for something the pool must refuse
  if (st.mode != thin::PoolMode::write && st.mode != thin::PoolMode::out_of_data_space) return;  // a degraded pool refuses
  const std::uint64_t faults = disk_.counters().faults_fired();
  if (faults != st.faults) return;  // the disk failed during the call
  // A fault earlier in this transaction: a failed eviction write is reported by the next flush,
  // and the dropped block reads back as what the disk still holds.
  if (faults != faults_at_clean_ && (e.kind() == ErrorKind::io || e.kind() == ErrorKind::corruption)) return;
  // Corruption a fault left on the disk earlier surfaces later as a checksum or I/O error.
  if (cfg_.corruption_faults && faults > 0 && (e.kind() == ErrorKind::corruption || e.kind() == ErrorKind::io)) return;
  if (e.kind() == ErrorKind::no_space) return;
  const thin::PoolMode now = pool_->mode();
  if (now == thin::PoolMode::out_of_metadata_space || now == thin::PoolMode::out_of_data_space) return;
  fail(fmt::format("{}: an engine error the disk did not cause (no fault fired, pool {} before): {}", op,
                   thin::to_string(st.mode), e.to_string()));
}

void PoolHarness::settle_error(const OpStart& st, const char* op, const PoolState& attempted) {
  if (!pool_) return;  // stopped at a known divergence
  const thin::PoolMode mode = pool_->mode();
  const bool aborted = mode != st.mode && (mode == thin::PoolMode::read_only || mode == thin::PoolMode::fail);
  if (aborted) expect_rolled_back(PoolState(attempted));  // a copy: attempted may be current_
  else after_unaborted_fault(st, op);
}

void PoolHarness::after_unaborted_fault(const OpStart& st, const char* op) {
  if (!pool_ || (disk_.counters().faults_fired() == st.faults && disk_.counters().faults_fired() == faults_at_clean_)) return;
  const thin::PoolMode mode = pool_->mode();
  if (mode == thin::PoolMode::read_only || mode == thin::PoolMode::fail) return;  // aborted: handled
  ++dropped_;
  oracle_.transaction_aborted();
  pool_.reset();
  reopen_and_verify(fmt::format("a {} failed by a fault (transaction dropped)", op).c_str(), in_flight_);
}

template <typename Fn>
Status PoolHarness::apply(Fn&& fn, std::optional<PoolState> after, bool commits_after, bool legal, const char* op) {
  // No copies of the model on the common path: current_ is what the pool held before the call
  // and changes only when the call succeeds.
  const OpStart st = op_start();
  const std::uint64_t commits_before = pool_->metadata().commits();
  ++ops_;
  Status s = fn();
  const bool committed_now = pool_->metadata().commits() > commits_before;
  const PoolState& attempted = commits_after && after ? *after : current_;
  if (committed_now) {
    committed_ = attempted;
    committed_moved("committed");
    in_flight_.reset();
    if (s) mark_clean();
  }
  if (s) {
    if (after) current_ = std::move(*after);
    if (committed_now && pool_->mode() != thin::PoolMode::fail) lookup_check(pool_->metadata(), current_, 16, op);
    return s;
  }
  ++errors_;
  judge_error(s.error(), st, legal, op);
  settle_error(st, op, attempted);
  return s;
}

Status PoolHarness::create_thin(std::uint64_t id) {
  if (!pool_) return Error::invalid("no pool: the last reopen failed");
  PoolState after = current_;
  const bool legal = current_.devices.count(id) == 0;
  after.devices[id];
  return apply([&] { return pool_->create_thin(id); }, after, true, legal, "create");
}

Status PoolHarness::snapshot(std::uint64_t id, std::uint64_t origin) {
  if (!pool_) return Error::invalid("no pool: the last reopen failed");
  PoolState after = current_;
  auto o = current_.devices.find(origin);
  const bool legal = o != current_.devices.end() && current_.devices.count(id) == 0;
  if (o != current_.devices.end()) after.devices[id] = o->second;
  return apply([&] { return pool_->create_snapshot(id, origin); }, after, true, legal, "snapshot");
}

Status PoolHarness::delete_thin(std::uint64_t id) {
  if (!pool_) return Error::invalid("no pool: the last reopen failed");
  PoolState after = current_;
  const bool legal = current_.devices.count(id) != 0;
  after.devices.erase(id);
  return apply([&] { return pool_->delete_thin(id); }, after, true, legal, "delete");
}

Status PoolHarness::write(std::uint64_t id, std::uint64_t vblock) {
  if (!pool_) return Error::invalid("no pool: the last reopen failed");
  const OpStart st = op_start();
  const std::uint64_t commits_before = pool_->metadata().commits();
  ++ops_;
  auto r = pool_->write(id, vblock);
  const bool committed_inside = pool_->metadata().commits() > commits_before;
  if (committed_inside) {
    committed_ = current_;  // a write commits (before its insert) when space runs low
    // (the image with the insert's shadow writes, to blocks that commit left free)
    committed_moved("committed inside the write (free metadata ran low)");
    in_flight_.reset();
    mark_clean();
    meta_free_at_clean_.reset();  // measured after the insert that followed the commit: no baseline
  }
  if (r) {
    // The commit inside held the new block allocated but not yet mapped (see committed_unmapped_).
    if (committed_inside && r->newly_mapped) committed_unmapped_.insert(r->data_block);
    // A block shared with a snapshot (sharing is always at the same virtual block) must never be
    // written in place: the write must break sharing onto a new data block.
    if (auto d = current_.devices.find(id); d != current_.devices.end()) {
      if (auto m = d->second.find(vblock); m != d->second.end() && (!r->newly_mapped || r->data_block == m->second)) {
        for (const auto& [other, maps] : current_.devices) {
          if (other == id) continue;
          auto o = maps.find(vblock);
          if (o != maps.end() && o->second == m->second) {
            fail(fmt::format("write to thin {} block {} went in place to data block {}, which thin {} shares", id, vblock,
                             m->second, other));
            break;
          }
        }
      }
    }
    const BlockNr got = r->data_block;
    auto& maps = current_.devices[id];
    auto it = maps.find(vblock);
    if (!r->newly_mapped && (it == maps.end() || it->second != got)) {
      fail(fmt::format("write to thin {} block {} found data block {} mapped, the model says {}", id, vblock, got,
                       it == maps.end() ? std::string("unmapped") : std::to_string(it->second)));
    }
    maps[vblock] = got;
    if (r->newly_mapped) changed_since_clean_ = true;
    return {};
  }
  ++errors_;
  if (committed_inside) ++leak_budget_;
  judge_error(r.error(), st, current_.devices.count(id) != 0, "write");
  if (st.mode == thin::PoolMode::write && pool_ && pool_->mode() == thin::PoolMode::out_of_data_space) expect_no_free_data("write");
  settle_error(st, "write", current_);
  return std::move(r).error();
}

Status PoolHarness::read(std::uint64_t id, std::uint64_t vblock) {
  if (!pool_) return Error::invalid("no pool: the last reopen failed");
  const OpStart st = op_start();
  ++ops_;
  auto r = pool_->read(id, vblock);
  if (!r) {
    judge_error(r.error(), st, current_.devices.count(id) != 0, "read");
    after_unaborted_fault(st, "read");
    return std::move(r).error();
  }
  std::optional<BlockNr> want;
  if (auto d = current_.devices.find(id); d != current_.devices.end())
    if (auto m = d->second.find(vblock); m != d->second.end()) want = m->second;
  if (*r != want)
    fail(fmt::format("read of thin {} block {} returned {}, the model says {}", id, vblock,
                     *r ? std::to_string(**r) : "unmapped", want ? std::to_string(*want) : "unmapped"));
  return {};
}

template <typename Fn, typename Mutate>
Status PoolHarness::apply_in_place(Fn&& fn, Mutate&& mutate, bool legal, const char* op) {
  const OpStart st = op_start();
  ++ops_;
  Status s = fn();
  if (s) {
    const std::uint64_t before = current_.mappings();
    mutate(current_);
    if (current_.mappings() != before) changed_since_clean_ = true;
    return s;
  }
  ++errors_;
  judge_error(s.error(), st, legal, op);
  settle_error(st, op, current_);
  return s;
}

Status PoolHarness::discard(std::uint64_t id, std::uint64_t begin, std::uint64_t end) {
  if (!pool_) return Error::invalid("no pool: the last reopen failed");
  const bool unmaps = pool_->mode() == thin::PoolMode::write || pool_->mode() == thin::PoolMode::out_of_data_space;
  auto erase = [&](PoolState& st) {
    if (!unmaps || begin >= end) return;  // an empty (or reversed) range unmaps nothing
    auto& maps = st.devices[id];
    maps.erase(maps.lower_bound(begin), maps.lower_bound(end));
  };
  return apply_in_place([&] { return pool_->discard(id, begin, end); }, erase,
                        current_.devices.count(id) != 0 && begin <= end, "discard");
}

Status PoolHarness::unmap(std::uint64_t id, std::uint64_t vblock) {
  if (!pool_) return Error::invalid("no pool: the last reopen failed");
  const bool unmaps = pool_->mode() == thin::PoolMode::write || pool_->mode() == thin::PoolMode::out_of_data_space;
  auto d = current_.devices.find(id);
  const bool legal = d != current_.devices.end() && d->second.count(vblock) != 0;
  return apply_in_place([&] { return pool_->remove_block(id, vblock); },
                        [&](PoolState& st) {
                          if (unmaps) st.devices[id].erase(vblock);
                        },
                        legal, "unmap");
}

Status PoolHarness::commit() {
  if (!pool_) return Error::invalid("no pool: the last reopen failed");
  expect_free_data_count("before a commit");
  expect_metadata_used_by_transaction("before a commit");
  return apply([&] { return pool_->commit(); }, std::nullopt, true, true, "commit");
}

Status PoolHarness::reload(const thin::PoolTable& table) {
  if (!pool_) return Error::invalid("no pool: the last reopen failed");
  table_ = table;
  oracle_.set_visible_blocks(table.metadata_blocks);  // the grown metadata device
  // A table smaller than the pool's devices is the workload's mistake (refused as invalid).
  const OpStart st = op_start();
  return apply([&] { return pool_->reload(table); }, std::nullopt, true, st.mode == thin::PoolMode::write, "reload");
}

void PoolHarness::power_cut(sim::PowerCutPolicy policy) {
  if (!divergence_.empty()) return;
  ++power_cuts_;
  disk_.power_cut(policy);
  sim::PausedPlan paused(disk_);
  reopen_and_verify(fmt::format("a power cut ({})", sim::to_string(policy)).c_str(), in_flight_);
}

void PoolHarness::teardown_and_reopen(const char* why) {
  if (!divergence_.empty()) return;
  disk_.set_plan({});
  if (pool_) {
    const thin::PoolMode mode = pool_->mode();
    if (mode == thin::PoolMode::write || mode == thin::PoolMode::out_of_data_space) {
      // A failed teardown commit is judged like any other (a write error deferred from an
      // eviction earlier in the transaction is the disk's): the pool aborts, the reopen checks.
      (void)commit();
    } else if (Status s = pool_->shutdown(); !s && mode != thin::PoolMode::fail) {
      fail(fmt::format("teardown: {}", s.error().to_string()));
    }
  }
  reopen_and_verify(why, in_flight_);
}

std::string PoolHarness::counters() const {
  return fmt::format("{} ops, {} errors, {} power cuts, {} reopens, {} repairs, {} clean checks, {} thin_check, {} "
                     "superblocks ordered, {} mappings committed, {} faults fired{}{}{}{}",
                     ops_, errors_, power_cuts_, reopens_, repairs_, checks_, thin_checks_, oracle_.superblocks_checked(),
                     committed_.mappings(), disk_.counters().faults_fired(),
                     tolerated_leaks_ ? fmt::format(", {} data-block leaks of the out-of-metadata commit", tolerated_leaks_) : "",
                     dropped_ ? fmt::format(", {} transactions dropped after a failed message or read", dropped_) : "",
                     collapse_underfills_ ? fmt::format(", {} nodes left under max/3 by a collapse", collapse_underfills_) : "",
                     detected_ ? fmt::format(", corruption detected ({})", detected_) : "");
}

SeedOutcome PoolHarness::outcome(std::string summary) {
  for (const auto& v : oracle_.violations()) fail(fmt::format("write ordering: {}", v));
  SeedOutcome out;
  out.failures = failures_.lines();
  out.passed = failures_.empty();
  out.operations = ops_;
  out.thin_checks = thin_checks_;
  out.summary = std::move(summary) + "; " + counters();
  out.divergence = divergence_;
  if (!out.passed && !opts_.save_images_dir.empty())
    save_failing_image(failing_images(disk_, disk_.current(), commit_image_), opts_.save_images_dir, scenario_, seed_,
                       out.failures);
  return out;
}

}  // namespace pdsim::scenarios
