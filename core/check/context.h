// SPDX-License-Identifier: GPL-2.0-or-later
// Shared state of one check() run: the problem list, the recomputed reference counts, the role
// each block has been read as, and validated block reads. Internal to core/check.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/check/check.h"
#include "core/check/layout.h"
#include "core/common/assert.h"
#include "core/common/result.h"
#include "core/io/block_device.h"

namespace pdsim::check::detail {

// What a metadata block was read as. Two references that read one block as different things
// (a bitmap that is also a btree node, a mapping leaf that is also an overflow leaf) are a
// cross-link; the same role twice is legitimate sharing.
struct Role {
  enum class Kind { btree, sm_index, bitmap, array } kind = Kind::btree;
  std::uint32_t value_size = 0;   // btree: bottom-level value size; array: element size
  unsigned levels_below = 0;      // btree: levels under this node's level
  ValueRefs refs = ValueRefs::none;
  std::uint32_t array_value_size = 0;
  friend bool operator==(const Role&, const Role&) = default;
};
[[nodiscard]] std::string describe(const Role& r);

// Recomputed reference counts: dense (4 bytes a block) below a known size of at most
// kDenseLimit blocks, a hash map otherwise. Dense counting keeps a 1M-block data device at 4 MiB
// and makes the count a plain index.
class RefCounts {
 public:
  static constexpr BlockNr kDenseLimit = BlockNr{1} << 28;
  // `dense_cap`: the largest size counted densely (a size read from a damaged superblock must not
  // decide how much memory the checker takes).
  explicit RefCounts(std::optional<BlockNr> size, BlockNr dense_cap = kDenseLimit) {
    const BlockNr cap = std::min(dense_cap, kDenseLimit);
    dense_enabled_ = size && *size <= cap;
    if (dense_enabled_) dense_.assign(static_cast<std::size_t>(*size), 0);
  }
  void add(BlockNr b) {
    if (dense_enabled_ && b < dense_.size()) {
      auto& c = dense_[static_cast<std::size_t>(b)];
      PDSIM_ASSERT(c != UINT32_MAX, "checker reference count overflows its dense counter");
      ++c;
    } else {
      ++sparse_[b];
    }
  }
  [[nodiscard]] bool dense() const noexcept { return dense_enabled_; }
  [[nodiscard]] std::uint64_t get(BlockNr b) const {
    if (dense_enabled_ && b < dense_.size()) return dense_[static_cast<std::size_t>(b)];
    auto it = sparse_.find(b);
    return it == sparse_.end() ? 0 : it->second;
  }

 private:
  bool dense_enabled_ = false;
  std::vector<std::uint32_t> dense_;
  std::unordered_map<BlockNr, std::uint64_t> sparse_;
};

class Context {
 public:
  Context(BlockDevice& dev, BlockNr metadata_limit, std::optional<BlockNr> data_limit, Report& report)
      : dev_(dev),
        metadata_limit_(metadata_limit),
        data_limit_(data_limit),
        report_(report),
        meta_refs_(metadata_limit, kMetadataDenseCap),
        data_refs_(data_limit, data_dense_cap(metadata_limit)) {}

  // The largest metadata device the kernel supports (16 GiB): counted densely up to it, in a hash
  // map past it (a sparse file claiming a terabyte).
  static constexpr BlockNr kMetadataDenseCap = BlockNr{1} << 22;
  // Data blocks are counted densely only up to what the metadata could reference: 256 per
  // metadata block (a mapping leaf holds at most 254), at least 2^20. Past that a hash map holds
  // the blocks actually referenced: a data space map that claims 2^28 blocks on a 4 MiB device
  // costs what its mappings cost, not 1 GB.
  [[nodiscard]] static BlockNr data_dense_cap(BlockNr metadata_blocks) noexcept {
    return std::max<BlockNr>(BlockNr{1} << 20, metadata_blocks * 256);
  }

  void problem(ProblemKind kind, std::optional<BlockNr> block, std::string message,
               Severity severity = Severity::fatal, Space space = Space::metadata);

  // Counts one reference to metadata block b. False (and an out_of_range problem, reported
  // against `from` when known) when b is past the usable metadata range: do not read it.
  [[nodiscard]] bool ref_metadata(BlockNr b, std::string_view what, std::optional<BlockNr> from);
  // Counts one reference to data block b (range-checked against the data space map's size when
  // there is one).
  void ref_data(BlockNr b, BlockNr from_leaf);

  // Records that b is read as `role`. Returns true the first time; false when b already has a
  // role (a cross_linked problem is reported if it differs): validate only on the first claim.
  [[nodiscard]] bool claim(BlockNr b, const Role& role, std::string_view what);

  // Reads b and checks the checksum (salt) and the block's own number at blocknr_offset.
  // Ok(true): valid; Ok(false): a problem was reported (bad_checksum / bad_blocknr / beyond
  // the device); Error only for an I/O failure.
  [[nodiscard]] Result<bool> read_validated(BlockNr b, std::uint32_t salt,
                                            std::size_t blocknr_offset, std::string_view what,
                                            Block& out);

  [[nodiscard]] BlockNr metadata_limit() const { return metadata_limit_; }
  [[nodiscard]] std::optional<BlockNr> data_limit() const { return data_limit_; }
  [[nodiscard]] Report& report() { return report_; }
  [[nodiscard]] const RefCounts& metadata_refs() const { return meta_refs_; }
  [[nodiscard]] const RefCounts& data_refs() const { return data_refs_; }
  [[nodiscard]] const std::unordered_map<BlockNr, Role>& roles() const { return roles_; }

 private:
  BlockDevice& dev_;
  BlockNr metadata_limit_;
  std::optional<BlockNr> data_limit_;
  Report& report_;
  RefCounts meta_refs_;
  RefCounts data_refs_;
  std::unordered_map<BlockNr, Role> roles_;
};

}  // namespace pdsim::check::detail
