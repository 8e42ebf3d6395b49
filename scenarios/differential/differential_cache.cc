// SPDX-License-Identifier: GPL-2.0-or-later
// differential_cache: dm-cache metadata steps into pdsim's engine and the kernel's (see
// differential.h); version 1 on odd seeds, 2 on even ones. Steps, one text line each:
//   resize N | insert C O | remove C | dirty C 0|1 | lookup C | load | discards N | discard D 0|1 |
//   loaddiscards | hints SEED NAME | commit CLEAN(0|1) | abort | failcommit | cut POLICY | free
//
// One intended difference is kept out: after a resize, the kernel keeps the hint array as it was
// and pdsim's engine resizes it (CacheEngine::resize_resizes_hints(); cache_check 0.9 rejects the
// kernel's), so the two engines' allocations part for good. Once hints have been written, a
// `resize` step is skipped (counted); the difference itself is pinned by the kernel engine tests.
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "core/cache/cache_metadata.h"
#include "kernel/kernel_engine.h"
#include "scenarios/differential/differential.h"
#include "scenarios/harness/cache_harness.h"
#include "sim/rng.h"

namespace pdsim::scenarios {
namespace {

constexpr std::uint32_t kDataBlockSize = 128;
constexpr BlockNr kMetadataBlocks = 2048;
constexpr std::uint64_t kSteps = 220;
constexpr std::uint64_t kDiscardBlockSize = 256;

constexpr std::uint64_t kMappingsPerBlock = kCacheMappingsPerBlock;

std::uint32_t version_of(std::uint64_t seed) { return seed % 2 == 1 ? 1 : 2; }



class CacheDiff final : public DiffRun {
 public:
  CacheDiff(std::uint64_t seed, const RunOptions& opts, std::ostream& trace)
      : DiffRun("differential_cache", seed, opts, trace, kMetadataBlocks) {
    engines_[0] = &cache::pdsim_cache_engine();
    engines_[1] = opts.peer_cache_engine != nullptr ? opts.peer_cache_engine
                  : kernel::available()              ? &kernel::cache_engine()
                                                     : nullptr;
  }

  bool start() {
    if (engines_[1] == nullptr) {
      fail("differential_cache needs the kernel engine: this build has none (configure with -DPDSIM_KERNEL_ENGINE=ON)");
      return false;
    }
    for (std::size_t s = 0; s < 2; ++s) {
      auto md = engines_[s]->format(disks_[s], kDataBlockSize, version_of(seed_));
      if (!md) {
        fail(fmt::format("format ({}): {}", kNames[s], md.error().to_string()));
        return false;
      }
      md_[s] = std::move(md).value();
    }
    hints_differ_ = engines_[0]->resize_resizes_hints() != engines_[1]->resize_resizes_hints();
    return durable_images_agree("after format");
  }

  void step(std::size_t i, const std::string& text) {
    if (done()) return;
    if (opts_.trace) trace_ << fmt::format("  step {}: {}\n", i, text);
    last_ = {};
    const std::string what = fmt::format("step {} ({})", i, text);
    std::istringstream in(text);
    std::string word;
    in >> word;
    if (word == "cut") {
      std::string p;
      in >> p;
      auto policy = sim::parse_power_cut_policy(p);
      if (!policy) return fail(fmt::format("{}: {}", what, policy.error().to_string()));
      return cut(what, *policy);
    }
    if (word == "resize" && hints_differ_ && has_hints_) return void(++skipped_);
    // dm-cache never sets a discard bit past its bitset's length. The kernel's dm_cache_set_discard
    // accepts one inside the last word (its dm-bitset checks the word, not the bit); ours refuses.
    if (word == "discard") {
      std::uint64_t d = 0;
      std::istringstream peek(text.substr(word.size()));
      peek >> d;
      if (d >= discards_now_) return void(++skipped_);
    }
    if (word == "hints") {
      std::uint32_t hseed = 0;
      std::string name;
      in >> hseed >> name;
      const seam::CachePolicy p{name, {2, 0, 0}, 4};
      std::array<std::string, 2> r;
      for (std::size_t s = 0; s < 2; ++s)
        r[s] = note(s, md_[s]->write_hints(p, [&](std::uint32_t c) -> Result<std::uint32_t> { return hseed ^ (c * 2654435761u); }));
      if (!agree(what, r)) return;
      if (r[0] == "ok") policy_ = name;
      has_hints_ = true;  // even a failed write may have left a hint array behind
      return after_errors(what);
    }
    std::vector<std::uint64_t> a;
    for (std::uint64_t v = 0; in >> v;) a.push_back(v);
    auto arg = [&](std::size_t k) { return k < a.size() ? a[k] : 0; };
    if (word == "commit") return commit(what, arg(0) != 0);
    if (word == "abort") return abort(what);
    if (word == "failcommit") return fail_commit(what);
    const std::uint32_t old_blocks = md_[0]->cache_blocks();
    std::array<std::string, 2> r;
    for (std::size_t s = 0; s < 2; ++s) {
      auto res = call(s, word, a);
      if (!res) return fail(fmt::format("{}: unknown step", what));
      r[s] = *res;
    }
    if (!agree(what, r)) return;
    if (word == "discards" && r[0] == "ok" && !a.empty()) discards_now_ = a[0];
    if (word == "resize" && r[0] == "ok" && !a.empty() && kernel_array_shrink_keeps_partial_block(old_blocks, a[0]))
      shrink_bug_possible_ = fmt::format("{} (from {} to {} entries, a whole number of {}-entry blocks)", what,
                                         old_blocks, a[0], kMappingsPerBlock);
    after_errors(what);
  }

  [[nodiscard]] std::string summary() const {
    return fmt::format("v{}, {} steps skipped (resizes after hints, discard bits past the end)", version_of(seed_), skipped_);
  }

  void finish() {
    if (done()) return;
    commit("the last commit", true);
    if (!done()) cut("the end", sim::PowerCutPolicy::none);
  }

 private:
  std::string note(std::size_t s, const Status& st) {
    if (!st) last_[s] = st.error();
    return describe(st);
  }

  std::optional<std::string> call(std::size_t s, const std::string& word, const std::vector<std::uint64_t>& a) {
    seam::CacheMetadata& md = *md_[s];
    auto arg = [&](std::size_t k) { return k < a.size() ? a[k] : 0; };
    const auto c = static_cast<std::uint32_t>(arg(0));
    last_[s].reset();
    if (word == "resize") return note(s, md.resize(c));
    if (word == "insert") return note(s, md.insert_mapping(c, arg(1)));
    if (word == "remove") return note(s, md.remove_mapping(c));
    if (word == "dirty") return note(s, md.set_dirty(c, arg(1) != 0));
    if (word == "discards") return note(s, md.resize_discard(kDiscardBlockSize, arg(0)));
    if (word == "discard") return note(s, md.set_discard(arg(0), arg(1) != 0));
    if (word == "lookup") {
      auto m = md.lookup(c);
      if (!m) last_[s] = m.error();
      return describe(m, [](const std::optional<seam::CacheMapping>& x) {
        return x ? fmt::format("{}{}", x->oblock, x->dirty ? " dirty" : "") : std::string("none");
      });
    }
    if (word == "load") {
      // Hints are compared only while both engines' hint arrays are alike.
      const seam::CachePolicy p{policy_, {2, 0, 0}, 4};
      std::string got;
      Status st = md.load_mappings(p, [&](const seam::LoadedMapping& m) -> Result<bool> {
        got += fmt::format(" {}:{}{}", m.cblock, m.oblock, m.dirty ? "d" : "");
        if (m.hint) got += fmt::format("h{}", *m.hint);
        return true;
      });
      return note(s, st) + got;
    }
    if (word == "loaddiscards") {
      std::string got;
      Status st = md.load_discards([&](std::uint64_t d, bool on) -> Result<bool> {
        if (on) got += fmt::format(" {}", d);
        return true;
      });
      return note(s, st) + got;
    }
    if (word == "free") {
      auto n = md.metadata_nr_blocks();
      auto f = md.metadata_nr_free();
      if (!n) last_[s] = n.error();
      if (!f) last_[s] = f.error();
      auto num = [](BlockNr v) { return std::to_string(v); };
      return fmt::format("{} {} blocks {}", describe(n, num), describe(f, num), md.cache_blocks());
    }
    return std::nullopt;
  }

  // dm-cache aborts after any failed metadata call (metadata_operation_failed), refusals
  // included: the kernel's dm-array shadows an array block before it checks the index, so even a
  // refused out-of-range call has changed the transaction.
  void after_errors(const std::string& what) {
    DiffRun::after_errors(what, [](ErrorKind) { return true; });
  }

  Status commit_side(std::size_t s, bool clean) override { return md_[s]->commit(clean); }
  Status abort_side(std::size_t s) override { return md_[s]->abort(); }
  std::string reopen_side(std::size_t s) override {
    md_[s].reset();
    auto md = engines_[s]->open(disks_[s], kDataBlockSize);
    const std::string r = describe(md, [](const auto&) { return std::string(); });
    if (md) md_[s] = std::move(md).value();
    return r;
  }
  bool side_open(std::size_t s) const override { return md_[s] != nullptr; }
  void on_commit() override { discards_committed_ = discards_now_; }
  void on_rollback() override { discards_now_ = discards_committed_; }

  // The durable images (after a commit, an abort or a reopen: the committed state). After a
  // shrink the kernel's dm-array gets wrong (pinned by KernelEngine.
  // TheKernelsArrayShrinkToAWholeNumberOfBlocksKeepsTheOldPartialBlock), exactly that difference —
  // ours clean, the kernel's mapping array longer than the cache — is a known divergence.
  bool durable_images_agree(const std::string& what) override {
    if (shrink_bug_possible_.empty()) return images_agree(what, MetadataKind::cache);
    const auto d = compare_images(MetadataKind::cache, disks_[0].current(), kNames[0], disks_[1].current(), kNames[1]);
    ++compared_images_;
    if (!d) return true;
    if (d->what.find("pdsim's: clean; kernel's: 1 problems, first: bad_array_length") != std::string::npos) {
      if (failures_.empty())
        divergence_ = fmt::format("{}: the kernel's dm-array shrink at {} kept the old partial block: {}", what,
                                  shrink_bug_possible_, d->what);
      return false;
    }
    fail(fmt::format("{}: {} divergence: {}", what, to_string(d->level), d->what));
    return false;
  }


  std::array<seam::CacheEngine*, 2> engines_{};
  std::array<std::unique_ptr<seam::CacheMetadata>, 2> md_;
  std::uint64_t skipped_ = 0;
  std::string shrink_bug_possible_;  // the step that made a shrink the kernel's dm-array gets wrong
  std::uint64_t discards_now_ = 0, discards_committed_ = 0;  // the discard bitset's length
  bool hints_differ_ = false;  // the engines disagree on resizing the hint array (by design)
  bool has_hints_ = false;      // hints were written once: a hint array may exist
  std::string policy_ = "smq";  // the policy of the last hints written
};

Steps generate(std::uint64_t seed) {
  sim::Rng rng(sim::sub_seed(seed, "differential_cache"));
  Steps out;
  std::uint32_t blocks = 0;
  std::map<std::uint32_t, std::uint64_t> mapped;
  std::uint64_t discards = 0, origins = 0;
  const std::uint64_t salt = rng.next();
  static constexpr std::array<const char*, 3> kPolicies{"smq", "mq", "cleaner"};
  const auto& policies = sim::kSectorAtomicPowerCutPolicies;
  bool hinted = false;
  out.push_back(fmt::format("resize {}", rng.between(100, 2500)));
  for (std::uint64_t k = 0; k < kSteps; ++k) {
    const std::uint64_t r = rng.below(100);
    if (k == 0 || (r < 4 && !hinted)) {
      const auto n = static_cast<std::uint32_t>(rng.between(1, 3000));
      out.push_back(fmt::format("resize {}", n));
      blocks = n;  // a refused shrink leaves it as it was: the generator does not mind
    } else if (r < 34 && blocks > 0) {
      // A fresh origin block every time: dm-cache never maps one origin block twice (both
      // engines would commit such a mapping; the checker rejects it).
      const auto c = static_cast<std::uint32_t>(rng.below(blocks + blocks / 16 + 1));
      const std::uint64_t o = (origins++ * 40503 + salt) & ((1u << 20) - 1);
      out.push_back(fmt::format("insert {} {}", c, o));
      mapped[c] = o;
    } else if (r < 42 && !mapped.empty()) {
      auto it = mapped.begin();
      std::advance(it, static_cast<long>(rng.below(mapped.size())));
      if (rng.chance(1, 3)) {
        out.push_back(fmt::format("remove {}", it->first));
        mapped.erase(it);
      } else {
        out.push_back(fmt::format("dirty {} {}", it->first, rng.below(2)));
      }
    } else if (r < 54) {
      const std::uint64_t c = mapped.empty() || rng.chance(1, 4) ? rng.below(blocks + 8) : mapped.rbegin()->first;
      out.push_back(rng.chance(1, 6) ? std::string("load") : fmt::format("lookup {}", c));
    } else if (r < 58) {
      discards = rng.between(1, 3000);
      out.push_back(fmt::format("discards {}", discards));
    } else if (r < 66) {
      out.push_back(fmt::format("discard {} {}", rng.below(discards + 4), rng.chance(2, 3) ? 1 : 0));
    } else if (r < 68) {
      out.emplace_back("loaddiscards");
    } else if (r < 72 && k >= kSteps / 2) {  // the first half resizes, the second writes hints
      out.push_back(fmt::format("hints {} {}", rng.below(1u << 30), kPolicies[rng.below(kPolicies.size())]));
      hinted = true;
    } else if (r < 84) {
      out.push_back(fmt::format("commit {}", rng.below(2)));
    } else if (r < 87) {
      out.emplace_back("abort");
    } else if (r < 90) {
      out.emplace_back("failcommit");
    } else if (r < 95) {
      out.push_back(fmt::format("cut {}", sim::to_string(policies[rng.below(policies.size())])));
    } else {
      out.emplace_back("free");
    }
  }
  return out;
}

}  // namespace

Scenario differential_cache_scenario() {
  Scenario s;
  s.name = "differential_cache";
  s.description =
      "One list of dm-cache metadata steps (version 1 on odd seeds, 2 on even ones: grows and shrinks, mappings and "
      "re-mappings, dirty bits, lookups and loads, discard bitsets, policy hints, commits clean or not, aborts, commits "
      "whose writes all fail, power cuts) into pdsim's engine and the kernel's own code, each on its own simulated "
      "disk. Every result agrees; after every commit and recovery the two images agree in their dump, their allocated "
      "metadata blocks and reference counts and every live byte. Once hints are written, resizes are skipped: the "
      "kernel keeps the hint array's length on a resize and ours resizes it, by design.";
  s.generate = generate;
  s.replay = &DiffRun::replay<CacheDiff>;
  {
    const ArgRange c{"cache block", 0, kMaxCacheBlocks - 1}, bit{"flag", 0, 1};
    using T = StepForm::Tail;
    s.grammar = {
        {"resize", {{"cache blocks", 0, kMaxCacheBlocks}}}, {"insert", {c, {"origin block", 0, kMaxOriginBlock}}},
        {"remove", {c}}, {"dirty", {c, bit}}, {"lookup", {c}}, {"load", {}},
        {"discards", {{"discard blocks", 0, kMaxDiscardBlocks}}}, {"discard", {{"discard block", 0, kMaxDiscardBlocks - 1}, bit}},
        {"loaddiscards", {}}, {"hints", {{"hint seed", 0, UINT32_MAX}}, 0, T::policy_name}, {"commit", {bit}},
        {"abort", {}}, {"failcommit", {}}, {"cut", {}, 0, T::power_cut}, {"free", {}},
    };
  }
  s.run = [](std::uint64_t seed, const RunOptions& opts, std::ostream& trace) {
    return DiffRun::replay<CacheDiff>(seed, generate(seed), opts, trace);
  };
  return s;
}

}  // namespace pdsim::scenarios
