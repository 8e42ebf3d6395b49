// SPDX-License-Identifier: GPL-2.0-or-later
#include "scenarios/differential/differential.h"

#include <fmt/format.h>

namespace pdsim::scenarios {

DiffRun::DiffRun(std::string scenario, std::uint64_t seed, const RunOptions& opts, std::ostream& trace,
                 BlockNr disk_blocks)
    : scenario_(std::move(scenario)),
      seed_(seed),
      opts_(opts),
      trace_(trace),
      disks_{sim::SimDisk(disk_blocks, sim::sub_seed(seed, "disk")), sim::SimDisk(disk_blocks, sim::sub_seed(seed, "disk"))},
      failures_(fmt::format("seed {}: ", seed), 8) {
  for (auto& d : disks_) d.set_logging(false);
}

void DiffRun::fail(std::string what) {
  if (divergence_.empty()) failures_.add(std::move(what));
}

std::string DiffRun::describe(const Status& s) { return s ? "ok" : "error " + std::string(to_string(s.error().kind())); }

bool DiffRun::agree(const std::string& what, const std::array<std::string, 2>& results) {
  ++ops_;
  if (opts_.trace) trace_ << fmt::format("    {}: {} | {}\n", what, results[0], results[1]);
  if (results[0] == results[1]) return true;
  fail(fmt::format("{}: logical divergence: {} says '{}', {} says '{}'", what, kNames[0], results[0], kNames[1],
                   results[1]));
  return false;
}

bool DiffRun::images_agree(const std::string& what, MetadataKind kind) {
  ++compared_images_;
  const sim::Image a = disks_[0].current();
  const sim::Image b = disks_[1].current();
  const auto d = compare_images(kind, a, kNames[0], b, kNames[1]);
  if (!d) return true;
  fail(fmt::format("{}: {} divergence: {}", what, to_string(d->level), d->what));
  if (!opts_.save_images_dir.empty()) {
    std::vector<std::string> lines;
    save_failing_image({a}, opts_.save_images_dir, scenario_ + "-pdsim", seed_, lines);
    save_failing_image({b}, opts_.save_images_dir, scenario_ + "-kernel", seed_, lines);
    for (auto& l : lines) fail(std::move(l));
  }
  return false;
}

bool DiffRun::dropped(const std::string& what, std::size_t side, const Error& e) {
  if (e.kind() != ErrorKind::dropped) return false;
  if (faults_fired() == 0) {
    fail(fmt::format("{}: {} dropped an error with no fault injected: {}", what, kNames[side], e.to_string()));
  } else if (divergence_.empty() && failures_.empty()) {
    divergence_ = fmt::format("{}: {}", what, e.to_string());
  }
  return true;
}

void DiffRun::commit(const std::string& what, bool clean) {
  const std::array<std::string, 2> r{describe(commit_side(0, clean)), describe(commit_side(1, clean))};
  if (!agree(what, r)) return;
  if (r[0] != "ok") return abort(what + ", then abort");
  ++commits_;
  on_commit();
  (void)durable_images_agree(fmt::format("{}: after the commit", what));
}

void DiffRun::abort(const std::string& what) {
  ++aborts_;
  const std::array<std::string, 2> r{describe(abort_side(0)), describe(abort_side(1))};
  on_rollback();
  if (!agree(what + ": abort", r)) return;
  if (!durable_images_agree(fmt::format("{}: after the abort", what))) return;
  reopen(what + ": reload after the abort");
}

void DiffRun::fail_commit(const std::string& what) {
  set_plans(*sim::FaultPlan::parse("write p=1/1 -> error"));
  const std::array<std::string, 2> r{describe(commit_side(0, false)), describe(commit_side(1, false))};
  set_plans({});
  if (!agree(what, r)) return;
  if (r[0] == "ok") {  // nothing was dirty: no write to fail
    ++commits_;
    on_commit();
    return;
  }
  abort(what + ", then abort");
}

void DiffRun::cut(const std::string& what, sim::PowerCutPolicy policy) {
  ++cuts_;
  for (auto& d : disks_) d.power_cut(policy);
  reopen(what + ": reopen");
  if (side_open(0) && side_open(1)) (void)durable_images_agree(fmt::format("{}: after the reopen", what));
}

void DiffRun::reopen(const std::string& what) {
  const std::array<std::string, 2> r{reopen_side(0), reopen_side(1)};
  on_rollback();
  if (agree(what, r) && (!side_open(0) || !side_open(1))) fail(fmt::format("{}: neither engine reopens: {}", what, r[0]));
}

void DiffRun::after_errors(const std::string& what, bool (*aborts_on)(ErrorKind), bool force_abort) {
  for (std::size_t s = 0; s < 2; ++s)
    if (last_[s] && dropped(what, s, *last_[s])) return;
  const std::optional<Error>& e = last_[0] ? last_[0] : last_[1];
  if (e && !aborts(e->kind())) ++refused_;  // a request both engines refused
  if (force_abort || (e && aborts_on(e->kind()))) abort(what + ", then abort");
}

void DiffRun::set_plans(const sim::FaultPlan& plan) {
  for (auto& d : disks_) d.set_plan(plan);
}

std::uint64_t DiffRun::faults_fired() const {
  return disks_[0].counters().faults_fired() + disks_[1].counters().faults_fired();
}

SeedOutcome DiffRun::outcome(std::string summary) {
  SeedOutcome out;
  out.failures = failures_.lines();
  out.passed = failures_.empty();
  out.operations = ops_;
  out.divergence = divergence_;
  out.summary = fmt::format("{}; {} results compared, {} image pairs compared, {} commits, {} aborts, {} power cuts, "
                            "{} requests both refused",
                            summary, ops_, compared_images_, commits_, aborts_, cuts_, refused_);
  return out;
}

std::vector<Scenario> differential_scenarios() { return {differential_thin_scenario(), differential_cache_scenario()}; }

}  // namespace pdsim::scenarios
