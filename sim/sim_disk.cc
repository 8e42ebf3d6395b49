// SPDX-License-Identifier: GPL-2.0-or-later
#include "sim/sim_disk.h"

#include <algorithm>
#include <numeric>

#include <fmt/format.h>

namespace pdsim::sim {
namespace {
const Block kZeroBlock{};
}

std::string_view to_string(PowerCutPolicy p) noexcept {
  switch (p) {
    case PowerCutPolicy::none: return "none";
    case PowerCutPolicy::all: return "all";
    case PowerCutPolicy::prefix: return "prefix";
    case PowerCutPolicy::subset: return "subset";
    case PowerCutPolicy::reorder: return "reorder";
    case PowerCutPolicy::torn: return "torn";
    case PowerCutPolicy::garbage: return "garbage";
  }
  return "?";
}

Result<PowerCutPolicy> parse_power_cut_policy(std::string_view s) {
  for (auto p : kAllPowerCutPolicies)
    if (to_string(p) == s) return p;
  return Error::invalid(fmt::format("unknown power-cut policy '{}' (none, all, prefix, subset, reorder, torn, garbage)", s));
}

std::uint64_t SimDiskCounters::faults_fired() const { return std::accumulate(faults.begin(), faults.end(), 0ull); }

std::string SimDiskCounters::summary() const {
  std::string s = fmt::format("reads {} writes {} (fua {}) flushes {} power-cuts {} lost {} torn {} faults {}",
                              reads, writes, fua_writes, flushes, power_cuts, writes_lost, writes_torn,
                              faults_fired());
  if (faults_fired() > 0) {
    s += " (";
    bool first = true;
    for (std::size_t i = 1; i < kFaultActionCount; ++i) {
      if (faults[i] == 0) continue;
      s += fmt::format("{}{} {}", first ? "" : ", ", to_string(static_cast<FaultAction>(i)), faults[i]);
      first = false;
    }
    s += ")";
  }
  return s;
}

SharedBlock tear(ConstBlockSpan old_data, ConstBlockSpan new_data, Rng& rng, bool with_garbage) {
  auto out = std::make_shared<Block>();
  for (std::size_t s = 0; s < kSectorsPerBlock; ++s) {
    std::size_t off = s * kSectorSize;
    auto dst = std::span<std::uint8_t>(out->data() + off, kSectorSize);
    switch (rng.below(with_garbage ? 3 : 2)) {
      case 0: std::copy_n(old_data.data() + off, kSectorSize, dst.data()); break;
      case 1: std::copy_n(new_data.data() + off, kSectorSize, dst.data()); break;
      default: rng.fill(dst); break;
    }
  }
  return out;
}

SimDisk::SimDisk(BlockNr nr_blocks, std::uint64_t seed, FaultPlan plan)
    : SimDisk(Image(nr_blocks), seed, std::move(plan)) {}

SimDisk::SimDisk(Image initial, std::uint64_t seed, FaultPlan plan)
    : durable_(std::move(initial)), plan_(std::move(plan)), rng_(seed), log_(durable_) {}

const FaultRule* SimDisk::decide(OpKind kind, std::uint64_t kind_count, std::optional<BlockNr> b) {
  ++op_count_;
  if (plan_.empty()) return nullptr;
  const FaultRule* r = plan_.decide(OpContext{kind, kind_count, op_count_, b}, rng_);
  if (r != nullptr) ++counters_.faults[static_cast<std::size_t>(r->action)];
  return r;
}

void SimDisk::record(LogEntry e) {
  ++seq_;
  if (logging_) log_.append(std::move(e));
}

void SimDisk::flip_bits(Block& data, std::int64_t bits) {
  for (std::int64_t i = 0; i < bits; ++i) {
    auto bit = rng_.below(kBlockSize * 8);
    data[static_cast<std::size_t>(bit / 8)] ^= static_cast<std::uint8_t>(1u << (bit % 8));
  }
}

ConstBlockSpan SimDisk::newest(BlockNr b) const {
  if (auto it = newest_pending_.find(b); it != newest_pending_.end()) return ConstBlockSpan(*it->second);
  const SharedBlock& d = durable_.get(b);
  return d ? ConstBlockSpan(*d) : ConstBlockSpan(kZeroBlock);
}

Status SimDisk::read(BlockNr b, BlockSpan out) {
  if (b >= nr_blocks())
    return Error::invalid(fmt::format("simdisk: read of block {} past the end ({} blocks)", b, nr_blocks()));
  ++counters_.reads;
  const FaultRule* f = decide(OpKind::read, counters_.reads, b);
  LogEntry e{.op = LogOp::read, .block = b, .target = b};
  if (f != nullptr && f->action == FaultAction::error) {
    e.fault = FaultAction::error;
    e.ok = false;
    record(std::move(e));
    return Error::io(fmt::format("simdisk: read of block {} failed (injected)", b));
  }
  auto src = newest(b);
  std::copy(src.begin(), src.end(), out.begin());
  if (f != nullptr && f->action == FaultAction::rot) {
    Block tmp;
    std::copy(out.begin(), out.end(), tmp.begin());
    flip_bits(tmp, f->param);
    std::copy(tmp.begin(), tmp.end(), out.begin());
    e.fault = FaultAction::rot;
  }
  counters_.bytes_read += kBlockSize;
  record(std::move(e));
  return {};
}

Status SimDisk::write(BlockNr b, ConstBlockSpan data, WriteMode mode) {
  if (b >= nr_blocks())
    return Error::invalid(fmt::format("simdisk: write of block {} past the end ({} blocks)", b, nr_blocks()));
  ++counters_.writes;
  if (mode == WriteMode::fua) ++counters_.fua_writes;
  const FaultRule* f = decide(OpKind::write, counters_.writes, b);
  LogEntry e{.op = LogOp::write, .block = b, .target = b, .mode = mode};
  if (f != nullptr) e.fault = f->action;
  if (f != nullptr && logging_) e.sent = make_block(data);  // what the fault may keep from the disk

  if (f != nullptr && f->action == FaultAction::error) {
    e.ok = false;
    record(std::move(e));
    return Error::io(fmt::format("simdisk: write of block {} failed (injected)", b));
  }
  if (f != nullptr && f->action == FaultAction::nospace) {
    e.ok = false;
    record(std::move(e));
    return Error::no_space(fmt::format("simdisk: no space for block {} (injected)", b));
  }
  if (f != nullptr && f->action == FaultAction::drop) {
    record(std::move(e));  // reported as success, stored nowhere
    return {};
  }

  auto stored = std::make_shared<Block>();
  std::copy(data.begin(), data.end(), stored->begin());
  if (f != nullptr && f->action == FaultAction::flip) flip_bits(*stored, f->param);
  if (f != nullptr && f->action == FaultAction::misdirect) {
    auto n = static_cast<std::int64_t>(nr_blocks());
    auto t = (static_cast<std::int64_t>(b % nr_blocks()) + f->param % n + n) % n;
    e.target = static_cast<BlockNr>(t);
  }
  e.stored = true;
  e.data = stored;
  counters_.bytes_written += kBlockSize;
  if (mode == WriteMode::fua) {
    durable_.set(e.target, stored);
    std::erase_if(pending_, [&](const PendingWrite& p) { return p.block == e.target; });
    newest_pending_.erase(e.target);
  } else {
    pending_.push_back({seq_, e.target, stored});
    newest_pending_[e.target] = stored;
  }
  record(std::move(e));
  return {};
}

Status SimDisk::flush() {
  ++counters_.flushes;
  const FaultRule* f = decide(OpKind::flush, counters_.flushes, std::nullopt);
  LogEntry e{.op = LogOp::flush};
  if (f != nullptr) e.fault = f->action;
  if (f != nullptr && f->action == FaultAction::error) {
    e.ok = false;
    record(std::move(e));
    return Error::io("simdisk: flush failed (injected)");
  }
  if (f != nullptr && f->action == FaultAction::lie) {
    record(std::move(e));  // success, but nothing became durable
    return {};
  }
  for (auto& p : pending_) durable_.set(p.block, p.data);
  pending_.clear();
  newest_pending_.clear();
  e.made_durable = true;
  record(std::move(e));
  return {};
}

PowerCutReport SimDisk::power_cut(PowerCutPolicy policy) {
  PowerCutReport rep;
  rep.pending = pending_.size();
  const std::size_t n = pending_.size();
  std::vector<bool> keep(n, false);
  std::vector<bool> torn(n, false);
  switch (policy) {
    case PowerCutPolicy::none: break;
    case PowerCutPolicy::all: std::fill(keep.begin(), keep.end(), true); break;
    case PowerCutPolicy::prefix: {
      auto len = rng_.below(n + 1);
      for (std::size_t i = 0; i < len; ++i) keep[i] = true;
      break;
    }
    case PowerCutPolicy::subset:
      for (std::size_t i = 0; i < n; ++i) keep[i] = rng_.chance(1, 2);
      break;
    case PowerCutPolicy::reorder: {
      std::vector<std::size_t> order(n);
      std::iota(order.begin(), order.end(), std::size_t{0});
      rng_.shuffle(std::span<std::size_t>(order));
      auto len = rng_.below(n + 1);
      for (std::size_t i = 0; i < len; ++i) keep[order[i]] = true;
      break;
    }
    case PowerCutPolicy::torn:
    case PowerCutPolicy::garbage:
      for (std::size_t i = 0; i < n; ++i) {
        auto r = rng_.below(4);  // lost, whole, torn, torn
        keep[i] = r != 0;
        torn[i] = r >= 2;
      }
      break;
  }
  LogEntry e{.op = LogOp::power_cut};
  // Writes land in their original order, so the newest kept copy of a block wins.
  for (std::size_t i = 0; i < n; ++i) {
    const PendingWrite& p = pending_[i];
    if (!keep[i]) {
      ++rep.lost;
      e.dropped.push_back(p);
      continue;
    }
    SharedBlock landed = p.data;
    if (torn[i]) {
      const SharedBlock& old = durable_.get(p.block);
      landed = tear(old ? ConstBlockSpan(*old) : ConstBlockSpan(kZeroBlock), ConstBlockSpan(*p.data), rng_,
                    policy == PowerCutPolicy::garbage);
      ++rep.torn;
      e.torn.push_back(p.seq);
    } else {
      ++rep.kept_whole;
    }
    durable_.set(p.block, landed);
    e.kept.push_back({p.seq, p.block, landed});
  }
  pending_.clear();
  newest_pending_.clear();
  ++counters_.power_cuts;
  counters_.writes_lost += rep.lost;
  counters_.writes_torn += rep.torn;
  record(std::move(e));
  return rep;
}

Image SimDisk::current() const {
  Image img = durable_;
  for (const auto& p : pending_) img.set(p.block, p.data);
  return img;
}

}  // namespace pdsim::sim
