// SPDX-License-Identifier: GPL-2.0-or-later
// differential_thin: thin-pool metadata steps into pdsim's engine and the kernel's (see
// differential.h). Steps, one text line each:
//   create ID | snap ID ORIGIN | delete ID | map ID V | fill ID V N | unmap ID V | range ID B E |
//   find ID V | next ID V | low ID | high ID | count ID | ids | free | grow N | txn |
//   reserve | release | commit | abort | failcommit | cut POLICY
// `fill` maps N consecutive blocks from V (each insert compared); `failcommit` commits with every
// write failing on both disks, then aborts; `cut` cuts the power on both disks and reopens. The
// pool messages (create, snap, delete, txn, reserve, release) commit when they succeed, and an
// abort is followed by a reload, as in dm-thin.
#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "core/thin/pool_metadata.h"
#include "kernel/kernel_engine.h"
#include "scenarios/differential/differential.h"
#include "sim/rng.h"

namespace pdsim::scenarios {
namespace {

constexpr std::uint32_t kDataBlockSize = 128;
constexpr BlockNr kMetadataBlocks = 4096;
constexpr BlockNr kDataBlocks = 40000;
constexpr std::size_t kCacheBlocks = 128;  // small: both engines evict and re-read within a transaction
constexpr std::uint64_t kSteps = 160;

std::vector<std::uint64_t> numbers(std::istringstream& in) {
  std::vector<std::uint64_t> out;
  std::uint64_t v = 0;
  while (in >> v) out.push_back(v);
  return out;
}

class ThinDiff final : public DiffRun {
 public:
  ThinDiff(std::uint64_t seed, const RunOptions& opts, std::ostream& trace)
      : DiffRun("differential_thin", seed, opts, trace, kMetadataBlocks) {
    engines_[0] = &thin::pdsim_thin_engine();
    engines_[1] = opts.peer_thin_engine != nullptr ? opts.peer_thin_engine
                  : kernel::available()             ? &kernel::thin_engine()
                                                    : nullptr;
  }

  bool start() {
    if (engines_[1] == nullptr) {
      fail("differential_thin needs the kernel engine: this build has none (configure with -DPDSIM_KERNEL_ENGINE=ON)");
      return false;
    }
    std::array<std::string, 2> r;
    for (std::size_t s = 0; s < 2; ++s) {
      auto md = engines_[s]->format(disks_[s], kDataBlockSize, kCacheBlocks);
      if (!md) {
        fail(fmt::format("format ({}): {}", kNames[s], md.error().to_string()));
        return false;
      }
      md_[s] = std::move(md).value();
      r[s] = describe(md_[s]->resize_data(kDataBlocks));
    }
    if (!agree("format and size the data device", r)) return false;
    r = {describe(md_[0]->commit()), describe(md_[1]->commit())};
    return agree("first commit", r) && images_agree("after the first commit", MetadataKind::thin);
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
    const auto a = numbers(in);
    auto arg = [&](std::size_t k) { return k < a.size() ? a[k] : 0; };
    if (word == "fill") return fill(what, arg(0), arg(1), arg(2));
    if (word == "commit") return commit(what);
    if (word == "abort") return abort(what);
    if (word == "failcommit") return fail_commit(what);
    std::array<std::string, 2> r;
    for (std::size_t s = 0; s < 2; ++s) {
      auto res = call(s, word, a);
      if (!res) return fail(fmt::format("{}: unknown step", what));
      r[s] = *res;
    }
    if (!agree(what, r)) return;
    after_errors(what);
    // dm-thin commits after every pool message that succeeds (create, snapshot, delete, the
    // transaction id, the metadata snapshot), as this does. Deleting a device created in the same
    // transaction is a sequence it never issues: the kernel's __delete_device then fails on the
    // details tree after shadowing it and the next commit writes under-counts (ours mirrors it).
    static constexpr std::array<std::string_view, 6> kMessages{"create", "snap", "delete", "txn", "reserve", "release"};
    if (!done() && r[0].starts_with("ok") && std::find(kMessages.begin(), kMessages.end(), word) != kMessages.end())
      commit(what + ", then the message's commit");
  }

  void finish() {
    if (done()) return;
    commit("the last commit");
    if (!done()) cut("the end", sim::PowerCutPolicy::none);
  }
  using DiffRun::outcome;

  [[nodiscard]] std::string summary() const { return fmt::format("{} mappings made", mapped_); }

 private:
  // One call on side s; nullopt for an unknown step. The text is what is compared.
  std::optional<std::string> call(std::size_t s, const std::string& word, const std::vector<std::uint64_t>& a) {
    seam::ThinMetadata& md = *md_[s];
    auto arg = [&](std::size_t k) { return k < a.size() ? a[k] : 0; };
    auto num = [](std::uint64_t v) { return std::to_string(v); };
    auto opt = [](const std::optional<std::uint64_t>& v) { return v ? std::to_string(*v) : std::string("none"); };
    last_[s].reset();
    auto note = [&](const Status& st) {
      if (!st) last_[s] = st.error();
      return describe(st);
    };
    auto note_r = [&](const auto& res, auto&& value) {
      if (!res) last_[s] = res.error();
      return describe(res, value);
    };
    if (word == "create") return note(md.create_thin(arg(0)));
    if (word == "snap") return note(md.create_snapshot(arg(0), arg(1)));
    if (word == "delete") return note(md.delete_device(arg(0)));
    if (word == "map") return map_one(s, arg(0), arg(1));
    if (word == "unmap") return note(md.remove_mapping(arg(0), arg(1)));
    if (word == "range") return note_r(md.remove_range(arg(0), arg(1), arg(2)), num);
    if (word == "find")
      return note_r(md.find_block(arg(0), arg(1)), [](const std::optional<seam::ThinLookup>& l) {
        return l ? fmt::format("{}{}", l->data_block, l->shared ? " shared" : "") : std::string("none");
      });
    if (word == "next")
      return note_r(md.next_mapping(arg(0), arg(1)), [](const std::optional<std::pair<std::uint64_t, BlockNr>>& m) {
        return m ? fmt::format("{}->{}", m->first, m->second) : std::string("none");
      });
    if (word == "low") return note_r(md.lowest_mapped_block(arg(0)), opt);
    if (word == "high") return note_r(md.highest_mapped_block(arg(0)), opt);
    if (word == "count") return note_r(md.mapped_count(arg(0)), num);
    if (word == "ids")
      return note_r(md.device_ids(), [](const std::vector<std::uint64_t>& v) { return fmt::format("{}", fmt::join(v, ",")); });
    if (word == "free") {
      const std::array<Result<BlockNr>, 5> v{md.data_nr_blocks(), md.data_nr_free(), md.metadata_nr_blocks(),
                                             md.metadata_nr_free(), md.metadata_sm_nr_free()};
      std::string out;
      for (const auto& x : v) {
        if (!x) last_[s] = x.error();
        out += (out.empty() ? "" : " ") + describe(x, num);
      }
      return out;
    }
    if (word == "grow") {
      auto n = md.data_nr_blocks();
      if (!n) return note(n.error());
      return note(md.resize_data(*n + arg(0)));
    }
    if (word == "txn") {
      const std::uint64_t t = md.transaction_id();
      return fmt::format("{} (was {})", note(md.set_transaction_id(t, t + 1)), t);
    }
    if (word == "reserve") return note(md.reserve_metadata_snap());
    if (word == "release") return note(md.release_metadata_snap());
    return std::nullopt;
  }

  // alloc_data_block then insert_mapping (what dm-thin does to provision a block).
  std::string map_one(std::size_t s, std::uint64_t id, std::uint64_t v) {
    seam::ThinMetadata& md = *md_[s];
    auto b = md.alloc_data_block();
    if (!b) {
      last_[s] = b.error();
      return "alloc " + describe(Status(b.error()));
    }
    if (!*b) return "alloc full";
    Status st = md.insert_mapping(id, v, **b);
    if (!st) {
      last_[s] = st.error();
      insert_failed_ = true;  // the block allocated for it: only an abort gives it back
    }
    return fmt::format("{} {}", **b, describe(st));
  }

  void fill(const std::string& what, std::uint64_t id, std::uint64_t v, std::uint64_t n) {
    for (std::uint64_t k = 0; k < n && !done(); ++k) {
      const std::array<std::string, 2> r{map_one(0, id, v + k), map_one(1, id, v + k)};
      if (!agree(fmt::format("{}: block {}", what, v + k), r)) return;
      if (last_[0] || last_[1]) return after_errors(what);
      ++mapped_;
    }
  }

  // dm-thin aborts after a failed insert (its data block only an abort gives back), an error the
  // disk caused or running out of space; a refused request changes nothing.
  void after_errors(const std::string& what) {
    const bool force = insert_failed_;
    insert_failed_ = false;
    DiffRun::after_errors(what, &DiffRun::aborts, force);
  }

  Status commit_side(std::size_t s, bool) override { return md_[s]->commit(); }
  Status abort_side(std::size_t s) override { return md_[s]->abort(); }
  std::string reopen_side(std::size_t s) override {
    md_[s].reset();
    auto md = engines_[s]->open(disks_[s], kDataBlockSize, false, kCacheBlocks);
    const std::string r = describe(md, [](const auto&) { return std::string(); });
    if (md) md_[s] = std::move(md).value();
    return r;
  }
  bool side_open(std::size_t s) const override { return md_[s] != nullptr; }
  bool durable_images_agree(const std::string& what) override { return images_agree(what, MetadataKind::thin); }

  std::array<seam::ThinEngine*, 2> engines_{};
  std::array<std::unique_ptr<seam::ThinMetadata>, 2> md_;
  std::uint64_t mapped_ = 0;
  bool insert_failed_ = false;  // dm-thin aborts after a failed insert
};

// The generator's view: devices and roughly what they map (it ignores faults and refusals).
Steps generate(std::uint64_t seed) {
  sim::Rng rng(sim::sub_seed(seed, "differential_thin"));
  Steps out;
  std::map<std::uint64_t, std::set<std::uint64_t>> devs;
  std::uint64_t next_id = 0;
  auto some_dev = [&]() -> std::uint64_t {
    if (devs.empty()) return 0;
    auto it = devs.begin();
    std::advance(it, static_cast<long>(rng.below(devs.size())));
    return it->first;
  };
  auto some_block = [&](std::uint64_t id) -> std::uint64_t {
    const auto& m = devs[id];
    if (m.empty() || rng.chance(1, 8)) return rng.below(20000);
    auto it = m.lower_bound(rng.below(20000));
    return it == m.end() ? *m.begin() : *it;
  };
  const auto& policies = sim::kSectorAtomicPowerCutPolicies;
  for (std::uint64_t k = 0; k < kSteps; ++k) {
    const std::uint64_t r = rng.below(100);
    if (devs.empty() || r < 4) {
      const std::uint64_t id = next_id++;
      out.push_back(fmt::format("create {}", id));
      devs[id];
    } else if (r < 30) {
      const std::uint64_t id = some_dev(), v = rng.below(20000), n = rng.chance(1, 4) ? rng.between(100, 600) : rng.between(1, 40);
      out.push_back(fmt::format("fill {} {} {}", id, v, n));
      for (std::uint64_t j = 0; j < n; ++j) devs[id].insert(v + j);
    } else if (r < 36) {
      const std::uint64_t id = some_dev(), v = rng.below(20000);
      out.push_back(fmt::format("map {} {}", id, v));
      devs[id].insert(v);
    } else if (r < 40) {
      const std::uint64_t id = next_id++, origin = some_dev();
      out.push_back(fmt::format("snap {} {}", id, origin));
      devs[id] = devs[origin];
    } else if (r < 42) {
      const std::uint64_t id = rng.chance(1, 10) ? next_id + 3 : some_dev();
      out.push_back(fmt::format("delete {}", id));
      devs.erase(id);
    } else if (r < 50) {
      const std::uint64_t id = some_dev(), v = some_block(id);
      out.push_back(fmt::format("unmap {} {}", id, v));
      devs[id].erase(v);
    } else if (r < 54) {
      const std::uint64_t id = some_dev(), b = some_block(id), e = b + rng.between(1, rng.chance(1, 3) ? 3000 : 100);
      out.push_back(fmt::format("range {} {} {}", id, b, e));
      auto& m = devs[id];
      m.erase(m.lower_bound(b), m.lower_bound(e));
    } else if (r < 70) {
      const std::uint64_t id = rng.chance(1, 20) ? next_id + 7 : some_dev();
      static constexpr std::array<const char*, 6> kLookups{"find", "next", "low", "high", "count", "ids"};
      const char* w = kLookups[rng.below(kLookups.size())];
      out.push_back(fmt::format("{} {} {}", w, id, some_block(id)));
    } else if (r < 80) {
      out.emplace_back("commit");
    } else if (r < 83) {
      out.emplace_back("free");
    } else if (r < 85) {
      out.emplace_back("abort");
    } else if (r < 88) {
      out.emplace_back("failcommit");
    } else if (r < 92) {
      out.push_back(fmt::format("cut {}", sim::to_string(policies[rng.below(policies.size())])));
    } else if (r < 95) {
      out.emplace_back(rng.chance(1, 2) ? "reserve" : "release");
    } else if (r < 97) {
      out.emplace_back("txn");
    } else {
      out.push_back(fmt::format("grow {}", rng.between(1, 20000)));
    }
  }
  return out;
}

}  // namespace

Scenario differential_thin_scenario() {
  Scenario s;
  s.name = "differential_thin";
  s.description =
      "One list of thin-pool metadata steps (devices, snapshots, single and bulk mappings, removes and range removes, "
      "lookups, commits, aborts, commits whose writes all fail, power cuts under every sector-atomic policy, metadata "
      "snapshots, data-device grows) into pdsim's engine and the kernel's own code, each on its own simulated disk. "
      "Every result agrees (values, error kinds); after every commit and recovery the two images agree in their "
      "dump, their allocated metadata blocks and reference counts, their data-block counts and every live byte of "
      "every node. The first divergence fails the run with its step and level.";
  s.generate = generate;
  s.replay = &DiffRun::replay<ThinDiff>;
  {
    const ArgRange id{"device id", 0, kMaxThinId}, v{"virtual block", 0, kMaxVirtualBlock};
    using T = StepForm::Tail;
    s.grammar = {
        {"create", {id}}, {"snap", {id, id}}, {"delete", {id}}, {"map", {id, v}},
        {"fill", {id, v, {"count", 0, kMaxBlocksPerStep}}}, {"unmap", {id, v}},
        {"range", {id, v, v}, 0, T::none, range_relation(1, 2)},
        {"find", {id, v}}, {"next", {id, v}}, {"low", {id, v}, 1}, {"high", {id, v}, 1}, {"count", {id, v}, 1},
        {"ids", {id, v}, 2}, {"free", {}}, {"grow", {{"data blocks", 0, 1u << 24}}}, {"txn", {}},
        {"reserve", {}}, {"release", {}}, {"commit", {}}, {"abort", {}}, {"failcommit", {}},
        {"cut", {}, 0, T::power_cut},
    };
  }
  s.run = [](std::uint64_t seed, const RunOptions& opts, std::ostream& trace) {
    return DiffRun::replay<ThinDiff>(seed, generate(seed), opts, trace);
  };
  return s;
}

}  // namespace pdsim::scenarios
