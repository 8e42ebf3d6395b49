// SPDX-License-Identifier: GPL-2.0-or-later
// Image: the contents of a simulated device, copy-on-write.
//
// Blocks live in chunks of shared, immutable blocks; copying an Image copies only the chunk
// pointers, and a write clones just the one chunk it touches when that chunk is shared. So a
// crash state is "this image plus two writes" at the cost of those two writes, not of a device.
// A block that was never written reads as zeros.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/io/block_device.h"

namespace pdsim::sim {

using SharedBlock = std::shared_ptr<const Block>;

[[nodiscard]] SharedBlock make_block(ConstBlockSpan data);
[[nodiscard]] bool is_zero(ConstBlockSpan data) noexcept;

class Image {
 public:
  explicit Image(BlockNr nr_blocks = 0);

  [[nodiscard]] BlockNr nr_blocks() const { return nr_blocks_; }
  // Null when the block was never written (reads as zeros). REQUIRES: b < nr_blocks().
  [[nodiscard]] const SharedBlock& get(BlockNr b) const;
  void read(BlockNr b, BlockSpan out) const;
  void set(BlockNr b, SharedBlock data);
  void write(BlockNr b, ConstBlockSpan data) { set(b, make_block(data)); }

  // Content equality (an all-zero block equals a block never written).
  [[nodiscard]] bool same_content(const Image& other) const;
  // FNV-1a over (block number, bytes) of every non-zero block: equal content, equal digest.
  [[nodiscard]] std::uint64_t digest() const;
  // Number of blocks that hold a written (possibly zero) block.
  [[nodiscard]] std::size_t written_blocks() const;

  // Loads an image from / saves it to a raw file of nr_blocks * 4096 bytes.
  [[nodiscard]] static Result<Image> load(const std::string& path);
  [[nodiscard]] Status save(const std::string& path) const;

 private:
  static constexpr std::size_t kChunkBlocks = 256;
  struct Chunk {
    std::array<SharedBlock, kChunkBlocks> blocks;
  };

  BlockNr nr_blocks_;
  std::vector<std::shared_ptr<Chunk>> chunks_;
};

// A BlockDevice that reads and writes an Image directly: every write is durable at once. Used to
// open a crash state or a durable image with the engine, with no faults.
class ImageDevice final : public BlockDevice {
 public:
  explicit ImageDevice(Image image) : image_(std::move(image)) {}
  [[nodiscard]] Status read(BlockNr b, BlockSpan out) override;
  using BlockDevice::write;
  [[nodiscard]] Status write(BlockNr b, ConstBlockSpan data, WriteMode mode) override;
  [[nodiscard]] Status flush() override { return {}; }
  [[nodiscard]] BlockNr nr_blocks() const override { return image_.nr_blocks(); }
  [[nodiscard]] const Image& image() const { return image_; }

 private:
  Image image_;
};

}  // namespace pdsim::sim
