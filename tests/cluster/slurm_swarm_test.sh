#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The `cluster` test (./run-tests --cluster): a private single-node Slurm (scripts/slurm-local:
# munged, slurmctld and slurmd on this machine, their own config, state and ports, stopped at the
# end) runs `scripts/slurm-swarm` on a 4-task job array and its dependent merge job; the merged
# report must be byte for byte the report of one process running the same range, and the merge
# job's summary its summary (rates aside).
#   tests/cluster/slurm_swarm_test.sh PDSIM_ROOT PDSIM_BINARY
set -euo pipefail
root="$1"
pdsim="$2"
work="$(mktemp -d)"
cleanup() {
  "$root/scripts/slurm-local" stop "$work/slurm" || true
  rm -rf "$work"
}
trap cleanup EXIT

eval "$("$root/scripts/slurm-local" start "$work/slurm")"
run_args=(--runs 3 --thin-check never)
"$root/scripts/slurm-swarm" --wait --pdsim "$pdsim" default 4 "$work/out" "${run_args[@]}"
"$pdsim" run default "${run_args[@]}" --jobs 1 --json "$work/whole.json" > "$work/whole.txt"

if ! cmp -s "$work/out/merged.json" "$work/whole.json"; then
  echo "FAIL: the merged report of the Slurm job array differs from the one-process report" >&2
  diff <(tr ',' '\n' < "$work/out/merged.json") <(tr ',' '\n' < "$work/whole.json") | head -20 >&2
  exit 1
fi
strip() { sed -n '/^| scenario/,$p' "$1" | sed -E 's/^(\| [^|]+\| [0-9]+ \| [0-9]+ \| [0-9]+ \| [0-9]+ \| )[0-9-]+ \|/\1RATE |/'; }
if ! diff <(strip "$work/out/merge.out") <(strip "$work/whole.txt") >&2; then
  echo "FAIL: the merge job's summary differs from the one-process summary" >&2
  exit 1
fi
for i in 0 1 2 3; do
  [ -s "$work/out/shard-$i.json" ] || { echo "FAIL: shard $i wrote no report" >&2; exit 1; }
done
echo "ok: 4 Slurm array tasks merged into the one-process report ($(grep -o '"runs":[0-9]*' "$work/whole.json" | head -1))"
