// SPDX-License-Identifier: GPL-2.0-or-later
// SimDisk: a deterministic, fault-injecting BlockDevice.
//
// It keeps a durable image, a volatile write cache of pending writes, and a FaultPlan overlay.
// A write is pending until a flush (or itself being FUA) makes it durable; reads see the newest
// pending copy. A power cut keeps the durable image plus a policy's choice of pending writes.
// Every operation is recorded in a WriteLog; every choice comes from the disk's own seeded Rng,
// so one (seed, plan, workload) gives one log and one image, byte for byte.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/io/block_device.h"
#include "sim/fault_plan.h"
#include "sim/image.h"
#include "sim/rng.h"
#include "sim/write_log.h"

namespace pdsim::sim {

// What a power cut does with the pending writes.
enum class PowerCutPolicy : std::uint8_t {
  none,     // every pending write is lost
  all,      // every pending write reaches the disk
  prefix,   // an in-order prefix of random length reaches the disk
  subset,   // each pending write independently reaches the disk or not
  reorder,  // the cache wrote them out in a random order and power failed part way
  torn,     // as subset, and some writes are torn at 512-byte sectors, each sector old or new
            // (a device whose sector writes are atomic, as the kernel's superblock relies on)
  garbage,  // as torn, and a torn sector may also hold garbage (no sector atomicity)
};
inline constexpr std::array kAllPowerCutPolicies = {PowerCutPolicy::none,    PowerCutPolicy::all,
                                                   PowerCutPolicy::prefix,  PowerCutPolicy::subset,
                                                   PowerCutPolicy::reorder, PowerCutPolicy::torn,
                                                   PowerCutPolicy::garbage};
// The policies under which sector writes stay atomic: a committed state must survive all of them.
inline constexpr std::array kSectorAtomicPowerCutPolicies = {PowerCutPolicy::none,   PowerCutPolicy::all,
                                                            PowerCutPolicy::prefix, PowerCutPolicy::subset,
                                                            PowerCutPolicy::reorder, PowerCutPolicy::torn};
[[nodiscard]] std::string_view to_string(PowerCutPolicy p) noexcept;
[[nodiscard]] Result<PowerCutPolicy> parse_power_cut_policy(std::string_view s);

struct PowerCutReport {
  std::size_t pending = 0;
  std::size_t kept_whole = 0;
  std::size_t torn = 0;
  std::size_t lost = 0;
};

struct SimDiskCounters {
  std::uint64_t reads = 0;
  std::uint64_t writes = 0;
  std::uint64_t fua_writes = 0;
  std::uint64_t flushes = 0;
  std::uint64_t bytes_read = 0;
  std::uint64_t bytes_written = 0;
  std::uint64_t power_cuts = 0;
  std::uint64_t writes_lost = 0;  // pending writes a power cut dropped
  std::uint64_t writes_torn = 0;
  std::array<std::uint64_t, kFaultActionCount> faults{};  // indexed by FaultAction
  [[nodiscard]] std::uint64_t faults_fired() const;
  [[nodiscard]] std::string summary() const;
};

// Makes a torn copy of a write: each 512-byte sector independently old or new, or (when
// `with_garbage`) old, new or garbage.
[[nodiscard]] SharedBlock tear(ConstBlockSpan old_data, ConstBlockSpan new_data, Rng& rng, bool with_garbage);

class SimDisk final : public BlockDevice {
 public:
  SimDisk(BlockNr nr_blocks, std::uint64_t seed, FaultPlan plan = {});
  SimDisk(Image initial, std::uint64_t seed, FaultPlan plan = {});

  [[nodiscard]] Status read(BlockNr b, BlockSpan out) override;
  using BlockDevice::write;
  [[nodiscard]] Status write(BlockNr b, ConstBlockSpan data, WriteMode mode) override;
  [[nodiscard]] Status flush() override;
  [[nodiscard]] BlockNr nr_blocks() const override { return durable_.nr_blocks(); }

  // Cuts the power: the durable image gains the policy's choice of pending writes, the cache is
  // emptied, and the disk carries on as if rebooted (operation counts keep running).
  PowerCutReport power_cut(PowerCutPolicy policy);

  void set_plan(FaultPlan plan) { plan_ = std::move(plan); }
  [[nodiscard]] const FaultPlan& plan() const { return plan_; }
  // Logging can be switched off for long benchmark runs; it is on by default.
  void set_logging(bool on) { logging_ = on; }
  [[nodiscard]] bool logging() const { return logging_; }

  [[nodiscard]] const Image& durable() const { return durable_; }
  // What a reader sees now: the durable image with the pending writes applied.
  [[nodiscard]] Image current() const;
  [[nodiscard]] const std::vector<PendingWrite>& pending() const { return pending_; }
  [[nodiscard]] const WriteLog& log() const { return log_; }
  [[nodiscard]] const SimDiskCounters& counters() const { return counters_; }
  [[nodiscard]] std::uint64_t op_count() const { return op_count_; }

 private:
  [[nodiscard]] const FaultRule* decide(OpKind kind, std::uint64_t kind_count, std::optional<BlockNr> b);
  void record(LogEntry e);
  void flip_bits(Block& data, std::int64_t bits);
  [[nodiscard]] ConstBlockSpan newest(BlockNr b) const;

  Image durable_;
  std::vector<PendingWrite> pending_;
  std::unordered_map<BlockNr, SharedBlock> newest_pending_;  // block -> newest pending data
  FaultPlan plan_;
  Rng rng_;
  WriteLog log_;
  bool logging_ = true;
  std::uint64_t op_count_ = 0;
  std::uint64_t seq_ = 0;  // index of the next log entry (counted even when not logging)
  SimDiskCounters counters_;
};

// Turns a disk's fault plan off for the guard's lifetime, then puts it back as it was (its
// counters included): for the checks and oracles that read the disk beside the workload, whose
// reads must not draw faults meant for it.
class [[nodiscard]] PausedPlan {
 public:
  explicit PausedPlan(SimDisk& disk) : disk_(disk), plan_(disk.plan()) { disk_.set_plan(FaultPlan{}); }
  ~PausedPlan() { disk_.set_plan(plan_); }
  PausedPlan(const PausedPlan&) = delete;
  PausedPlan& operator=(const PausedPlan&) = delete;

 private:
  SimDisk& disk_;
  FaultPlan plan_;
};

}  // namespace pdsim::sim
