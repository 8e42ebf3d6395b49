// SPDX-License-Identifier: GPL-2.0-or-later
// WriteLog: every operation a SimDisk saw, in order (like dm-log-writes), with enough detail to
// rebuild the durable image and the pending writes at any point: what each write stored and
// where (after faults), which flushes made pending writes durable, and what a power cut kept.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/fault_plan.h"
#include "sim/image.h"

namespace pdsim::sim {

enum class LogOp : std::uint8_t { read, write, flush, power_cut };
[[nodiscard]] std::string_view to_string(LogOp op) noexcept;

struct PendingWrite {
  std::uint64_t seq;  // the log index of the write
  BlockNr block;      // where the data will land (after a misdirect)
  SharedBlock data;   // what was stored (after a flip)
};

struct LogEntry {
  LogOp op = LogOp::read;
  BlockNr block = 0;        // requested block (read, write)
  BlockNr target = 0;       // where a write landed (differs from block on a misdirect)
  WriteMode mode = WriteMode::normal;
  FaultAction fault = FaultAction::none;
  bool ok = true;           // what the caller was told
  bool stored = false;      // a write that entered the volatile cache (or the durable image, FUA)
  bool made_durable = false;  // a flush that really made the pending writes durable
  SharedBlock data;         // a stored write's data
  // For the reader (--report; not in the digest): what the engine sent, when the disk did not
  // store it as sent (failed, dropped, bits flipped).
  SharedBlock sent;
  std::vector<PendingWrite> kept;  // power cut: the writes (whole or torn) that reached the image
  // Power cut, for the reader (--trace, --report; not in the digest): which kept writes landed
  // torn (log indices), and the pending writes that were lost.
  std::vector<std::uint64_t> torn;
  std::vector<PendingWrite> dropped;

  [[nodiscard]] std::string describe() const;
};

class WriteLog {
 public:
  explicit WriteLog(Image initial = Image(0)) : initial_(std::move(initial)) {}

  void append(LogEntry e) { entries_.push_back(std::move(e)); }
  [[nodiscard]] const std::vector<LogEntry>& entries() const { return entries_; }
  [[nodiscard]] std::size_t size() const { return entries_.size(); }
  [[nodiscard]] const Image& initial() const { return initial_; }

  // The durable image and the pending writes after the first n entries.
  struct State {
    Image durable;
    std::vector<PendingWrite> pending;
  };
  [[nodiscard]] State replay(std::size_t n) const;
  // Applies entry i to a replay state (for walking a log forward one entry at a time).
  void apply(std::size_t i, State& state) const;

  // Every block as the engine last wrote it: each write applied, in order, at the block it was
  // sent to with the data it was sent with, whether or not the disk stored it, power cuts or not
  // (a block never written reads as in the initial image). Against the disk it shows the writes
  // a failure, a drop, a flip, a misdirect or a power cut lost.
  [[nodiscard]] Image engine_view() const;

  // FNV-1a over every entry (kinds, blocks, outcomes, data): equal logs, equal digests.
  [[nodiscard]] std::uint64_t digest() const;

 private:
  Image initial_;
  std::vector<LogEntry> entries_;
};

}  // namespace pdsim::sim
