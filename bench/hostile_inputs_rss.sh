#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Peak memory of pdsim's tools and Debian's thin-provisioning-tools 0.9 on the small, hostile
# inputs of issue 15 (a field that claims a huge size), side by side: peak RSS from /usr/bin/time
# and the exit status of each. Usage: bench/hostile_inputs_rss.sh. Prints a Markdown table.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
source "$here/scripts/common.sh"
pdsim_peer_bench_setup

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# reseal FILE SALT OFFSET WIDTH VALUE: set a little-endian field of block 0 and re-seal its
# checksum (crc32c, seed 0xffffffff, no final inversion, XOR the block type's salt).
reseal() {
  python3 - "$@" <<'PY'
import struct, sys
path, salt, off, width, value = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
table = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    table.append(c)
with open(path, 'r+b') as f:
    b = bytearray(f.read(4096))
    b[off:off + width] = value.to_bytes(width, 'little')
    crc = 0xFFFFFFFF
    for x in b[4:]:
        crc = table[(crc ^ x) & 0xFF] ^ (crc >> 8)
    b[0:4] = struct.pack('<I', crc ^ salt)
    f.seek(0)
    f.write(b)
PY
}

# measure LABEL CMD...: "rss_mib exit_status" of one run.
measure() {
  local out="$work/time.txt" rc=0
  /usr/bin/time -f '%M' -o "$out" "$@" >/dev/null 2>&1 || rc=$?
  echo "$(( $(tail -1 "$out") / 1024 )) $rc"
}

row() {  # row INPUT OPERATION "OURS..." "PEER..."
  local input="$1" op="$2" ours peer
  read -r ours_rss ours_rc <<<"$(measure bash -c "$3")"
  read -r peer_rss peer_rc <<<"$(measure bash -c "$4")"
  echo "| $input | $op | $ours_rss | $ours_rc | $peer_rss | $peer_rc |"
}

thin_doc='<superblock uuid="" time="1" transaction="1" flags="0" version="2" data_block_size="128" nr_data_blocks="1000">
  <device dev_id="1" mapped_blocks="2" transaction="0" creation_time="0" snap_time="0">
    <range_mapping origin_begin="0" data_begin="0" length="2" time="0"/>
  </device>
</superblock>'
echo "$thin_doc" > "$work/thin.xml"
mk_thin() { truncate -s 4M "$1"; "$PDSIM" restore -i "$work/thin.xml" -o "$1" >/dev/null; }

mk_thin "$work/data_sm.img"; reseal "$work/data_sm.img" 160774 64 8 $((1 << 28))
mk_thin "$work/meta_sm.img"; reseal "$work/meta_sm.img" 160774 192 8 $((1 << 28))
mk_thin "$work/sparse.img"; truncate -s 1T "$work/sparse.img"

printf '<superblock uuid="" block_size="128" nr_cache_blocks="140000000" policy="smq" hint_width="4">\n  <mappings>\n    <mapping cache_block="0" origin_block="1" dirty="false"/>\n  </mappings>\n</superblock>\n' > "$work/cache.xml"
truncate -s 256M "$work/cache_ours.img" "$work/cache_peer.img"
truncate -s 8G "$work/cache_ours8.img" "$work/cache_peer8.img"

printf '<superblock uuid="" block_size="128" nr_cache_blocks="300" policy="smq" hint_width="4">\n  <mappings>\n    <mapping cache_block="0" origin_block="1" dirty="false"/>\n  </mappings>\n</superblock>\n' > "$work/small_cache.xml"
truncate -s 4M "$work/v1.img"
"$PDSIM" cache-restore -i "$work/small_cache.xml" -o "$work/v1.img" >/dev/null
reseal "$work/v1.img" 9031977 240 4 4294967295

echo "| input (4 MiB unless said) | operation | pdsim peak RSS MiB | pdsim exit | tools peak RSS MiB | tools exit |"
echo "|---|---|---|---|---|---|"
row "thin: data space map claims 2^28 blocks" check "'$PDSIM' check '$work/data_sm.img'" "thin_check '$work/data_sm.img'"
row "thin: metadata space map claims 2^28 blocks" check "'$PDSIM' check '$work/meta_sm.img'" "thin_check '$work/meta_sm.img'"
row "thin: a small pool in a 1 TiB sparse file" check "'$PDSIM' check '$work/sparse.img'" "thin_check '$work/sparse.img'"
row "thin: data space map claims 2^28 blocks" dump "'$PDSIM' dump '$work/data_sm.img'" "thin_dump '$work/data_sm.img'"
row "cache: a 6-line document, nr_cache_blocks 1.4e8 (256 MiB output)" restore \
  "'$PDSIM' cache-restore -i '$work/cache.xml' -o '$work/cache_ours.img'" \
  "cache_restore -i '$work/cache.xml' -o '$work/cache_peer.img'"
row "cache: the same document, 8 GiB output (the restore completes)" restore \
  "'$PDSIM' cache-restore -i '$work/cache.xml' -o '$work/cache_ours8.img'" \
  "cache_restore -i '$work/cache.xml' -o '$work/cache_peer8.img'"
row "cache v1: cache_blocks 2^32-1 over a 300-entry mapping array" dump "'$PDSIM' cache-dump '$work/v1.img'" "cache_dump '$work/v1.img'"
row "cache v1: cache_blocks 2^32-1 over a 300-entry mapping array" check "'$PDSIM' cache-check '$work/v1.img'" "cache_check '$work/v1.img'"
