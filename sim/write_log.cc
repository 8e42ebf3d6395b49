// SPDX-License-Identifier: GPL-2.0-or-later
#include "sim/write_log.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/common/crc32c.h"

namespace pdsim::sim {

std::string_view to_string(LogOp op) noexcept {
  switch (op) {
    case LogOp::read: return "read";
    case LogOp::write: return "write";
    case LogOp::flush: return "flush";
    case LogOp::power_cut: return "power_cut";
  }
  return "?";
}

namespace {
std::uint32_t data_crc(const SharedBlock& b) {
  return b ? crc32c_raw(0xFFFFFFFFu, b->data(), b->size()) : 0u;
}
}  // namespace

std::string LogEntry::describe() const {
  std::string s(to_string(op));
  switch (op) {
    case LogOp::read: s += fmt::format(" {}", block); break;
    case LogOp::write:
      s += fmt::format(" {}{}", block, mode == WriteMode::fua ? " fua" : "");
      if (target != block) s += fmt::format(" ->{}", target);
      if (stored) s += fmt::format(" crc={:08x}", data_crc(data));
      break;
    case LogOp::flush: s += made_durable ? " durable" : " not-durable"; break;
    case LogOp::power_cut:
      s += fmt::format(" kept={}", kept.size());
      for (const auto& k : kept)
        s += fmt::format(" {}@{}:{:08x}{}", k.seq, k.block, data_crc(k.data),
                         std::find(torn.begin(), torn.end(), k.seq) != torn.end() ? "(torn)" : "");
      if (!dropped.empty()) {
        s += fmt::format(" dropped={}", dropped.size());
        for (const auto& d : dropped) s += fmt::format(" {}@{}", d.seq, d.block);
      }
      break;
  }
  if (fault != FaultAction::none) s += fmt::format(" fault={}", to_string(fault));
  if (!ok) s += " failed";
  return s;
}

void WriteLog::apply(std::size_t i, State& st) const {
  const LogEntry& e = entries_[i];
  switch (e.op) {
    case LogOp::read: break;
    case LogOp::write:
      if (!e.stored) break;
      if (e.mode == WriteMode::fua) {
        st.durable.set(e.target, e.data);
        // A FUA write supersedes the cached copies of its block.
        std::erase_if(st.pending, [&](const PendingWrite& p) { return p.block == e.target; });
      } else {
        st.pending.push_back({i, e.target, e.data});
      }
      break;
    case LogOp::flush:
      if (!e.made_durable) break;
      for (auto& p : st.pending) st.durable.set(p.block, p.data);
      st.pending.clear();
      break;
    case LogOp::power_cut:
      for (const auto& k : e.kept) st.durable.set(k.block, k.data);
      st.pending.clear();
      break;
  }
}

WriteLog::State WriteLog::replay(std::size_t n) const {
  State st{initial_, {}};
  for (std::size_t i = 0; i < n && i < entries_.size(); ++i) apply(i, st);
  return st;
}

Image WriteLog::engine_view() const {
  Image view = initial_;
  for (const LogEntry& e : entries_)
    if (e.op == LogOp::write && (e.sent || e.data)) view.set(e.block, e.sent ? e.sent : e.data);
  return view;
}

std::uint64_t WriteLog::digest() const {
  std::uint64_t h = 0xcbf29ce484222325ull ^ initial_.digest();
  auto mix = [&h](std::uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (8 * i)) & 0xFF;
      h *= 0x100000001b3ull;
    }
  };
  for (const auto& e : entries_) {
    mix(static_cast<std::uint64_t>(e.op));
    mix(e.block);
    mix(e.target);
    mix(static_cast<std::uint64_t>(e.mode));
    mix(static_cast<std::uint64_t>(e.fault));
    mix((e.ok ? 1u : 0u) | (e.stored ? 2u : 0u) | (e.made_durable ? 4u : 0u));
    mix(data_crc(e.data));
    for (const auto& k : e.kept) {
      mix(k.seq);
      mix(k.block);
      mix(data_crc(k.data));
    }
  }
  return h;
}

}  // namespace pdsim::sim
