// SPDX-License-Identifier: GPL-2.0-or-later
// Every layer's face header compiles, and they compile together.
#include "core/common/common.h"
#include "core/io/io.h"
#include "core/block/block.h"
#include "core/pdata/pdata.h"
#include "core/seam/seam.h"
#include "core/thin/thin.h"
#include "core/cache/cache.h"
#include "core/check/check.h"
#include "core/pack/pack.h"
#include "core/xml/xml_parser.h"
#include "sim/sim.h"

int main() { return 0; }
