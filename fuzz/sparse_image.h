// SPDX-License-Identifier: GPL-2.0-or-later
// The input format of the image fuzzers: a metadata image without its zero blocks, so a fuzzer
// input stays small while the device it stands for is megabytes.
//
//   u32 LE  nr_blocks (taken modulo kMaxBlocks, 0 read as 1)
//   then records of  u32 LE block number (modulo nr_blocks) + 4096 bytes of block
//
// A trailing partial record is ignored; a later record for the same block replaces the earlier.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "sim/image.h"

namespace pdsim::fuzz {

// 16 MiB of metadata: deep trees and several bitmaps fit, and every input runs in milliseconds.
inline constexpr std::uint32_t kMaxBlocks = 4096;
inline constexpr std::size_t kRecordSize = 4 + kBlockSize;

[[nodiscard]] sim::Image decode_image(std::span<const std::uint8_t> bytes);
// Every block that is not all zeros, in block order.
[[nodiscard]] std::vector<std::uint8_t> encode_image(const sim::Image& image);

}  // namespace pdsim::fuzz
