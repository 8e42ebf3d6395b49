# SPDX-License-Identifier: GPL-2.0-or-later
# Shared by bench/thin_tools_bench.sh and bench/cache_tools_bench.sh (sourced; needs $work).

# measure OUT_FILE CMD...: appends "seconds max_rss_kib" of one run (wall time from bash's
# microsecond clock; /usr/bin/time, which only has 10 ms resolution, gives the peak RSS).
measure() {
  local out="$1"; shift
  local t0=$EPOCHREALTIME
  /usr/bin/time -f "%M" -o "$work/t" "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  local t1=$EPOCHREALTIME
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }') $(cat "$work/t")" >> "$out"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

table_header() {
  echo "| input | operation | pdsim median s | tools median s | tools / pdsim | pdsim peak RSS MiB | tools peak RSS MiB |"
  echo "|---|---|---|---|---|---|---|"
}

# table_rows LABEL: one row per operation from $work/OP-pdsim.times and $work/OP-tools.times.
table_rows() {
  local label="$1" op p t pr tr ratio
  for op in restore check dump; do
    p=$(cut -d' ' -f1 "$work/$op-pdsim.times" | median)
    t=$(cut -d' ' -f1 "$work/$op-tools.times" | median)
    pr=$(cut -d' ' -f2 "$work/$op-pdsim.times" | sort -n | tail -1)
    tr=$(cut -d' ' -f2 "$work/$op-tools.times" | sort -n | tail -1)
    ratio=$(awk -v p="$p" -v t="$t" 'BEGIN { if (p > 0) printf "%.2f", t / p; else print "inf" }')
    printf "| %s | %s | %s | %s | %s | %.0f | %.0f |\n" "$label" "$op" "$p" "$t" "$ratio" \
      "$(awk -v k="$pr" 'BEGIN{print k/1024}')" "$(awk -v k="$tr" 'BEGIN{print k/1024}')"
  done
}
