#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Side-by-side timing of pdsim's thin tools and Debian's thin-provisioning-tools on the same
# inputs, in one run, alternating, several times: median wall time of each, the ratio, and peak
# RSS. Usage: bench/thin_tools_bench.sh [REPEATS] [SIZES...]   (defaults: 5, 100000 1000000)
# Prints a Markdown table. Needs a built pdsim (./pdsim builds it) and thin-provisioning-tools.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
source "$here/scripts/common.sh"
pdsim_peer_bench_setup

repeats="${1:-5}"
shift || true
sizes=("${@:-100000 1000000}")
[ $# -eq 0 ] && sizes=(100000 1000000)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# gen N SHAPE: a pool of 4 devices with N mappings in all; sequential = long runs (range
# mappings), random = scattered single mappings.
gen() {
  python3 - "$1" "$2" <<'PY'
import random, sys
n, shape = int(sys.argv[1]), sys.argv[2]
rnd = random.Random(42)
devs = 4
per = n // devs
nr_data = n + 1000
print(f'<superblock uuid="" time="1" transaction="1" flags="0" version="2" data_block_size="128" nr_data_blocks="{nr_data}">')
data = list(range(n))
if shape == "random":
    rnd.shuffle(data)
k = 0
for d in range(devs):
    print(f'  <device dev_id="{d+1}" mapped_blocks="{per}" transaction="0" creation_time="0" snap_time="1">')
    if shape == "sequential":
        print(f'    <range_mapping origin_begin="0" data_begin="{k}" length="{per}" time="0"/>')
        k += per
    else:
        vs = sorted(rnd.sample(range(per * 4), per))
        for v in vs:
            print(f'    <single_mapping origin_block="{v}" data_block="{data[k]}" time="{rnd.randint(0,1)}"/>')
            k += 1
    print('  </device>')
print('</superblock>')
PY
}

source "$here/bench/side_by_side.sh"

table_header
for n in "${sizes[@]}"; do
  for shape in sequential random; do
    xml="$work/$shape-$n.xml"
    gen "$n" "$shape" > "$xml"
    rm -f "$work"/*.times
    for ((i = 0; i < repeats; i++)); do
      for who in pdsim tools; do
        img="$work/$who.bin"
        rm -f "$img"; truncate -s 1G "$img"
        if [ "$who" = pdsim ]; then
          measure "$work/restore-$who.times" "$PDSIM" restore -i "$xml" -o "$img"
          measure "$work/check-$who.times" "$PDSIM" check -q "$img"
          measure "$work/dump-$who.times" "$PDSIM" dump "$img" -o "$work/$who.xml"
        else
          measure "$work/restore-$who.times" thin_restore -i "$xml" -o "$img"
          measure "$work/check-$who.times" thin_check -q "$img"
          measure "$work/dump-$who.times" thin_dump "$img" -o "$work/$who.xml"
        fi
      done
      cmp -s "$work/pdsim.xml" "$work/tools.xml" || { echo "dump outputs differ for $shape $n" >&2; exit 1; }
    done
    table_rows "$n $shape"
  done
done
