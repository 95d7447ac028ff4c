#!/usr/bin/env bash
# Start-up after a busy day: how long `castellan demo --no-sim` takes to become ready (the
# server answering, demo.json written) when its journal holds RECORDS decisions spread over
# the last 24 h (default 2,000,000: half of them inside the 12-h anti-passback window, which
# the server reads back before it answers a door). Baseline, in the same run: the same start
# with only the demo's own few records. "warm": the journal is in the page cache; "cold":
# the page cache was dropped first, as after a power cut (needs root; skipped otherwise).
#
# usage: bench/startup_load.sh BUILD_DIR   (env: STARTUP_BENCH_RECORDS; needs ~600 B of disk
#        per record under /tmp)
set -euo pipefail
build=${1:-build/release}
bin="$build/src/app/castellan"
fill="$build/bench/journal_fill"
records=${STARTUP_BENCH_RECORDS:-2000000}
for exe in "$bin" "$fill"; do
  [[ -x "$exe" ]] || { echo "startup_load: $exe missing (build first)"; exit 1; }
done

dir=$(mktemp -d /tmp/castellan-startup-load.XXXXXX)
source "$(dirname "$0")/demo_lib.sh"
demo_pid=
stop_demo() {
  [[ -n "$demo_pid" ]] && kill -TERM "$demo_pid" 2>/dev/null && wait "$demo_pid" 2>/dev/null
  demo_pid=
}
cleanup() {
  stop_demo
  rm -rf "$dir"
}
trap cleanup EXIT

# Starts the demo, sets `elapsed` to the seconds until it was ready, and stops it again.
elapsed=
timed_start() {
  rm -f "$dir/demo.json"
  local t0
  t0=$(date +%s.%N)
  start_demo startup_load
  elapsed=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}')
  stop_demo
}
can_drop=0
[[ $(id -u) == 0 && -w /proc/sys/vm/drop_caches ]] && can_drop=1
# Sets `warm` and `cold` (or "skipped") for the journal as it is now.
measure() {
  timed_start  # fills the page cache
  timed_start
  warm=$elapsed
  cold=skipped
  if ((can_drop)); then
    sync
    echo 3 >/proc/sys/vm/drop_caches
    timed_start
    cold=$elapsed
  fi
}

timed_start  # the first start seeds the demo's data
measure
base_warm=$warm base_cold=$cold
"$fill" "$dir/journal" "$records" 24
du -sh "$dir/journal" | awk '{print "journal on disk: " $1}'
measure
grep -h 'anti-passback:' "$dir/server.log" | tail -1 | sed 's/.*"msg":"\(.*\)".*/last start: \1/'

printf '%-44s %8s %8s\n' "start-up until ready (demo --no-sim)" "warm s" "cold s"
printf '%-44s %8s %8s\n' "  the demo's own records (baseline)" "$base_warm" "$base_cold"
printf '%-44s %8s %8s\n' "  + $records decisions over 24 h" "$warm" "$cold"
