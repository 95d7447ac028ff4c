#!/usr/bin/env bash
# MQTT swipe -> signed decision round trips through `castellan server` (started by
# `castellan demo --no-sim`: private mosquitto, seeded store, per-door keys), driven by
# `castellan sim` at 1k, 5k and 20k swipes/s, then a ramp for the highest sustained rate with
# no unanswered swipe. The echo baseline of the same run comes from mqtt_roundtrip_bench
# (same generated broker config, an EchoDecider instead of the server).
#
# Usage: bench/mqtt_load.sh [BUILD_DIR]   (a Release build with -DCASTELLAN_BUILD_BENCH=ON)
set -uo pipefail
build=${1:-build/release}
bin="$build/src/app/castellan"
[[ -x "$bin" ]] || { echo "mqtt_load: $bin not built" >&2; exit 1; }
duration=${MQTT_LOAD_DURATION:-10}
# The same load for the server and the echo baseline (mqtt_roundtrip_bench reads these; not
# CASTELLAN_*: the server refuses environment variables that are not configuration keys).
ramp=${MQTT_LOAD_RAMP:-"2500 5000 7500 10000 12500 15000 17500 20000 25000 30000 40000 50000"}
ramp_seconds=${MQTT_LOAD_RAMP_SECONDS:-5}
export MQTT_BENCH_RUN_SECONDS=$duration MQTT_BENCH_RAMP=$ramp
export MQTT_BENCH_RAMP_SECONDS=$ramp_seconds

dir=$(mktemp -d /tmp/castellan-mqtt-load.XXXXXX)
source "$(dirname "$0")/demo_lib.sh"
demo_pid=
cleanup() {
  if [[ -n "$demo_pid" ]]; then
    kill -TERM "$demo_pid" 2>/dev/null
    wait "$demo_pid" 2>/dev/null
  fi
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM

# The load (up to 20k swipes/s over the demo's ~10 doors) is far above any real door's rate:
# this measures the decision path, so the per-door swipe limit (42901) is off.
export CASTELLAN_DECISION_DOOR_SWIPES_PER_S=0
start_demo mqtt_load

doors=$(python3 -c 'import json,sys; print(",".join(sorted(json.load(open(sys.argv[1])))))' "$dir/door-keys.json")
export MQTT_BENCH_DOORS=$(tr ',' '\n' <<<"$doors" | wc -l)
common=(sim --demo-json "$dir/demo.json" --keys "$dir/door-keys.json" --door-ids "$doors" --sensors 0
        --forced-open-per-min 0 --held-open-ratio 0 --answer-timeout-ms 2000
        --mix valid=80,unknown=10,expired=10
        --valid-cards "$dir/sim-valid-cards.json" --expired-cards "$dir/sim-expired-cards.json")

run() {  # rate seconds -> prints the summary, returns 0 when nothing was lost
  "$bin" "${common[@]}" --rate "$1" --duration "$2" --fail-on-loss
}

summary() {
  sed -n '/swipes sent/p;/^ *answered/p;/^ *unanswered/p;/rejected/p;/decision codes/p;/refused by/p;/round trip/p'
}

# Where the server's time goes: its CPU seconds (user + system, from /proc) and, from its
# /metrics, the decision latency (receipt -> decision published), fdatasync and batch size
# histograms as upper bucket bounds of p50/p99 (cumulative since the server started).
server_pid=$(demo_field pid)
ops=$(demo_field ops)
server_cpu() { cpu_seconds "$server_pid"; }
server_histograms() {
  curl -s "$ops/metrics" | python3 -c '
import collections, re, sys
buckets = collections.defaultdict(dict)
for line in sys.stdin:
    m = re.match(r"(castellan_(?:decision_latency_seconds|journal_fsync_seconds|journal_batch_size))_bucket\{(.*)\} (\S+)", line)
    if m:
        le = re.search(r"le=\"([^\"]+)\"", m.group(2)).group(1)
        key = float("inf") if le == "+Inf" else float(le)
        buckets[m.group(1)][key] = buckets[m.group(1)].get(key, 0) + float(m.group(3))
for name, b in sorted(buckets.items()):
    items = sorted(b.items()); total = items[-1][1]
    q = lambda f: next(le for le, v in items if v >= f * total)
    print(f"  {name}: n={int(total)} p50<={q(0.5):g} p99<={q(0.99):g}")
'
}

# Overload last: a run the server cannot keep up with leaves a backlog in the broker that
# would spoil the runs after it.
echo "--- castellan server: swipe -> signed decision"
for rate in 1000 5000; do
  echo "rate $rate/s for ${duration}s:"
  cpu0=$(server_cpu)
  run "$rate" "$duration" | summary
  echo "  server CPU         $(awk -v a="$cpu0" -v b="$(server_cpu)" -v d="$duration" 'BEGIN {printf "%.2f s in %d s (%.0f %% of a core)", b - a, d, 100 * (b - a) / d}')"
done
echo "server histograms after the 1k and 5k runs:"
server_histograms

echo "--- castellan server: highest sustained rate (no unanswered or refused swipe, sender within 95 %)"
best=0
for rate in $ramp; do
  out=$(run "$rate" "$ramp_seconds") || break
  sent=$(sed -n 's/.*swipes sent *[0-9]* (\([0-9]*\)\/s).*/\1/p' <<<"$out")
  (( sent * 100 >= rate * 95 )) || break
  best=$rate
done
echo "max sustained: $best swipes/s"

echo "rate 20000/s for ${duration}s (overload when above the sustained rate):"
run 20000 "$duration" | summary

# The server is stopped first: after the overload run it is still working through the swipes
# the broker queued for it, and that CPU would be taken from the echo baseline.
kill -TERM "$demo_pid" 2>/dev/null
wait "$demo_pid" 2>/dev/null
demo_pid=

echo "--- echo baseline (same broker config)"
if [[ -x "$build/bench/mqtt_roundtrip_bench" ]]; then
  "$build/bench/mqtt_roundtrip_bench" --benchmark_counters_tabular=true
else
  echo "mqtt_load: $build/bench/mqtt_roundtrip_bench not built" >&2
fi
