// SPDX-License-Identifier: GPL-2.0-or-later
// Validators (ondisk-format.md §3.3): each block type stamps its own block number and checksum
// when a block is written back, and checks them when the block is first read into the cache.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/common/result.h"
#include "core/io/block_device.h"

namespace pdsim {

class Validator {
 public:
  virtual ~Validator() = default;
  [[nodiscard]] virtual std::string_view name() const = 0;
  // Stamps `blocknr` and the checksum into the block about to be written at location b.
  virtual void prepare_for_write(BlockSpan data, BlockNr b) const = 0;
  // Checks a block just read from location b. Errors are ErrorKind::corruption.
  [[nodiscard]] virtual Status check(ConstBlockSpan data, BlockNr b) const = 0;
};

// The common shape: a u64 `blocknr` field at some offset and a salted checksum at offset 0.
// Checks in the kernel's order: blocknr first, then the checksum. Block types with more to check
// (btree nodes, array blocks, superblocks) derive and add their checks after these.
class HeaderValidator : public Validator {
 public:
  HeaderValidator(std::string name, std::uint32_t salt, std::size_t blocknr_offset)
      : name_(std::move(name)), salt_(salt), blocknr_offset_(blocknr_offset) {}

  [[nodiscard]] std::string_view name() const override { return name_; }
  void prepare_for_write(BlockSpan data, BlockNr b) const override;
  [[nodiscard]] Status check(ConstBlockSpan data, BlockNr b) const override;
  [[nodiscard]] std::uint32_t salt() const { return salt_; }

 private:
  std::string name_;
  std::uint32_t salt_;
  std::size_t blocknr_offset_;
};

}  // namespace pdsim
