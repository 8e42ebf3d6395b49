// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — the storage seam.
//
// The engine talks to storage only through BlockDevice: fixed 4096-byte blocks, read, write
// (optionally FUA: durable when it returns), flush (make every completed write durable), size.
// FileDevice runs it on a real file or block device; sim::SimDisk runs it on the simulator.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "core/common/result.h"

namespace pdsim {

inline constexpr std::size_t kBlockSize = 4096;
inline constexpr std::size_t kSectorSize = 512;
inline constexpr std::size_t kSectorsPerBlock = kBlockSize / kSectorSize;

using BlockNr = std::uint64_t;
using Block = std::array<std::uint8_t, kBlockSize>;
using BlockSpan = std::span<std::uint8_t, kBlockSize>;
using ConstBlockSpan = std::span<const std::uint8_t, kBlockSize>;

enum class WriteMode { normal, fua };

class BlockDevice {
 public:
  virtual ~BlockDevice() = default;
  BlockDevice() = default;
  BlockDevice(const BlockDevice&) = delete;
  BlockDevice& operator=(const BlockDevice&) = delete;

  // REQUIRES: b < nr_blocks(); otherwise Error::invalid.
  [[nodiscard]] virtual Status read(BlockNr b, BlockSpan out) = 0;
  // A normal write may sit in a volatile cache until flush(); a FUA write is durable on success.
  [[nodiscard]] virtual Status write(BlockNr b, ConstBlockSpan data, WriteMode mode) = 0;
  [[nodiscard]] Status write(BlockNr b, ConstBlockSpan data) { return write(b, data, WriteMode::normal); }
  // Makes every write that completed before the call durable.
  [[nodiscard]] virtual Status flush() = 0;
  [[nodiscard]] virtual BlockNr nr_blocks() const = 0;
};

}  // namespace pdsim
