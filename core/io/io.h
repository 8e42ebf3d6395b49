// SPDX-License-Identifier: GPL-2.0-or-later
// pdsim — core/io, the face of the storage seam: BlockDevice (4096-byte blocks: read, write with
// optional FUA, flush, size), FileDevice (a file or a block device), ForwardingDevice (the base of
// every decorator).
#pragma once

#include "core/io/block_device.h"
#include "core/io/file_device.h"
#include "core/io/forwarding_device.h"
