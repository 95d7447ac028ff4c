#!/usr/bin/env bash
# HTTPS API load: wrk (keep-alive, TLS 1.3) against POST /v1/verify of the API over the real
# parts (bench/api_server_bench.cpp --serve: SQLite store, decision engine, journal with
# fsync per batch), at 16 and 64 connections, and in the same run against nginx serving a
# static 200 over TLS 1.3 on the same machine. Prints req/s, p99 and the ratio to nginx.
#
#   bash bench/api_load.sh [BUILD_DIR]      (default build/release; DURATION=10 seconds each)
set -euo pipefail
build=${1:-build/release}
here=$(cd "$(dirname "$0")" && pwd)
duration=${DURATION:-10}
server_bin="$build/bench/api_server_bench"
[[ -x "$server_bin" ]] || { echo "api_load: $server_bin not built (make bench builds it)"; exit 1; }
command -v wrk >/dev/null || { echo "api_load: wrk missing (scripts/bootstrap.sh installs it)"; exit 1; }
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

work=$(mktemp -d /tmp/castellan-api-load.XXXXXX)
api_pid=""
api_nj_pid=""
nginx_pid=""
cleanup() {
  [[ -n "$api_pid" ]] && kill "$api_pid" 2>/dev/null && wait "$api_pid" 2>/dev/null
  [[ -n "$api_nj_pid" ]] && kill "$api_nj_pid" 2>/dev/null && wait "$api_nj_pid" 2>/dev/null
  [[ -n "$nginx_pid" ]] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- castellan API
mkdir -p "$work/api"
"$server_bin" --serve "$work/api" 2 >"$work/api.out" 2>"$work/api.err" &
api_pid=$!
for _ in $(seq 100); do grep -q '^READY' "$work/api.out" 2>/dev/null && break; sleep 0.1; done
read -r _ api_port token < <(grep '^READY' "$work/api.out") || { cat "$work/api.err"; exit 1; }
export API_TOKEN=$token
# The same API answering verify without the journal (decision only): the transport ceiling.
mkdir -p -m 0700 "$work/api-nj"
cp -p "$work/api/jwt-secret" "$work/api-nj/jwt-secret"  # same key: the same token works
"$server_bin" --serve "$work/api-nj" 2 --no-journal >"$work/api-nj.out" 2>"$work/api-nj.err" &
api_nj_pid=$!
for _ in $(seq 100); do grep -q '^READY' "$work/api-nj.out" 2>/dev/null && break; sleep 0.1; done
read -r _ api_nj_port _ < <(grep '^READY' "$work/api-nj.out") || { cat "$work/api-nj.err"; exit 1; }

# --- nginx: static 200, TLS 1.3 only, same number of workers as API io threads (2)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
  -addext "subjectAltName=IP:127.0.0.1" -keyout "$work/nginx.key" -out "$work/nginx.pem" 2>/dev/null
nginx_port=$(free_port)
cat >"$work/nginx.conf" <<CONF
worker_processes 2;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx.err warn;
events { worker_connections 1024; }
http {
  access_log off;
  server {
    listen 127.0.0.1:$nginx_port ssl;
    ssl_certificate $work/nginx.pem;
    ssl_certificate_key $work/nginx.key;
    ssl_protocols TLSv1.3;
    keepalive_requests 100000000;
    location / { default_type application/json; return 200 '{"decision":"grant","code":0}'; }
  }
}
CONF
"$nginx_bin" -p "$work" -c "$work/nginx.conf" &
nginx_pid=$!
sleep 0.5

run() {  # name url connections -> "rps p99_ms"
  local out
  out=$(wrk -t2 -c"$3" -d"${duration}s" --latency ${4:+-s "$4"} "$2")
  local rps p99 errors
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v=v*1000}; print v}' <<<"$out")
  errors=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out" | tr '\n' ' ')
  [[ -n "$errors" ]] && echo "  $1 c=$3: $errors" >&2 && rps=0  # errors do not count as throughput
  echo "$rps $p99"
}

# Warm-up of every target (TLS, page cache, SQLite, allocator) not counted.
DURATION_SAVE=$duration; duration=2
for port in "$api_port" "$api_nj_port" "$nginx_port"; do
  run warm "https://127.0.0.1:$port" 16 "$here/api_verify.lua" >/dev/null
done
duration=$DURATION_SAVE

printf '%-28s %12s %10s\n' "target" "req/s" "p99 ms"
declare -A rps p99
for c in 16 64; do
  read -r rps[api$c] p99[api$c] < <(run api "https://127.0.0.1:$api_port" $c "$here/api_verify.lua")
  printf '%-28s %12s %10s\n' "castellan verify c=$c" "${rps[api$c]}" "${p99[api$c]}"
  read -r nj_rps nj_p99 < <(run api-nj "https://127.0.0.1:$api_nj_port" $c "$here/api_verify.lua")
  printf '%-28s %12s %10s\n' "  same, not journaled c=$c" "$nj_rps" "$nj_p99"
  # The same request (POST, token header, JSON body) as castellan gets; nginx answers 200.
  read -r rps[ngx$c] p99[ngx$c] < <(run nginx "https://127.0.0.1:$nginx_port" $c "$here/api_verify.lua")
  printf '%-28s %12s %10s\n' "nginx static 200 c=$c" "${rps[ngx$c]}" "${p99[ngx$c]}"
done
# The journaled server's group commits over both rows (it prints them when it stops).
kill "$api_pid" 2>/dev/null && wait "$api_pid" 2>/dev/null
api_pid=""
grep '^journal:' "$work/api.err" | sed 's/^/castellan verify: /'
for c in 16 64; do
  awk -v a="${rps[api$c]}" -v n="${rps[ngx$c]}" -v p="${p99[api$c]}" -v c=$c \
    'BEGIN {printf "ratio c=%d: %.2fx nginx (goal >= 0.7), castellan p99 %.2f ms (goal <= 5)\n", c, a/n, p}'
done
