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
    save_failing_image(a, opts_.save_images_dir, scenario_ + "-pdsim", seed_, lines);
    save_failing_image(b, opts_.save_images_dir, scenario_ + "-kernel", seed_, lines);
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
