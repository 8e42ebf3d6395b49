// SPDX-License-Identifier: GPL-2.0-or-later
#include "core/btree/node.h"

#include <fmt/format.h>

#include "core/block/checksum.h"

namespace pdsim::btree {

NodeValidator::NodeValidator() : HeaderValidator("btree node", salt::btree_node, off::blocknr) {}

Status NodeValidator::check(ConstBlockSpan data, BlockNr b) const {
  PDSIM_TRY(HeaderValidator::check(data, b));
  NodeView n(data);
  const std::uint64_t need = kNodeHeaderSize + (8ull + n.value_size()) * n.max_entries();
  if (need > kBlockSize)
    return Error::corruption(fmt::format("btree node {}: max_entries {} with value_size {} does not fit a block", b,
                                         n.max_entries(), n.value_size()));
  if (n.nr_entries() > n.max_entries())
    return Error::corruption(
        fmt::format("btree node {}: nr_entries {} exceeds max_entries {}", b, n.nr_entries(), n.max_entries()));
  if ((n.flags() & (kInternalFlag | kLeafFlag)) == 0)
    return Error::corruption(fmt::format("btree node {}: flags {:#x} mark neither internal nor leaf", b, n.flags()));
  return {};
}

const Validator& node_validator() {
  static const NodeValidator v;
  return v;
}

}  // namespace pdsim::btree
