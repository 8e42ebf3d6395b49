// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — core/thin, the face of the thin-pool layer: PoolMetadata (our engine behind the thin
// seam, and pdsim_thin_engine()), the pool target's modes (Pool), the on-disk format, thin_dump
// XML and thin_restore XML.
#pragma once

#include "core/thin/pool.h"
#include "core/thin/pool_metadata.h"
#include "core/thin/thin_dump.h"
#include "core/thin/thin_format.h"
#include "core/thin/thin_restore.h"
