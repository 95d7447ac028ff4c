# Shared by the load scripts that run against `castellan demo --no-sim` (source it; needs
# $bin, the castellan binary, and $dir, the demo's data directory).

# Starts the demo in the background (demo_pid) and waits until it wrote demo.json; on failure
# prints why, prefixed with $1, and exits.
# The demo gives its server none of the caller's CASTELLAN_* variables; the ones a load script
# (or whoever runs it, e.g. CASTELLAN_JOURNAL_LINGER_US=600) sets for the server go as --set.
start_demo() {
  local settings=()
  while IFS= read -r var; do settings+=(--set "$var"); done < <(env | grep '^CASTELLAN_' || true)
  "$bin" demo --no-sim --data-dir "$dir" "${settings[@]}" > "$dir/demo.out" 2>&1 &
  demo_pid=$!
  for _ in $(seq 1 6000); do  # 2 minutes; finely, as startup_load.sh times it
    [[ -f "$dir/demo.json" ]] && return 0
    kill -0 "$demo_pid" 2>/dev/null || { echo "$1: demo exited:" >&2; tail -20 "$dir/demo.out" >&2; exit 1; }
    sleep 0.02
  done
  echo "$1: demo did not become ready" >&2
  exit 1
}

# A top-level field of demo.json.
demo_field() {
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$dir/demo.json" "$1"
}

# User + system CPU seconds of process $1, from /proc.
cpu_seconds() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$1/stat"; }
