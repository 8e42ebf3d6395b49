// SPDX-License-Identifier: GPL-2.0-or-later
#include "sim/image.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/common/assert.h"
#include "core/io/file_device.h"

namespace pdsim::sim {
namespace {
const SharedBlock kNoBlock;

constexpr std::uint64_t kFnvOffset = 0xcbf29ce484222325ull;
constexpr std::uint64_t kFnvPrime = 0x100000001b3ull;

void fnv(std::uint64_t& h, const std::uint8_t* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= kFnvPrime;
  }
}
}  // namespace

SharedBlock make_block(ConstBlockSpan data) {
  auto b = std::make_shared<Block>();
  std::copy(data.begin(), data.end(), b->begin());
  return b;
}

bool is_zero(ConstBlockSpan data) noexcept {
  return std::all_of(data.begin(), data.end(), [](std::uint8_t c) { return c == 0; });
}

Image::Image(BlockNr nr_blocks)
    : nr_blocks_(nr_blocks), chunks_(static_cast<std::size_t>((nr_blocks + kChunkBlocks - 1) / kChunkBlocks)) {}

const SharedBlock& Image::get(BlockNr b) const {
  PDSIM_ASSERT(b < nr_blocks_, "image read past its end");
  const auto& chunk = chunks_[static_cast<std::size_t>(b / kChunkBlocks)];
  if (!chunk) return kNoBlock;
  return chunk->blocks[b % kChunkBlocks];
}

void Image::read(BlockNr b, BlockSpan out) const {
  const SharedBlock& blk = get(b);
  if (blk) std::copy(blk->begin(), blk->end(), out.begin());
  else std::fill(out.begin(), out.end(), std::uint8_t{0});
}

void Image::set(BlockNr b, SharedBlock data) {
  PDSIM_ASSERT(b < nr_blocks_, "image write past its end");
  auto& chunk = chunks_[static_cast<std::size_t>(b / kChunkBlocks)];
  if (!chunk) chunk = std::make_shared<Chunk>();
  else if (chunk.use_count() > 1) chunk = std::make_shared<Chunk>(*chunk);
  chunk->blocks[b % kChunkBlocks] = std::move(data);
}

bool Image::same_content(const Image& other) const {
  if (nr_blocks_ != other.nr_blocks_) return false;
  for (std::size_t c = 0; c < chunks_.size(); ++c) {
    if (chunks_[c] == other.chunks_[c]) continue;  // shared chunk: equal
    for (std::size_t i = 0; i < kChunkBlocks; ++i) {
      BlockNr b = c * kChunkBlocks + i;
      if (b >= nr_blocks_) break;
      const SharedBlock& x = get(b);
      const SharedBlock& y = other.get(b);
      if (x == y) continue;
      bool xz = !x || is_zero(*x);
      bool yz = !y || is_zero(*y);
      if (xz && yz) continue;
      if (xz != yz || *x != *y) return false;
    }
  }
  return true;
}

std::uint64_t Image::digest() const {
  std::uint64_t h = kFnvOffset;
  fnv(h, reinterpret_cast<const std::uint8_t*>(&nr_blocks_), sizeof nr_blocks_);
  for (std::size_t c = 0; c < chunks_.size(); ++c) {
    if (!chunks_[c]) continue;
    for (std::size_t i = 0; i < kChunkBlocks; ++i) {
      const SharedBlock& blk = chunks_[c]->blocks[i];
      if (!blk || is_zero(*blk)) continue;
      BlockNr b = c * kChunkBlocks + i;
      fnv(h, reinterpret_cast<const std::uint8_t*>(&b), sizeof b);
      fnv(h, blk->data(), blk->size());
    }
  }
  return h;
}

std::size_t Image::written_blocks() const {
  std::size_t n = 0;
  for (const auto& chunk : chunks_)
    if (chunk)
      n += static_cast<std::size_t>(std::count_if(chunk->blocks.begin(), chunk->blocks.end(),
                                                  [](const SharedBlock& b) { return b != nullptr; }));
  return n;
}

Result<Image> Image::load(const std::string& path) {
  PDSIM_TRY_ASSIGN(auto dev, FileDevice::open(path, FileDevice::Mode::read_only));
  Image img(dev->nr_blocks());
  Block buf{};
  for (BlockNr b = 0; b < dev->nr_blocks(); ++b) {
    PDSIM_TRY(dev->read(b, BlockSpan(buf)));
    if (!is_zero(ConstBlockSpan(buf))) img.write(b, ConstBlockSpan(buf));
  }
  return img;
}

Status Image::save(const std::string& path) const {
  if (nr_blocks_ == 0) return Error::invalid(fmt::format("cannot save an empty image to '{}'", path));
  PDSIM_TRY_ASSIGN(auto dev, FileDevice::create(path, nr_blocks_));
  for (BlockNr b = 0; b < nr_blocks_; ++b) {
    const SharedBlock& blk = get(b);
    if (blk && !is_zero(*blk)) PDSIM_TRY(dev->write(b, ConstBlockSpan(*blk)));
  }
  return dev->flush();
}

Status ImageDevice::read(BlockNr b, BlockSpan out) {
  if (b >= image_.nr_blocks())
    return Error::invalid(fmt::format("read of block {} past the end ({} blocks)", b, image_.nr_blocks()));
  image_.read(b, out);
  return {};
}

Status ImageDevice::write(BlockNr b, ConstBlockSpan data, WriteMode) {
  if (b >= image_.nr_blocks())
    return Error::invalid(fmt::format("write of block {} past the end ({} blocks)", b, image_.nr_blocks()));
  image_.write(b, data);
  return {};
}

}  // namespace pdsim::sim
