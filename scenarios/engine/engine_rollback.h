// SPDX-License-Identifier: GPL-2.0-or-later
// The engine rollback scenario: a random workload on EngineStore (single-level map, two-level
// volume trees with snapshots, both space maps) over a SimDisk with random I/O errors and power
// cuts. After every error the transaction is aborted; after every power cut the store is reopened
// from the durable image. Either way it must hold exactly the last committed transaction — or
// exactly the one being committed, if its superblock became durable — never a mix; and the
// independent checker must find the image clean after every commit and every recovery.
#pragma once

#include "scenarios/runner/scenario.h"

namespace pdsim::scenarios {

[[nodiscard]] SeedOutcome run_engine_rollback(std::uint64_t seed, const RunOptions& opts, std::ostream& trace);

}  // namespace pdsim::scenarios
