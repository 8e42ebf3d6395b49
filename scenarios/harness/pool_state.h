// SPDX-License-Identifier: GPL-2.0-or-later
// What a thin pool holds, as the harness's model sees it, and the two ways of reading it back
// from metadata behind the seam: a walk of every device, and lookups the way the kernel reads.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "core/common/result.h"
#include "core/seam/thin_metadata.h"
#include "sim/rng.h"

namespace pdsim::scenarios {

struct PoolState {
  std::map<std::uint64_t, std::map<std::uint64_t, BlockNr>> devices;  // id -> vblock -> data block
  friend bool operator==(const PoolState&, const PoolState&) = default;
  // The first difference from `want`, in words ("" when equal).
  [[nodiscard]] std::string diff(const PoolState& want) const;
  [[nodiscard]] std::uint64_t mappings() const;
};

// Reads every device's mappings through the metadata.
[[nodiscard]] Result<PoolState> read_pool_state(seam::ThinMetadata& md);

// Looks the state up the way the kernel reads a pool, key by key: for each device (all its keys
// when `sample` is 0, else `sample` of them drawn from `rng`): a point lookup of the key and of
// its absent neighbours, lookup_next from the key and from the key after it, and the device's
// lowest and highest mapped blocks. A key stored in the wrong subtree is found by a walk but
// missed here. Returns the first difference in words ("" when every answer matches).
[[nodiscard]] Result<std::string> lookup_pool_state(seam::ThinMetadata& md, const PoolState& want, std::uint64_t sample,
                                                    sim::Rng& rng);

}  // namespace pdsim::scenarios
