#!/usr/bin/env bash
# Runs every benchmark of a Release build: the Google Benchmark executables, then the load
# scripts (bench/*_load.sh). Each prints its figures and the baseline measured in the same run.
set -uo pipefail
build=${1:-build/release}
here=$(cd "$(dirname "$0")" && pwd)
status=0
for exe in "$build"/bench/*_bench; do
  [[ -x "$exe" ]] || continue
  echo "=== $(basename "$exe")"
  "$exe" --benchmark_counters_tabular=true || status=1
done
for script in "$here"/*_load.sh; do
  [[ -f "$script" ]] || continue
  echo "=== $(basename "$script")"
  bash "$script" "$build" || status=1
done
exit $status
