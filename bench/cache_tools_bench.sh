#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Side-by-side timing of pdsim's cache tools and Debian's thin-provisioning-tools (cache_restore,
# cache_check, cache_dump) on the same inputs, in one run, alternating, several times: median wall
# time of each, the ratio, and peak RSS. Usage: bench/cache_tools_bench.sh [REPEATS] [SIZES...]
# (defaults: 3, 1000000 cache blocks). Prints a Markdown table. Needs a built pdsim (./pdsim
# builds it) and thin-provisioning-tools. Version-1 metadata: cache_dump 0.9 does not read
# version-2 dirty bits, so only version 1 dumps can be compared byte for byte.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
source "$here/scripts/common.sh"
pdsim_peer_bench_setup

repeats="${1:-3}"
shift || true
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(1000000)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# gen N SHAPE: a cache of N blocks. full = every block mapped (origin blocks shuffled), half the
# blocks dirty, a hint each; sparse = one block in four mapped.
gen() {
  python3 - "$1" "$2" <<'PY'
import base64, random, struct, sys
n, shape = int(sys.argv[1]), sys.argv[2]
rnd = random.Random(42)
w = sys.stdout.write
w(f'<superblock uuid="" block_size="128" nr_cache_blocks="{n}" policy="smq" hint_width="4">\n  <mappings>\n')
origins = list(range(n * 4))
rnd.shuffle(origins)
mapped = [c for c in range(n) if shape == "full" or rnd.random() < 0.25]
for c in mapped:
    w(f'    <mapping cache_block="{c}" origin_block="{origins[c]}" dirty="{"true" if rnd.random() < 0.5 else "false"}"/>\n')
w('  </mappings>\n  <hints>\n')
for c in mapped:
    w(f'    <hint cache_block="{c}" data="{base64.b64encode(struct.pack("<I", rnd.getrandbits(32))).decode()}"/>\n')
w('  </hints>\n</superblock>\n')
PY
}

source "$here/bench/side_by_side.sh"

table_header
for n in "${sizes[@]}"; do
  for shape in full sparse; do
    xml="$work/$shape-$n.xml"
    gen "$n" "$shape" > "$xml"
    rm -f "$work"/*.times
    for ((i = 0; i < repeats; i++)); do
      for who in pdsim tools; do
        img="$work/$who.bin"
        rm -f "$img"; truncate -s 256M "$img"
        if [ "$who" = pdsim ]; then
          measure "$work/restore-$who.times" "$PDSIM" cache-restore -i "$xml" -o "$img"
          measure "$work/check-$who.times" "$PDSIM" cache-check -q "$img"
          measure "$work/dump-$who.times" "$PDSIM" cache-dump "$img" -o "$work/$who.xml"
        else
          measure "$work/restore-$who.times" cache_restore -i "$xml" -o "$img"
          measure "$work/check-$who.times" cache_check -q "$img"
          measure "$work/dump-$who.times" cache_dump "$img" -o "$work/$who.xml"
        fi
      done
      cmp -s "$work/pdsim.xml" "$work/tools.xml" || { echo "dump outputs differ for $shape $n" >&2; exit 1; }
      cmp -s "$work/pdsim.xml" "$xml" || { echo "the dump differs from the input for $shape $n" >&2; exit 1; }
    done
    table_rows "$n $shape"
  done
done
