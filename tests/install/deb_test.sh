#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The `package` test: cpack makes build/pdsim_VERSION_ARCH.deb; apt-get installs it with its
# dependencies; the installed /usr/bin/pdsim runs `pdsim run default --seed 1` from outside the
# checkout and its man page is there; then the package is removed, and nothing is left.
#   tests/install/deb_test.sh PDSIM_ROOT BUILD_DIR
set -euo pipefail
root="$1"
build="$2"
source "$root/scripts/common.sh"
pdsim_ensure_packages dpkg-dev help2man
if dpkg -s pdsim >/dev/null 2>&1; then
  echo "FAIL: a pdsim package is installed already; this test would replace it (apt-get remove pdsim first)" >&2
  exit 1
fi
rm -f "$build"/pdsim_*.deb
(cd "$build" && cpack -G DEB >/dev/null)
deb=("$build"/pdsim_*.deb)
[ -f "${deb[0]}" ] || { echo "FAIL: cpack made no .deb in $build" >&2; exit 1; }
echo "package: $(dpkg-deb -f "${deb[0]}" Package Version Depends | tr '\n' ' ')"
work="$(mktemp -d)"
cleanup() {
  DEBIAN_FRONTEND=noninteractive apt-get remove -y -q pdsim >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${deb[0]}" >/dev/null
[ "$(command -v pdsim)" = /usr/bin/pdsim ] || { echo "FAIL: pdsim is not /usr/bin/pdsim after the install" >&2; exit 1; }
dpkg -L pdsim | grep -q '/usr/share/man/man1/pdsim.1' || { echo "FAIL: no man page in the package" >&2; exit 1; }
(cd "$work" && /usr/bin/pdsim run default --seed 1 > run.txt) || { echo "FAIL: the installed pdsim run failed" >&2; tail -5 "$work/run.txt" >&2; exit 1; }
tail -1 "$work/run.txt"
DEBIAN_FRONTEND=noninteractive apt-get remove -y -q pdsim >/dev/null
if [ -e /usr/bin/pdsim ]; then
  echo "FAIL: /usr/bin/pdsim is still there after the removal" >&2
  exit 1
fi
echo "ok: installed ${deb[0]##*/}, ran pdsim run default --seed 1 from /usr/bin, removed it"
