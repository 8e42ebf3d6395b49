// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — core/block, the face of the block layer: the bounded BlockManager with RAII read and
// write references and write-back, block validators (HeaderValidator: checksum salt and block
// number), the persistent-data checksum.
#pragma once

#include "core/block/block_manager.h"
#include "core/block/checksum.h"
#include "core/block/validator.h"
