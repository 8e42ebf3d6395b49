// SPDX-License-Identifier: GPL-2.0-or-later
// Link probe: this program links only pdsim_check and calls into pdata (the space-map block
// validators, defined in core/sm). It must fail to link; tests/layering/CMakeLists.txt expects
// exactly that, with an undefined reference to the pdata symbol.
#include "core/block/validator.h"
#include "core/check/check.h"
#include "core/sm/sm_format.h"

int main() {
  const void* volatile v = &pdsim::sm::bitmap_validator();
  static_cast<void>(v);
  return 0;
}
