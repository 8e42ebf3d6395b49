// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — core/cache, the face of the dm-cache layer: CacheMetadata (our engine behind the cache
// seam, and pdsim_cache_engine()), the on-disk format, cache_dump XML and cache_restore XML.
#pragma once

#include "core/cache/cache_dump.h"
#include "core/cache/cache_format.h"
#include "core/cache/cache_metadata.h"
#include "core/cache/cache_restore.h"
