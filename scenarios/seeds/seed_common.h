// SPDX-License-Identifier: GPL-2.0-or-later
// Shared pieces of the seed-bug scenarios (scenarios/seeds/): a growable view of a disk, the
// independent checker as failure lines, a bare engine harness (block manager, transaction
// manager, metadata space map, a zeroed superblock) and the run record.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/check/check.h"
#include "core/io/forwarding_device.h"

#include "core/thin/pool_metadata.h"
#include "core/sm/metadata_space_map.h"
#include "scenarios/harness/failures.h"
#include "scenarios/runner/scenario.h"
#include "sim/image.h"
#include "sim/rng.h"
#include "sim/sim_disk.h"

namespace pdsim::scenarios::seeds {

// The first `size` blocks of another device: a metadata device that the test enlarges (grow)
// before the pool is told to resize.
class GrowableView final : public ForwardingDevice {
 public:
  GrowableView(BlockDevice& under, BlockNr size) : ForwardingDevice(under), size_(size) {}
  void grow(BlockNr size) { size_ = size; }
  [[nodiscard]] Status read(BlockNr b, BlockSpan out) override;
  using BlockDevice::write;
  [[nodiscard]] Status write(BlockNr b, ConstBlockSpan data, WriteMode mode) override;
  [[nodiscard]] BlockNr nr_blocks() const override { return size_; }

 private:
  BlockNr size_;
};

// The checker on a thin-pool image: one line per problem (empty when clean).
[[nodiscard]] std::vector<std::string> check_thin_image(const sim::Image& image);
// The checker on an image described by `in`.
[[nodiscard]] std::vector<std::string> check_image(const sim::Image& image, const check::Input& in);
// "N problems: first; second; third" (at most three named).
[[nodiscard]] std::string summarize(const std::vector<std::string>& problems);

// One seed's record: failures (the first names the symptom) and the operations done.
struct Run {
  // `label`: the seed bug's letter, naming the workload stream.
  explicit Run(std::uint64_t s, std::string_view label) : seed(s), rng(sim::sub_seed(s, label)) {}
  std::uint64_t seed;
  sim::Rng rng;
  Failures failures;
  std::uint64_t operations = 0;
  void fail(std::string line) { failures.add(std::move(line)); }
  [[nodiscard]] bool failed() const { return !failures.empty(); }
  [[nodiscard]] SeedOutcome outcome(std::string summary) const;
};

// The engine without a pool format: block 0 is a zeroed superblock holding nothing, the space
// map's root is kept in memory (tests check it through Bare::input).
struct Bare {
  explicit Bare(BlockNr nr_blocks, std::uint64_t seed);
  sim::SimDisk disk;
  BlockManager bm;
  TransactionManager tm;
  std::unique_ptr<sm::MetadataSpaceMap> sm;
  // Creates the space map; REQUIRES: called once before anything else.
  [[nodiscard]] Status format();
  // Two-phase commit with an empty superblock; remembers the space map's committed root.
  [[nodiscard]] Status commit();
  // Drops the transaction and reopens the space map from the last committed root.
  [[nodiscard]] Status abort();
  SpaceMapRoot committed_root{};
  // Checker input: the space map's current root, block 0, and the given trees.
  [[nodiscard]] Result<check::Input> input(std::vector<check::TreeSpec> trees);
};

// The block an engine error says would go below zero ("unable to decrement block N"), if any.
[[nodiscard]] std::optional<BlockNr> below_zero_block(const Error& e);

// A thin pool on a growable metadata device (first `size` blocks of a SimDisk of `max` blocks),
// one thin device (id 1) and a model of its mappings.
struct PoolRig {
  PoolRig(BlockNr size, BlockNr max, std::uint64_t seed) : disk(max, sim::sub_seed(seed, "disk")), view(disk, size) {}
  sim::SimDisk disk;
  GrowableView view;
  std::unique_ptr<thin::PoolMetadata> md;
  std::map<std::uint64_t, BlockNr> mappings;  // vblock -> data block, as of now
  std::map<std::uint64_t, BlockNr> committed;
  // Formats the pool with `data_blocks` data blocks and thin device 1, and commits.
  [[nodiscard]] Status format(BlockNr data_blocks);
  // Maps `count` random unmapped virtual blocks; stops at the first error.
  [[nodiscard]] Status map_some(sim::Rng& rng, std::uint64_t count);
  [[nodiscard]] Status commit();
  // Abort: drop the transaction and load the pool again from the device (the committed state).
  [[nodiscard]] Status abort();
  // Grows the device and the metadata space map to `size` blocks.
  [[nodiscard]] Status extend(BlockNr size);
  // The checker on what a reader of the device sees now.
  [[nodiscard]] std::vector<std::string> check() const { return check_thin_image(disk.current()); }
  // Walks the mappings and compares them with the model: empty when equal, else the first difference.
  [[nodiscard]] std::string compare();
};

// Steps as text: "word n1 n2 ...". Parses the numbers after the word.
[[nodiscard]] std::vector<std::uint64_t> step_args(const std::string& step);
[[nodiscard]] std::string step_word(const std::string& step);

}  // namespace pdsim::scenarios::seeds
