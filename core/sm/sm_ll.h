// SPDX-License-Identifier: GPL-2.0-or-later
// The low level shared by the disk and metadata space maps (algorithms.md §3.2–§3.4): bitmaps of
// 2-bit counts located through index entries, the overflow ref-count btree for counts >= 3,
// allocation search, range inc/dec in per-bitmap batches, set_count and extend.
//
// Where index entries live is the one difference between the two maps, so it is an IndexStore:
// the metadata map keeps one in-core index block (MetadataIndex), the disk map an index btree
// behind a 64-slot write-back cache (DiskIndex). A LowLevel is copyable (clone) so that each map
// can keep the committed view ("old_ll") beside the current one: since committed blocks are only
// ever shadowed, never modified, the old view still reads the committed bitmaps.
#pragma once

#include <array>
#include <memory>
#include <optional>

#include "core/btree/btree.h"
#include "core/sm/sm_format.h"
#include "core/tm/transaction_manager.h"

namespace pdsim::sm {

class IndexStore {
 public:
  virtual ~IndexStore() = default;
  [[nodiscard]] virtual Result<IndexEntry> load(std::uint64_t index) = 0;
  [[nodiscard]] virtual Status save(std::uint64_t index, const IndexEntry& ie) = 0;
  // Writes the index out; afterwards root() is where it now lives.
  [[nodiscard]] virtual Status commit() = 0;
  [[nodiscard]] virtual BlockNr root() const = 0;
  [[nodiscard]] virtual std::uint64_t max_bitmaps() const = 0;
  [[nodiscard]] virtual bool changed() const = 0;  // an entry was saved since the last commit
  [[nodiscard]] virtual std::unique_ptr<IndexStore> clone() const = 0;
};

class LowLevel {
 public:
  LowLevel(TransactionManager& tm, std::unique_ptr<IndexStore> index, BlockNr nr_blocks, BlockNr nr_allocated,
           BlockNr ref_count_root);
  [[nodiscard]] LowLevel clone() const;

  [[nodiscard]] BlockNr nr_blocks() const { return nr_blocks_; }
  [[nodiscard]] BlockNr nr_allocated() const { return nr_allocated_; }
  [[nodiscard]] BlockNr ref_count_root() const { return ref_count_root_; }
  [[nodiscard]] IndexStore& index() { return *index_; }
  [[nodiscard]] RootFields root_fields() const {
    return {nr_blocks_, nr_allocated_, index_->root(), ref_count_root_};
  }

  // The 2-bit bitmap value of b (3 means "see the overflow tree").
  [[nodiscard]] Result<std::uint32_t> lookup_bitmap(BlockNr b);
  // The full count of b.
  [[nodiscard]] Result<std::uint32_t> lookup(BlockNr b);
  // First block in [begin, end) whose count is 0 in this view; nullopt if none.
  [[nodiscard]] Result<std::optional<BlockNr>> find_free_block(BlockNr begin, BlockNr end);

  // Count changes of a half-open range, in per-bitmap batches (nr_allocated follows them).
  [[nodiscard]] Status inc(BlockNr begin, BlockNr end);
  [[nodiscard]] Status dec(BlockNr begin, BlockNr end);
  [[nodiscard]] Status set_count(BlockNr b, std::uint32_t count);
  // Grows by extra blocks: nr_blocks is raised first, then one new bitmap per 16320 blocks.
  [[nodiscard]] Status extend(BlockNr extra);

 private:
  enum class Op { inc, dec };
  [[nodiscard]] Status mutate(BlockNr begin, BlockNr end, Op op);
  [[nodiscard]] Status mutate_bitmap(std::uint64_t index, BlockNr begin, BlockNr end, Op op);
  [[nodiscard]] btree::Info overflow_info();
  [[nodiscard]] Result<std::uint32_t> overflow_lookup(BlockNr b);
  [[nodiscard]] Status overflow_insert(BlockNr b, std::uint32_t count);
  [[nodiscard]] Status overflow_remove(BlockNr b);
  // Adds one to an existing overflow count in place (overwrite-leaf helper).
  [[nodiscard]] Result<std::uint32_t> overflow_inc(BlockNr b);
  // A decrement of a count held in the overflow btree, in the kernel's order: the path to the
  // leaf is shadowed first; a count of 3 then loses its entry (a remove over the shadowed path),
  // any other count is lowered in place. Returns the old count.
  [[nodiscard]] Result<std::uint32_t> overflow_dec(BlockNr b);
  [[nodiscard]] Status check_block(BlockNr b) const;

  TransactionManager* tm_;
  std::unique_ptr<IndexStore> index_;
  BlockNr nr_blocks_;
  BlockNr nr_allocated_;
  BlockNr ref_count_root_;
};

// Allocation in both views (§3.2): the first block from `begin` (then wrapping to 0) that is free
// in the current view and free (or beyond the committed size) in the committed view.
[[nodiscard]] Result<std::optional<BlockNr>> find_common_free_block(LowLevel& committed, LowLevel& current, BlockNr begin);

// The metadata space map's index: one in-core block of 255 entries, written at commit.
class MetadataIndex final : public IndexStore {
 public:
  // A new, empty index block (allocated through tm).
  [[nodiscard]] static Result<std::unique_ptr<MetadataIndex>> create(TransactionManager& tm);
  // Reads and validates the index block at `root`.
  [[nodiscard]] static Result<std::unique_ptr<MetadataIndex>> open(TransactionManager& tm, BlockNr root);

  [[nodiscard]] Result<IndexEntry> load(std::uint64_t index) override;
  [[nodiscard]] Status save(std::uint64_t index, const IndexEntry& ie) override;
  [[nodiscard]] Status commit() override;
  [[nodiscard]] BlockNr root() const override { return root_; }
  [[nodiscard]] std::uint64_t max_bitmaps() const override { return kMetadataIndexMax; }
  [[nodiscard]] bool changed() const override { return changed_; }
  [[nodiscard]] std::unique_ptr<IndexStore> clone() const override { return std::make_unique<MetadataIndex>(*this); }

  MetadataIndex(TransactionManager& tm, BlockNr root) : tm_(&tm), root_(root) {}

 private:
  TransactionManager* tm_;
  BlockNr root_;
  Block entries_{};  // the whole block in core, as the kernel keeps it
  bool changed_ = false;
};

// The disk space map's index: a btree of 16-byte index entries behind a direct-mapped cache of
// 64 slots (slot of bitmap i: (i * 4294967291) mod 2^32 & 63), written back in slot order.
class DiskIndex final : public IndexStore {
 public:
  [[nodiscard]] static Result<std::unique_ptr<DiskIndex>> create(TransactionManager& tm);
  DiskIndex(TransactionManager& tm, BlockNr root) : tm_(&tm), root_(root) {}

  [[nodiscard]] Result<IndexEntry> load(std::uint64_t index) override;
  [[nodiscard]] Status save(std::uint64_t index, const IndexEntry& ie) override;
  [[nodiscard]] Status commit() override;
  [[nodiscard]] BlockNr root() const override { return root_; }
  [[nodiscard]] std::uint64_t max_bitmaps() const override { return UINT64_MAX; }
  [[nodiscard]] bool changed() const override { return changed_; }
  [[nodiscard]] std::unique_ptr<IndexStore> clone() const override { return std::make_unique<DiskIndex>(*this); }

  [[nodiscard]] static std::size_t slot_of(std::uint64_t index) {
    return static_cast<std::size_t>((static_cast<std::uint32_t>(index) * 4294967291u) & 63u);
  }

 private:
  struct Slot {
    bool valid = false;
    bool dirty = false;
    std::uint64_t index = 0;
    IndexEntry entry;
  };
  [[nodiscard]] btree::Info info();
  [[nodiscard]] Status write_back(Slot& s);

  TransactionManager* tm_;
  BlockNr root_;
  std::array<Slot, 64> slots_{};
  bool changed_ = false;
};

}  // namespace pdsim::sm
