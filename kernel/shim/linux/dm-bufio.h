/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pdsim — the dm-bufio interface the block manager uses (../shared/spec/kernel-engine.md §3),
 * implemented over pdsim's BlockDevice by kernel/bufio.cc; declared in kernel/kernel_c_api.h.
 */
#include "pdsim_shim.h"
#include "kernel/kernel_c_api.h"
