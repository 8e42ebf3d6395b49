// SPDX-License-Identifier: GPL-2.0-or-later
#include "fuzz/sparse_image.h"

#include <algorithm>
#include <array>

#include "core/common/endian.h"

namespace pdsim::fuzz {

sim::Image decode_image(std::span<const std::uint8_t> bytes) {
  std::uint32_t n = bytes.size() >= 4 ? load_le<std::uint32_t>(bytes.data()) % kMaxBlocks : 1;
  if (n == 0) n = 1;
  sim::Image image(n);
  for (std::size_t off = 4; off + kRecordSize <= bytes.size(); off += kRecordSize) {
    const BlockNr b = load_le<std::uint32_t>(bytes.data() + off) % n;
    std::array<std::uint8_t, kBlockSize> block{};
    std::copy_n(bytes.data() + off + 4, kBlockSize, block.begin());
    image.write(b, block);
  }
  return image;
}

std::vector<std::uint8_t> encode_image(const sim::Image& image) {
  std::vector<std::uint8_t> out(4);
  store_le<std::uint32_t>(out.data(), static_cast<std::uint32_t>(image.nr_blocks()));
  std::array<std::uint8_t, kBlockSize> block{};
  for (BlockNr b = 0; b < image.nr_blocks(); ++b) {
    if (!image.get(b)) continue;
    image.read(b, block);
    if (std::all_of(block.begin(), block.end(), [](std::uint8_t x) { return x == 0; })) continue;
    const std::size_t at = out.size();
    out.resize(at + kRecordSize);
    store_le<std::uint32_t>(out.data() + at, static_cast<std::uint32_t>(b));
    std::copy(block.begin(), block.end(), out.begin() + static_cast<std::ptrdiff_t>(at + 4));
  }
  return out;
}

}  // namespace pdsim::fuzz
