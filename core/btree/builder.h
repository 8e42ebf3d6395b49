// SPDX-License-Identifier: GPL-2.0-or-later
// Bottom-up construction of a one-level btree from entries given in strictly ascending key
// order (bulk loading, as when restoring a dump). Each level fills one node at a time and writes
// it through the transaction manager once the next one starts, so memory is two nodes per level.
// Nodes are filled to max_entries, except that the last two nodes of a level share their entries
// evenly when the last would otherwise be under a third full, keeping every node but a lone root
// at least a third full like the insert path does.
//
// Values' references are the caller's business: push() takes them over as they are (no inc),
// exactly as insert() does for a new key. A builder that is dropped before finish() leaves the
// nodes it wrote allocated in the transaction; the caller aborts the transaction on any error.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/btree/btree.h"

namespace pdsim::btree {

class Builder {
 public:
  // `info` must describe a one-level tree (a subtree of a multi-level tree is one).
  explicit Builder(Info& info);

  // Appends an entry; the key must be greater than every key pushed before (ErrorKind::invalid
  // otherwise, and the builder is left unchanged).
  [[nodiscard]] Status push(std::uint64_t key, ValueSpan value);
  // Writes the remaining nodes and returns the root (an empty leaf when nothing was pushed).
  // The builder is spent afterwards.
  [[nodiscard]] Result<BlockNr> finish();

  [[nodiscard]] std::uint64_t size() const { return count_; }
  [[nodiscard]] std::optional<std::uint64_t> last_key() const { return last_key_; }

 private:
  struct Pending {
    std::array<std::uint8_t, kBlockSize> data;
    bool used = false;
  };
  struct Level {
    Pending prev;  // full, not yet written (so finish() can even out the last two)
    Pending cur;   // being filled
  };

  [[nodiscard]] Status add(std::size_t level, std::uint64_t key, ValueSpan value);
  [[nodiscard]] Status write(std::size_t level, Pending& node);
  void start(std::size_t level, Pending& node) const;
  static void even_out(Pending& a, Pending& b);

  Info& info_;
  std::vector<Level> levels_;
  std::uint64_t count_ = 0;
  std::optional<std::uint64_t> last_key_;
  bool finished_ = false;
};

}  // namespace pdsim::btree
