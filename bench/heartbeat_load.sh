#!/usr/bin/env bash
# Heartbeats end to end: DEVICES simulated devices (default 100,000) send a heartbeat every
# 3 s through the demo's private mosquitto to `castellan server` (`castellan demo --no-sim`),
# from bench/tools/heartbeat_flood on the same machine. Prints the server's CPU share while
# they arrive, per heartbeat received and scaled to 100,000 devices at one per 3 s, then kills
# the generator (its devices fall silent without a goodbye) and checks from the journal how
# long after each device's last heartbeat the server marked it offline (goal: 8 s ± 0.5 s).
#
# usage: bench/heartbeat_load.sh BUILD_DIR   (env: HEARTBEAT_BENCH_DEVICES, _SECONDS)
set -euo pipefail
build=${1:-build/release}
bin="$build/src/app/castellan"
# Not `castellan sim`: it needs 1.3-1.8 of the reference machine's 2 cores for 100,000
# devices (a libmosquitto write per message), leaving too little for the broker and the server
# (docs/benchmarks.md). heartbeat_flood writes a 5 ms step's heartbeats with one write().
flood="$build/bench/heartbeat_flood"
devices=${HEARTBEAT_BENCH_DEVICES:-100000}
seconds=${HEARTBEAT_BENCH_SECONDS:-40}
for b in "$bin" "$flood"; do [[ -x "$b" ]] || { echo "heartbeat_load: $b missing (build first)"; exit 1; }; done

dir=$(mktemp -d /tmp/castellan-heartbeat-load.XXXXXX)
source "$(dirname "$0")/demo_lib.sh"
demo_pid=
sim_pid=
cleanup() {
  [[ -n "$sim_pid" ]] && kill -TERM "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
  [[ -n "$demo_pid" ]] && kill -TERM "$demo_pid" 2>/dev/null && wait "$demo_pid" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT

start_demo heartbeat_load
server_pid=$(demo_field pid)
ops=$(demo_field ops)
journal_dir=$(demo_field journal_dir)
heartbeats_received() {
  curl -s "$ops/metrics" | awk '/^castellan_mqtt_messages_total\{.*topic_kind="heartbeat"/ {print $2}'
}
online() { curl -s "$ops/metrics" | awk '/^castellan_devices_online/ {printf "%d\n", $2}'; }

broker_pid=$(cat "$dir/broker/mosquitto.pid")
read -r mqtt_host mqtt_port mqtt_user mqtt_password < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
host, port = d["mqtt"].rsplit(":", 1)
print(host, port, d["mqtt_admin"]["username"], d["mqtt_admin"]["password"])' "$dir/demo.json")
"$flood" "$mqtt_host" "$mqtt_port" "$mqtt_user" "$mqtt_password" "$(demo_field site)" "$devices" 3000 \
  > "$dir/sim.out" 2>&1 &
sim_pid=$!

# Measure over the middle of the run: after every device's first heartbeat (3 s) and ramp-up.
sleep 10
c0=$(cpu_seconds "$server_pid"); s0=$(cpu_seconds "$sim_pid"); b0=$(cpu_seconds "$broker_pid")
h0=$(heartbeats_received); t0=$(date +%s.%N)
sleep $((seconds - 10))
c1=$(cpu_seconds "$server_pid"); s1=$(cpu_seconds "$sim_pid"); b1=$(cpu_seconds "$broker_pid")
h1=$(heartbeats_received); t1=$(date +%s.%N)
online_during=$(online)
# mosquitto says so when the server's queue overflows: then devices go offline for real.
dropped=$(grep -c "messages are being dropped" "$dir"/broker/*.log || true)
echo "broker log: $dropped warnings of messages dropped for a slow client"
# Silence without a goodbye: no "offline" status, no will (devices share connections).
kill -KILL "$sim_pid"
killed=$(date -u +%s.%N)
wait "$sim_pid" 2>/dev/null || true
sim_pid=

python3 - "$devices" "$c0" "$c1" "$s0" "$s1" "$h0" "$h1" "$t0" "$t1" "$online_during" "$b0" "$b1" <<'EOF'
import sys
devices, c0, c1, s0, s1, h0, h1, t0, t1, online, b0, b1 = sys.argv[1:]
wall = float(t1) - float(t0)
server = (float(c1) - float(c0)) / wall
sim = (float(s1) - float(s0)) / wall
broker = (float(b1) - float(b0)) / wall
rate = (float(h1) - float(h0)) / wall
per = server / rate * 1e6 if rate else float("nan")
print(f"devices {devices}, online while sending: {online}")
print(f"heartbeats received by the server: {rate:.0f}/s (100,000 devices every 3 s would be 33,333/s)")
print(f"server CPU: {100 * server:.1f} % of a core = {per:.1f} us per heartbeat"
      f" -> {100 * per * 33333 / 1e6:.1f} % of a core at 33,333/s")
print(f"on the same machine: mosquitto {100 * broker:.0f} %, heartbeat_flood {100 * sim:.0f} % of a core")
EOF

# Offline detection: every device's offline transition (reason "timeout") against its last
# heartbeat, from the journal. The monitor ticks every 100 ms; wait for the last ones.
sleep 12
echo "offline after the simulator stopped: $(online) devices still online"
kill -TERM "$demo_pid" && wait "$demo_pid" 2>/dev/null || true
demo_pid=
"$bin" journal export "$journal_dir" > "$dir/journal.jsonl"
python3 - "$dir/journal.jsonl" "$devices" "$killed" <<'EOF'
import datetime, json, sys
killed = float(sys.argv[3])
def t(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
delays = []
reasons = {}
early = 0  # while the simulator still ran: its heartbeats came later than 8 s apart
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("kind") != "device_offline":
        continue
    extra = r["extra"] if isinstance(r.get("extra"), dict) else r  # members of `extra`
    reasons[extra.get("reason")] = reasons.get(extra.get("reason"), 0) + 1
    if extra.get("reason") != "timeout" or "last_heartbeat" not in extra:
        continue
    delays.append(t(r["ts"]) - t(extra["last_heartbeat"]))
    early += t(r["ts"]) < killed
print("offline transitions by reason:", reasons, f"({early} before the simulator was killed)")
delays.sort()
if not delays:
    sys.exit("no device_offline records with reason timeout")
n = len(delays)
outside = sum(1 for d in delays if abs(d - 8.0) > 0.5)
pick = lambda p: delays[min(n - 1, int(p * n))]
print(f"offline transitions: {n} of {sys.argv[2]} devices; last heartbeat -> offline:"
      f" min {delays[0]:.3f} s, p50 {pick(0.5):.3f} s, p99 {pick(0.99):.3f} s, max {delays[-1]:.3f} s;"
      f" {outside} outside 8 s ± 0.5 s")
EOF
