#!/usr/bin/env bash
# Runs clang-tidy (.clang-tidy) over the given sources, or all of src/, with the dev build's
# compile commands. The precompiled-header flags are dropped first: clang cannot read g++'s
# .gch files, and every source includes what it uses anyway. Exits 1 on any finding.
#
#   scripts/lint.sh [FILE...]        (after `make build`)
#
# Without arguments it checks the modules Debian 12's clang-tidy 14 can parse: core, access,
# journal and store. runtime and everything that includes it (devices, api, app) use
# std::source_location, which libstdc++ 12 only provides to compilers with
# __builtin_source_location (g++, clang >= 15), so clang 14 stops on it.
set -euo pipefail
cd "$(dirname "$0")/.."
db=$(mktemp -d)
trap 'rm -rf "$db"' EXIT
python3 - build/dev/compile_commands.json "$db/compile_commands.json" <<'PY'
import json, re, sys
commands = json.load(open(sys.argv[1]))
for c in commands:
    c["command"] = re.sub(r"-Winvalid-pch|-include \S+cmake_pch\.hxx", "", c["command"])
json.dump(commands, open(sys.argv[2], "w"))
PY
if (($# == 0)); then
  set -- $(git ls-files 'src/core/*.cpp' 'src/access/*.cpp' 'src/journal/*.cpp' 'src/store/*.cpp')
fi
findings=$(clang-tidy -p "$db" --quiet --extra-arg=-Wno-unknown-warning-option \
  --extra-arg=-Wno-error "$@" 2>/dev/null | grep -E '^/.*/src/.*(warning|error):' || true)
if [[ -n "$findings" ]]; then
  echo "$findings"
  exit 1
fi
echo "lint: clang-tidy found nothing in $# files"
