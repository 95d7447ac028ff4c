#!/usr/bin/env bash
# Installs the Debian 12 packages Castellan needs to build, test, demo and benchmark.
# Idempotent and quick when everything is present: it asks dpkg first and calls apt only
# for what is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libsqlite3-dev sqlite3
  libmosquitto-dev mosquitto mosquitto-clients libpaho-mqttpp-dev libpaho-mqtt-dev
  libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev
  libhowardhinnant-date-dev tzdata libsodium-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  prometheus wrk nginx-light openssl curl python3 python3-yaml
)
# `bootstrap.sh fuzz` (make fuzz) adds clang and its libFuzzer runtime; make test needs neither.
if [[ "${1:-}" == "fuzz" ]]; then
  packages+=(clang libclang-rt-14-dev)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "bootstrap: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
# policy-rc.d keeps apt from starting the packaged mosquitto/nginx/prometheus services:
# Castellan starts its own instances on free loopback ports.
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee /usr/sbin/policy-rc.d >/dev/null
  "${sudo_cmd[@]}" chmod +x /usr/sbin/policy-rc.d
  trap '"${sudo_cmd[@]}" rm -f /usr/sbin/policy-rc.d' EXIT
fi
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
