// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — sim/, the face of the simulated world: Rng and sub_seed, the copy-on-write Image,
// SimDisk (volatile write cache, power cuts, PausedPlan), FaultPlan, WriteLog, CrashStates.
#pragma once

#include "sim/crash_states.h"
#include "sim/fault_plan.h"
#include "sim/image.h"
#include "sim/rng.h"
#include "sim/sim_disk.h"
#include "sim/write_log.h"
