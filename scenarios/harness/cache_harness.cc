// SPDX-License-Identifier: GPL-2.0-or-later
#include "scenarios/harness/cache_harness.h"

#include <algorithm>
#include <sstream>
#include <utility>

#include <fmt/format.h>

#include "core/cache/cache_dump.h"
#include "core/check/cache_input.h"
#include "scenarios/harness/disk_trace.h"
#include "scenarios/seeds/seed_common.h"
#include "sim/image.h"

namespace pdsim::scenarios {
namespace {

std::vector<std::uint64_t> numbers(std::istringstream& in) {
  std::vector<std::uint64_t> out;
  std::uint64_t v = 0;
  while (in >> v) out.push_back(v);
  return out;
}

}  // namespace

std::string CacheState::xml() const {
  std::string s = fmt::format("<superblock uuid=\"\" block_size=\"{}\" nr_cache_blocks=\"{}\" policy=\"{}\" hint_width=\"4\">\n",
                              kCacheBlockSize, cache_blocks, policy);
  s += "  <mappings>\n";
  for (const auto& [c, m] : mappings)
    s += fmt::format("    <mapping cache_block=\"{}\" origin_block=\"{}\" dirty=\"{}\"/>\n", c, m.oblock, m.dirty ? "true" : "false");
  s += "  </mappings>\n  <hints>\n";
  if (hint_array) {
    for (const auto& [c, m] : mappings) {
      if (c >= hints.size()) continue;  // an engine that keeps the hint array's length on resize
      std::string raw(4, '\0');
      for (std::size_t i = 0; i < 4; ++i) raw[i] = static_cast<char>((hints[c] >> (8 * i)) & 0xFFu);
      s += fmt::format("    <hint cache_block=\"{}\" data=\"{}\"/>\n", c, cache::base64_encode(raw));
    }
  }
  s += "  </hints>\n";
  if (!discards.empty()) {
    s += "  <discards>\n";
    std::size_t i = 0;
    while (i < discards.size()) {
      if (!discards[i]) {
        ++i;
        continue;
      }
      std::size_t j = i;
      while (j < discards.size() && discards[j]) ++j;
      s += fmt::format("    <discard dbegin=\"{}\" dend=\"{}\"/>\n", i, j);
      i = j;
    }
    s += "  </discards>\n";
  }
  return s + "</superblock>\n";
}

CacheHarness::CacheHarness(std::string scenario, std::uint64_t seed, std::uint32_t version, const RunOptions& opts,
                           std::ostream& trace, BlockNr metadata_blocks)
    : scenario_(std::move(scenario)), seed_(seed), opts_(opts), trace_(trace), disk_(metadata_blocks, sim::sub_seed(seed, "disk")) {
  committed_.version = current_.version = version;
}

void CacheHarness::fail(std::string what) {
  if (!stopped()) failures_.add(std::move(what));  // nothing after a known divergence is judged
}

void CacheHarness::note(const std::string& line) {
  if (opts_.trace) trace_ << "    " << line << "\n";
}

bool CacheHarness::unexplained(std::uint64_t faults_at_call, const std::string& what, const Error& e) {
  note(fmt::format("result: {}", e.to_string()));
  if (e.kind() == ErrorKind::dropped) {
    const std::uint64_t now = disk_.counters().faults_fired();
    if (now != faults_at_call || now != faults_at_clean_) {
      if (!failed()) divergence_ = fmt::format("{}: {}", what, e.to_string());
      md_.reset();
      return true;
    }
  }
  if (explained(faults_at_call, e)) return false;
  unexpected(what, e);
  return true;
}

bool CacheHarness::start() {
  auto md = engine().format(disk_, kCacheBlockSize, committed_.version);
  if (!md) {
    fail(fmt::format("format (version {}): {}", committed_.version, md.error().to_string()));
    return false;
  }
  md_ = std::move(md).value();
  if (keep_images()) commit_image_ = disk_.current();
  expect_durable(std::nullopt, "after format");
  return !failed();
}

void CacheHarness::unexpected(const std::string& what, const Error& e) {
  if (e.kind() == ErrorKind::engine_bug) return fail(fmt::format("{}: {}", what, e.to_string()));  // faults or not
  if (const auto b = seeds::below_zero_block(e))
    return fail(fmt::format("{} failed with no fault injected: array block {} released twice, its reference count "
                            "would go below zero ({})", what, *b, e.to_string()));
  fail(fmt::format("{} failed with no fault injected: {}", what, e.to_string()));
}

template <typename Fn>
void CacheHarness::apply(const std::string& what, Fn&& fn) {
  ++ops_;
  const std::uint64_t faults = disk_.counters().faults_fired();
  CacheState next = current_;
  const Status s = fn(next);
  if (s) {
    current_ = std::move(next);
    return;
  }
  if (unexplained(faults, what, s.error())) return;
  recover(std::nullopt);
}

bool CacheHarness::explained(std::uint64_t faults_at_call, const Error& e) const {
  if (e.kind() == ErrorKind::engine_bug) return false;  // a kernel BUG or a dropped error: never a fault's doing
  const std::uint64_t now = disk_.counters().faults_fired();
  if (now != faults_at_call) return true;  // the disk failed during the call
  // A fault earlier in the transaction: a failed eviction write is reported by the next flush.
  return now != faults_at_clean_ && (e.kind() == ErrorKind::io || e.kind() == ErrorKind::corruption);
}

void CacheHarness::resize(const std::string& what, std::uint32_t n) {
  if (n == 0) return void(++skipped_);
  bool refused = false;
  for (const auto& [c, m] : current_.mappings) refused = refused || (c >= n && m.dirty);
  const std::uint32_t old = current_.cache_blocks;
  if (refused) {
    ++ops_;
    const std::uint64_t faults = disk_.counters().faults_fired();
    const Status s = md_->resize(n);
    if (s) return fail(fmt::format("{}: shrinking the cache past a dirty block was not refused", what));
    if (s.error().kind() != ErrorKind::invalid || explained(faults, s.error())) {
      if (unexplained(faults, what, s.error())) return;
      return recover(std::nullopt);
    }
    ++refused_;
    return;  // refused, nothing changed
  }
  apply(what, [&](CacheState& next) -> Status {
    PDSIM_TRY(md_->resize(n));
    next.mappings.erase(next.mappings.lower_bound(n), next.mappings.end());
    if (next.hint_array && engine().resize_resizes_hints()) next.hints.resize(n, 0);
    next.cache_blocks = n;
    return {};
  });
  if (!failed() && current_.cache_blocks == n && n > old) verify_mappings_after_grow(what, old);
  if (!failed() && current_.cache_blocks == n && engine().name() == "kernel" && kernel_array_shrink_keeps_partial_block(old, n))
    shrink_bug_possible_ = fmt::format("{} (from {} to {} entries)", what, old, n);
}

void CacheHarness::verify_mappings_after_grow(const std::string& what, std::uint32_t old_blocks) {
  ++grows_;
  sim::PausedPlan paused(disk_);
  for (const auto& [c, m] : current_.mappings) {
    auto got = md_->lookup(c);
    if (!got) return fail(fmt::format("{}: lookup of cache block {} after the grow: {}", what, c, got.error().to_string()));
    if (*got == m) continue;
    const std::string found = !*got ? std::string("unmapped")
                                    : fmt::format("origin block {}{}", (*got)->oblock, (*got)->dirty ? " (dirty)" : "");
    return fail(fmt::format("{}: growing the cache from {} to {} blocks lost the mapping of cache block {} (origin "
                            "block {}{}): it now reads {}", what, old_blocks, current_.cache_blocks, c, m.oblock,
                            m.dirty ? ", dirty" : "", found));
  }
}

void CacheHarness::commit(const std::string& what, bool clean) {
  ++ops_;
  CacheState attempted = current_;
  attempted.stats.write_hits = committed_.stats.write_hits + 1;
  attempted.clean = clean;
  md_->set_stats(attempted.stats);
  const std::uint64_t faults = disk_.counters().faults_fired();
  const Status s = md_->commit(clean);
  if (!s) {
    if (unexplained(faults, what, s.error())) return;
    return recover(attempted);
  }
  ++commits_;
  faults_at_clean_ = disk_.counters().faults_fired();
  previous_.reset();
  committed_ = current_ = attempted;
  if (keep_images()) commit_image_ = disk_.current();
  note(fmt::format("cache: committed txn {}{}", committed_.stats.write_hits, clean ? " (clean shutdown)" : ""));
  expect_durable(std::nullopt, "after a commit");
}

void CacheHarness::recover(const std::optional<CacheState>& attempted) {
  ++errors_;
  Status s = md_->abort();
  const bool retried = !s;
  if (retried) {
    disk_.set_plan(sim::FaultPlan{});  // the plan is still active: retry clean, and stay clean
    s = md_->abort();
  }
  if (!s) return fail(fmt::format("abort after an injected error: {}", s.error().to_string()));
  note(fmt::format("cache: aborted{}", retried ? " (the first abort failed; retried with the faults off)" : ""));
  expect_durable(attempted, "after an aborted transaction");
  if (retried && engine().abort_retry_reopens() && !failed()) after_reopen("after a failed abort");
  current_ = committed_;
  faults_at_clean_ = disk_.counters().faults_fired();
}

void CacheHarness::power_cut(sim::PowerCutPolicy policy) {
  ++cuts_;
  disk_.power_cut(policy);
  md_.reset();
  {
    sim::PausedPlan paused(disk_);
    auto reopened = engine().open(disk_, kCacheBlockSize);
    if (!reopened)
      return fail(fmt::format("reopen after a power cut ({}): {}", sim::to_string(policy), reopened.error().to_string()));
    md_ = std::move(reopened).value();
    faults_at_clean_ = disk_.counters().faults_fired();
  }
  note(fmt::format("cache: reopened after the cut, clean shutdown {}", md_->clean_when_opened()));
  expect_durable(std::nullopt, "after a power cut and reopen");
  after_reopen(fmt::format("after a power cut ({})", sim::to_string(policy)));
  current_ = committed_;
}

void CacheHarness::after_reopen(const std::string& when) {
  if (md_->clean_when_opened() != committed_.clean)
    fail(fmt::format("{}: reopen found clean shutdown {}, the surviving commit (txn {}) wrote {}", when,
                     md_->clean_when_opened(), committed_.stats.write_hits, committed_.clean));
  committed_.clean = false;  // open clears the flag on disk at once
  previous_.reset();         // and flushes: nothing is in flight any more
}

void CacheHarness::expect_durable(const std::optional<CacheState>& attempted, const char* when) {
  ++checks_;
  sim::PausedPlan paused(disk_);
  sim::ImageDevice image(disk_.current());
  std::ostringstream xml;
  if (Status s = cache::dump_cache_xml(image, xml, cache::DumpOptions{true}); !s)
    return fail(fmt::format("{}: the durable metadata does not read back: {}", when, s.error().to_string()));
  auto report = check::check_cache(image);
  if (!report) return fail(fmt::format("{}: checker: {}", when, report.error().to_string()));
  if (!report->report.problems.empty()) {
    const auto& problems = report->report.problems;
    const bool shrink_bug = !shrink_bug_possible_.empty() && std::all_of(problems.begin(), problems.end(), [](const auto& p) {
      return p.kind == check::ProblemKind::bad_array_length;
    });
    if (shrink_bug && !failed()) {  // what a kernel with the dm-array shrink bug commits: a known divergence
      divergence_ = fmt::format("{}: the kernel's dm-array shrink at {} kept the old partial block: {}", when,
                                shrink_bug_possible_, check::to_string(problems.front()));
      md_.reset();
      return;
    }
    return fail(fmt::format("{}: checker: {} problems, first: {}", when, problems.size(), check::to_string(problems.front())));
  }
  const auto txn = cache::Superblock::unpack(image.image().get(0)->data()).stats.write_hits;
  if (attempted && txn == attempted->stats.write_hits && txn == committed_.stats.write_hits + 1) {
    ++in_flight_;
    previous_ = committed_;
    committed_ = *attempted;
    if (keep_images()) previous_image_ = std::exchange(commit_image_, disk_.current());
  } else if (previous_ && txn == previous_->stats.write_hits && txn + 1 == committed_.stats.write_hits) {
    committed_ = *previous_;
    previous_.reset();
    commit_image_ = std::move(previous_image_);
    previous_image_.reset();
  }
  note(fmt::format("cache: the metadata reads back as txn {}; the last commit is txn {}", txn, committed_.stats.write_hits));
  const std::string want = committed_.xml();
  if (xml.str() != want)
    fail(fmt::format("{}: the durable metadata (txn {}) is not the last commit (txn {}){}: {}", when, txn,
                     committed_.stats.write_hits, attempted ? " nor the one in flight" : "",
                     first_line_difference(want, xml.str())));
}

void CacheHarness::step(std::size_t i, const std::string& text) {
  if (stopped()) return;
  if (opts_.trace) {
    trace_disk(disk_, traced_, trace_);
    trace_ << fmt::format("  step {}: {}\n", i, text);
  }
  std::istringstream in(text);
  std::string word;
  in >> word;
  const std::string what = fmt::format("step {} ({})", i, text);
  if (word == "plan") {
    std::string line;
    std::getline(in, line);
    auto plan = sim::FaultPlan::parse(line);
    if (!plan) return fail(fmt::format("{}: {}", what, plan.error().to_string()));
    return disk_.set_plan(*plan);
  }
  if (word == "cut") {
    std::string p;
    in >> p;
    auto policy = sim::parse_power_cut_policy(p);
    if (!policy) return fail(fmt::format("{}: {}", what, policy.error().to_string()));
    return power_cut(*policy);
  }
  if (word == "hints") {
    std::uint32_t hseed = 0;
    std::string name;
    in >> hseed >> name;
    return apply(what, [&](CacheState& next) -> Status {
      const cache::Policy p{name, {2, 0, 0}, cache::kHintSize};
      PDSIM_TRY(md_->write_hints(p, [&](std::uint32_t c) -> Result<std::uint32_t> { return cache_hint(hseed, c); }));
      next.policy = name;
      next.hint_array = true;
      next.hints.resize(next.cache_blocks);
      for (std::uint32_t c = 0; c < next.cache_blocks; ++c) next.hints[c] = cache_hint(hseed, c);
      return {};
    });
  }
  const auto a = numbers(in);
  if (word == "resize" && a.size() == 1) return resize(what, static_cast<std::uint32_t>(a[0]));
  if (word == "commit" && a.size() == 1) return commit(what, a[0] != 0);
  if (!metadata_step(word, what, a)) fail(fmt::format("{}: unknown step", what));
}

// The steps that change one mapping, the discard bitset or the stats; false when `word` with
// these arguments is none of them.
bool CacheHarness::metadata_step(const std::string& word, const std::string& what, const std::vector<std::uint64_t>& a) {
  const auto c = a.empty() ? 0 : static_cast<std::uint32_t>(a[0]);
  const bool in_cache = !a.empty() && a[0] < current_.cache_blocks;
  const bool mapped = in_cache && current_.mappings.count(c) != 0;
  auto skip = [&] {
    ++skipped_;
    return true;
  };
  if (word == "insert" && a.size() == 2) {
    bool elsewhere = false;
    for (const auto& [cb, m] : current_.mappings) elsewhere = elsewhere || (m.oblock == a[1] && cb != c);
    if (!in_cache || elsewhere) return skip();
    const std::string desc = mapped ? fmt::format("{}: re-mapping cache block {} (origin block {} -> {})", what, c,
                                                  current_.mappings.at(c).oblock, a[1])
                                    : fmt::format("{}: mapping cache block {} to origin block {}", what, c, a[1]);
    apply(desc, [&](CacheState& next) -> Status {
      PDSIM_TRY(md_->insert_mapping(c, a[1]));
      next.mappings[c] = cache::Mapping{a[1], false};  // a new mapping is clean
      return {};
    });
    return true;
  }
  if (word == "remove" && a.size() == 1) {
    if (!mapped) return skip();
    apply(what, [&](CacheState& next) -> Status {
      PDSIM_TRY(md_->remove_mapping(c));
      next.mappings.erase(c);
      return {};
    });
    return true;
  }
  if (word == "dirty" && a.size() == 2) {
    if (!mapped) return skip();
    apply(what, [&](CacheState& next) -> Status {
      PDSIM_TRY(md_->set_dirty(c, a[1] != 0));
      next.mappings[c].dirty = a[1] != 0;
      return {};
    });
    return true;
  }
  if (word == "discards" && a.size() == 1) {
    apply(what, [&](CacheState& next) -> Status {
      PDSIM_TRY(md_->resize_discard(kCacheDiscardBlockSize, a[0]));
      next.discard_block_size = kCacheDiscardBlockSize;
      next.discards.resize(a[0], false);
      return {};
    });
    return true;
  }
  if (word == "discard" && a.size() == 2) {
    if (a[0] >= current_.discards.size()) return skip();
    apply(what, [&](CacheState& next) -> Status {
      PDSIM_TRY(md_->set_discard(a[0], a[1] != 0));
      next.discards[a[0]] = a[1] != 0;
      return {};
    });
    return true;
  }
  if (word == "stats" && a.size() == 2) {
    apply(what, [&](CacheState& next) -> Status {
      next.stats.read_hits = static_cast<std::uint32_t>(a[0]);
      next.stats.write_misses = static_cast<std::uint32_t>(a[1]);
      md_->set_stats(next.stats);
      return {};
    });
    return true;
  }
  return false;
}

void CacheHarness::finish() {
  if (!failed() && !stopped()) {
    disk_.set_plan(sim::FaultPlan{});
    power_cut(sim::PowerCutPolicy::none);
  }
  if (opts_.trace) trace_disk(disk_, traced_, trace_);
}

SeedOutcome CacheHarness::outcome() {
  SeedOutcome out;
  out.failures = failures_.lines();
  out.passed = failures_.empty();
  out.operations = ops_;
  out.divergence = divergence_;
  out.summary = fmt::format("v{}, {} blocks, {} mappings at the end; {} ops ({} skipped), {} commits, {} injected errors "
                            "({} commits in flight kept), {} power cuts, {} grows checked, {} shrinks refused, {} checks",
                            committed_.version, current_.cache_blocks, current_.mappings.size(), ops_, skipped_, commits_,
                            errors_, in_flight_, cuts_, grows_, refused_, checks_);
  if (!out.passed && !opts_.save_images_dir.empty())
    save_failing_image(failing_images(disk_, disk_.current(), commit_image_), opts_.save_images_dir, scenario_, seed_,
                       out.failures);
  return out;
}

SeedOutcome run_cache_steps(const std::string& scenario, std::uint64_t seed, std::uint32_t version, const Steps& steps,
                            const RunOptions& opts, std::ostream& trace, BlockNr metadata_blocks) {
  CacheHarness h(scenario, seed, version, opts, trace, metadata_blocks);
  if (h.start()) {
    for (std::size_t i = 0; i < steps.size() && !h.failed(); ++i) h.step(i, steps[i]);
    h.finish();
  }
  return h.outcome();
}

}  // namespace pdsim::scenarios
