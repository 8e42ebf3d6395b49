# SPDX-License-Identifier: GPL-2.0-or-later
# Shared by ./pdsim and ./run-tests: install what is missing, configure, build.
# Sourced, not run. Every step is incremental: a second call does no work that is already done.

PDSIM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Debian packages the build needs (compilers and libraries).
PDSIM_BUILD_PACKAGES=(g++ cmake ninja-build ccache libfmt-dev libcli11-dev nlohmann-json3-dev libexpat1-dev
  zlib1g-dev xz-utils libgtest-dev libgmock-dev librapidcheck-dev libbenchmark-dev
  linux-source-6.1  # the kernel engine is built from its tarball (cmake/KernelSource.cmake)
  help2man)         # the man page, generated from --help

# Debian packages the tests need besides the build: the real thin-provisioning-tools are the oracle
# of the compat tests.
PDSIM_TEST_PACKAGES=(thin-provisioning-tools)

# ccache: paths relative to the folder above the checkout and no working directory in the hash, so
# that git worktrees beside this checkout (helpers, scripts/mutation-score) share one cache.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$(dirname "$PDSIM_ROOT")}"
export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-true}"

pdsim_log() { printf 'pdsim: %s\n' "$*" >&2; }

# pdsim_ensure_packages PKG...: apt-get install the ones that are not installed, and only those.
pdsim_ensure_packages() {
  local missing=()
  local p
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$p")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=()
  [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  pdsim_log "installing missing Debian packages: ${missing[*]}"
  if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2; then
    pdsim_log "apt-get install failed; updating the package lists and trying again"
    "${sudo[@]}" apt-get update -q >&2 || return 1
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2 || return 1
  fi
}

# pdsim_build BUILD_DIR [TARGET...] [-- CMAKE_ARGS...]: configure once, build incrementally with -j2.
pdsim_build() {
  local dir="$1"; shift
  local targets=() cmake_args=()
  while [ $# -gt 0 ]; do
    if [ "$1" = "--" ]; then shift; cmake_args=("$@"); break; fi
    targets+=("$1"); shift
  done
  if [ ! -f "$dir/build.ninja" ]; then
    cmake -S "$PDSIM_ROOT" -B "$dir" -G Ninja "${cmake_args[@]}" >&2 || return 1
  elif [ ${#cmake_args[@]} -gt 0 ]; then
    cmake "$dir" "${cmake_args[@]}" >/dev/null || return 1  # re-apply options to an existing tree
  fi
  local tflags=()
  local t
  for t in "${targets[@]}"; do tflags+=(--target "$t"); done
  cmake --build "$dir" -j2 "${tflags[@]}" >&2
}

# pdsim_peer_bench_setup: what the benchmarks against thin-provisioning-tools share: the peer
# tools, GNU time and python3 installed, pdsim built quietly into build/ (shown again only when
# the build fails), and PDSIM set to the program.
pdsim_peer_bench_setup() {
  pdsim_ensure_packages thin-provisioning-tools time python3
  pdsim_build "$PDSIM_ROOT/build" pdsim >/dev/null 2>&1 || pdsim_build "$PDSIM_ROOT/build" pdsim
  PDSIM="$PDSIM_ROOT/build/tools/pdsim"
}
