// SPDX-License-Identifier: GPL-2.0-or-later
// Btree validation and reference counting (ondisk-format.md §4). Internal to core/check.
//
// Counting rule for shared subtrees (algorithms.md §5.6): a node's own reference count is the
// number of pointers to it (parent slots, upper-level leaf values, roots); but its outgoing
// references — children, subtree roots, data blocks, array blocks — are held once by the node
// itself, however many parents share it (values are only inc'ed when a shared node is copied).
// So every reach counts one reference to the node, and a node's contents are visited and
// counted on its first reach only.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/check/check.h"
#include "core/check/context.h"

namespace pdsim::check::detail {

// Called once per bottom-level leaf entry of every distinct valid leaf.
using LeafVisitor = std::function<Status(BlockNr leaf, std::uint64_t key, const std::uint8_t* value)>;

class TreeWalker {
 public:
  explicit TreeWalker(Context& ctx) : ctx_(ctx) {}

  // Counts one reference to spec.root and walks the tree. Returns the number of bottom-level
  // entries under the root, shared subtrees counted once per owner (thin's mapped_blocks).
  [[nodiscard]] Result<std::uint64_t> walk(const TreeSpec& spec, const LeafVisitor& on_value);

  // The level-0 leaf entries of a walked tree, reading again only the nodes found valid.
  [[nodiscard]] Result<std::vector<TopEntry>> top_entries(BlockDevice& dev, const TreeSpec& spec);

 private:
  struct NodeInfo {
    Role role;
    bool done = false;    // false while the node is on the current path (cycle detection)
    bool valid = false;   // header valid; contents visited
    bool fill_reported = false;
    unsigned height = 0;  // 0 for a leaf
    std::uint32_t nr_entries = 0;
    std::uint32_t max_entries = 0;
    std::uint64_t first_key = 0, last_key = 0;
    std::uint64_t bottom_entries = 0;
  };
  struct Bounds {
    std::optional<std::uint64_t> lo;  // inclusive
    std::optional<std::uint64_t> hi;  // exclusive
  };
  struct Reach {
    unsigned level = 0;    // which level of the multi-level tree
    bool is_root = false;  // root of that level's tree (fill-exempt)
    std::optional<BlockNr> parent;
    Bounds bounds;
    unsigned path_depth = 0;
  };

  [[nodiscard]] Result<const NodeInfo*> visit(const TreeSpec& spec, BlockNr b, const Reach& r,
                                              const LeafVisitor& on_value);
  void check_reach(const TreeSpec& spec, BlockNr b, NodeInfo& info, const Reach& r);
  [[nodiscard]] bool validate_header(const TreeSpec& spec, BlockNr b, const layout::NodeHeader& h,
                                     unsigned level);
  [[nodiscard]] Status visit_children(const TreeSpec& spec, BlockNr b, const Block& blk,
                                      const layout::NodeHeader& h, NodeInfo& info, const Reach& r,
                                      const LeafVisitor& on_value);
  [[nodiscard]] Status collect_top(BlockDevice& dev, BlockNr b, const TreeSpec& spec,
                                   unsigned depth, std::vector<TopEntry>& out);

  Context& ctx_;
  // Node-based map: NodeInfo references stay valid while the map grows.
  std::unordered_map<BlockNr, NodeInfo> memo_;
};

inline constexpr unsigned kMaxDepthPerLevel = 32;

}  // namespace pdsim::check::detail
