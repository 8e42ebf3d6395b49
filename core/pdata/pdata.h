// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — the face of pdata, the one designed loop of the engine (core/tm, core/sm, core/btree,
// core/array): the transaction manager and the metadata-store protocol, the space maps, the
// copy-on-write btree and its builder, dm-array and dm-bitset. Their internals (btree_internal.h,
// sm_ll.h) stay private to the layer.
#pragma once

#include "core/array/array.h"
#include "core/array/bitset.h"
#include "core/btree/btree.h"
#include "core/btree/builder.h"
#include "core/sm/core_space_map.h"
#include "core/sm/disk_space_map.h"
#include "core/sm/metadata_space_map.h"
#include "core/sm/space_map.h"
#include "core/tm/metadata_store.h"
#include "core/tm/transaction_manager.h"
