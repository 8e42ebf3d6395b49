// SPDX-License-Identifier: GPL-2.0-or-later
// Control for the link probe: the same program without the pdata call links against pdsim_check
// alone, so the probe fails for the reason it is named for and not for a broken build.
#include "core/block/validator.h"
#include "core/check/check.h"

int main() { return 0; }
