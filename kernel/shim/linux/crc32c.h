/* SPDX-License-Identifier: GPL-2.0-or-later */
/* pdsim — stand-in for <linux/crc32c.h>: see pdsim_shim.h. */
#include "pdsim_shim.h"
