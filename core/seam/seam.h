// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — core/seam, the face of the engine seam: one interface for thin metadata, one for cache
// metadata, each with the engine that formats and opens it. Scenarios drive metadata only through
// these, so a second engine (the kernel's own code) plugs in unchanged.
#pragma once

#include "core/seam/cache_metadata.h"
#include "core/seam/thin_metadata.h"
