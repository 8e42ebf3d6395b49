// SPDX-License-Identifier: GPL-2.0-or-later
// The thin step language: one text line per step, run against a PoolHarness. Every random thin
// workload (storms, faults, swarm, tree shapes) generates a step list from its seed, so a failing
// seed shrinks by delta debugging and replays from a file.
//
//   create ID | snap ID ORIGIN | delete ID          devices (committed by the pool)
//   write ID V | read ID V                           one block (provision / check against the model)
//   discard ID B E                                   range removal (remove_leaves)
//   unmap ID V                                       single btree remove of a mapped block
//   fill ID B E S | rfill ID B E S                   write every S-th block of [B, E), up / down
//   sfill ID B E S K                                 the same blocks in an order shuffled by K
//   punch ID B E S                                   unmap every S-th mapped block of [B, E)
//   trim ID                                          unmap from the top until the tree's root has one child
//   squeeze ID V                                     unmap in V's leaf until it and its siblings are just
//                                                    below the merge threshold
//   unmapnext ID V                                   unmap the first mapped block at or after V
//   commit | cut POLICY | reopen | plan FAULT-PLAN-LINE
//
// I/O steps go only to devices the model holds (a thin target cannot be opened otherwise); an
// unmap or punch only removes blocks the model has mapped.
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

#include "scenarios/harness/pool_harness.h"
#include "scenarios/runner/scenario.h"
#include "sim/rng.h"

namespace pdsim::scenarios {

// Runs `steps` on a new pool; after an aborted transaction it tears down, checks and
// re-activates as dmtest does.
[[nodiscard]] SeedOutcome replay_thin_steps(const char* name, std::uint64_t seed, const Steps& steps,
                                            const RunOptions& opts, std::ostream& trace, HarnessConfig cfg);

// A shrinkable scenario from a step generator.
[[nodiscard]] Scenario thin_step_scenario(const char* name, const char* description,
                                          std::function<Steps(std::uint64_t seed)> generate, HarnessConfig cfg);

// A fault plan of I/O errors (reads, writes, flushes) or transient read rot, or none.
[[nodiscard]] std::string random_fault_plan(sim::Rng& rng);

}  // namespace pdsim::scenarios
