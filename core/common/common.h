// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — core/common, the face of the layer every other one uses:
//   Result<T> / Status and PDSIM_TRY (errors as values, [[nodiscard]], a misused one traps),
//   PDSIM_ASSERT / PDSIM_ASSERT_SLOW (invariants that stay on), little-endian loads and stores,
//   crc32c, coverage marks (PDSIM_MARK), the seed-bug switches.
#pragma once

#include "core/common/assert.h"
#include "core/common/crc32c.h"
#include "core/common/endian.h"
#include "core/common/marks.h"
#include "core/common/result.h"
#include "core/common/seed_bugs.h"
