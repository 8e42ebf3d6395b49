#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The `report` test: `pdsim run --report DIR` on known failing seeds with seed bug (a) switched on:
# thin_faults seed 13 (a power cut in its shrunk steps; the shrunk replay fails first on block 18,
# whose write the disk failed), and the seed-(a) scenario's seed 1, whose page must name the write
# the disk failed (block 22) next to the block the checker found lost, and show the superblock of
# the last commit against the durable one (transaction 1 against 2, marked), block 22 reached only
# by the durable superblock, and the engine's write of block 22 the disk did not keep.
# Headless Chromium (Debian's) renders the pages from the files: their DOM must hold all that, the
# pages must load nothing from outside, and the screenshots are saved in OUT_DIR.
#   tests/report/report_test.sh PDSIM_ROOT PDSIM_BINARY OUT_DIR
set -euo pipefail
root="$1"
pdsim="$2"
out="$3"
source "$root/scripts/common.sh"
pdsim_ensure_packages chromium
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
rc=0
(cd "$work" && "$pdsim" run thin_faults --bug a --seed 13 --jobs 1 --report "$work/rep" > run.txt 2>&1) || rc=$?
[ "$rc" = 1 ] || { echo "FAIL: the seed-bug run should fail (exit 1), it exited $rc" >&2; exit 1; }
page="$work/rep/thin_faults-seed13.html"
[ -f "$page" ] && [ -f "$work/rep/index.html" ] && [ -f "$work/rep/thin_faults-seed13.steps" ] ||
  { echo "FAIL: no report pages (or shrunk steps) in $work/rep" >&2; ls "$work/rep" >&2; exit 1; }
if grep -qE '(src|href)="(https?:)?//' "$page" "$work/rep/index.html"; then
  echo "FAIL: a report page loads something from outside" >&2
  exit 1
fi
chrome=(chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --user-data-dir="$work/profile")
"${chrome[@]}" --dump-dom "file://$page" > "$work/dom.html" 2>/dev/null
for want in 'id="failure"' 'id="replay-failure"' 'id="power-cut-1"' 'id="block-18"' 'id="failed-write-of-block-18"' \
  'id="unexpected-reach-18"' 'id="timeline"' 'id="reproduce"'; do
  grep -qF "$want" "$work/dom.html" || { echo "FAIL: the rendered page has no $want" >&2; exit 1; }
done
grep -q 'class="op cut"' "$work/dom.html" || { echo "FAIL: the timeline has no power-cut mark" >&2; exit 1; }
"${chrome[@]}" --dump-dom "file://$work/rep/index.html" > "$work/index-dom.html" 2>/dev/null
grep -q 'thin_faults-seed13.html' "$work/index-dom.html" || { echo "FAIL: index.html does not link the seed page" >&2; exit 1; }
# The seed-bug scenario of (a): the page names the write the disk failed and the block it lost.
(cd "$work" && "$pdsim" run seed_a_nonatomic_commit_superblock_after_failed_flush --seed 1 --bug a --jobs 1 \
  --report "$work/rep_a" > run_a.txt 2>&1) || true
page_a="$work/rep_a/seed_a_nonatomic_commit_superblock_after_failed_flush-seed1.html"
"${chrome[@]}" --dump-dom "file://$page_a" > "$work/dom_a.html" 2>/dev/null
for want in 'id="failed-op-1"' 'id="block-22"' 'id="path-to-block-22"' 'id="failed-write-of-block-22"' \
  'write 22 fault=error failed (btree node) [transaction 2]' 'id="power-cut-1"' 'id="block-0"' \
  '<tr class="diff" data-field="transaction id"><th>transaction id</th><td class="mono">1</td>' \
  'id="unexpected-reach-22"' '<td class="mono lost">btree node</td>'; do
  grep -qF "$want" "$work/dom_a.html" || { echo "FAIL: the seed (a) page has no $want" >&2; exit 1; }
done
mkdir -p "$out"
"${chrome[@]}" --window-size=1280,1800 --hide-scrollbars --screenshot="$out/report_seed_a.png" "file://$page_a" >/dev/null 2>&1
"${chrome[@]}" --window-size=1280,1500 --hide-scrollbars --screenshot="$out/report.png" "file://$page" >/dev/null 2>&1
[ "$(head -c 8 "$out/report.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || { echo "FAIL: no PNG screenshot" >&2; exit 1; }
echo "ok: Chromium rendered $page (failure, block 18 decoded, power cut marked) and the seed (a) page (failed write of block 22, the superblock against the last commit's, the lost write); screenshots in $out"
