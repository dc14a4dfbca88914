#!/usr/bin/env bash
# A policy group against its members called one by one: `/validate` throughput at 64 connections (wrk) on a group
# `a() && b() && c()` of three policies that accept (so that every member is evaluated), and on the same three
# policies as separate ids, each client calling a, b and c in turn. Decisions per second: the group's requests per
# second, and a third of the separate calls' (three calls make one decision).
#
# The members are ../shared/policies/gatekeeper_always_happy_policy.wasm annotated three times with a different
# version (three digests, three compilations); local files run with --insecure-skip-verification.
# PALISADE=path of a palisade binary to measure instead of building one.
# Run from the repository root: bench/policy-group.sh [SECONDS]
set -euo pipefail

seconds=${1:-10}
work=bench/work/policy-group
source=../shared/policies/gatekeeper_always_happy_policy.wasm
for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install -y $tool" >&2; exit 2; }
done
[ -f "$source" ] || { echo "$source is missing (the shared policies)" >&2; exit 2; }
rm -rf "$work" && mkdir -p "$work"
palisade=${PALISADE:-$PWD/target/release/palisade}
[ -n "${PALISADE:-}" ] || cargo build --release -q -p palisade-cli
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

printf 'group:\n  expression: a() && b() && c()\n  message: rejected by the group\n  policies:\n' > "$work/policies.yml"
separate=
for member in a b c; do
  printf 'rules:\n  - apiGroups: [""]\n    apiVersions: ["v1"]\n    resources: ["pods"]\n    operations: ["CREATE"]\nmutating: false\nexecutionMode: gatekeeper\nannotations:\n  io.kubewarden.policy.version: 1.0.0-%s\n' \
    "$member" > "$work/metadata.yml"
  "$palisade" annotate "$source" -m "$work/metadata.yml" -o "$work/$member.wasm" >/dev/null
  printf '    %s:\n      module: file://%s\n' "$member" "$PWD/$work/$member.wasm" >> "$work/policies.yml"
  separate+=$(printf '%s:\n  module: file://%s\n' "$member" "$PWD/$work/$member.wasm")$'\n'
done
printf '%s' "$separate" >> "$work/policies.yml"

"$palisade" policy-server --policies "$work/policies.yml" --insecure-skip-verification --workers 2 \
  --addr "127.0.0.1:$port" --disable-cache >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
until curl -sf "http://127.0.0.1:$port/readiness" >/dev/null; do
  kill -0 "$server" 2>/dev/null || { echo "the server stopped: see $work/server.log" >&2; exit 1; }
  sleep 0.01
done

# The request, and a wrk script per mode: the group alone, or a, b and c in turn on each connection.
python3 - "$work" <<'PY'
import json, sys
body = json.dumps(json.load(open("testdata/requests/pod-create.json")))
head = 'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = ' + json.dumps(body) + "\n"
with open(sys.argv[1] + "/group.lua", "w") as out:
    out.write(head)
with open(sys.argv[1] + "/separate.lua", "w") as out:
    out.write(head + 'local paths = {"/validate/a", "/validate/b", "/validate/c"}\nlocal next = 0\n'
              'request = function()\n  next = next % 3 + 1\n'
              '  return wrk.format(nil, paths[next])\nend\n')
PY
for id in group a b c; do
  curl -sf -X POST -H 'Content-Type: application/json' --data @testdata/requests/pod-create.json \
    "http://127.0.0.1:$port/validate/$id" | grep -q '"allowed":true' \
    || { echo "$id did not accept the request" >&2; exit 1; }
done

# Prints the requests per second of wrk with SCRIPT on PATH, failing on any answer but 200.
throughput() {
  local report
  report=$(wrk -t2 -c64 -d"${seconds}s" -s "$work/$1.lua" "http://127.0.0.1:$port$2")
  if grep -q 'Non-2xx' <<<"$report"; then
    echo "$1: answers other than 200:" >&2
    echo "$report" >&2
    exit 1
  fi
  awk '/Requests\/sec/ { print $2 }' <<<"$report"
}
group=$(throughput group /validate/group)
calls=$(throughput separate /validate/a)
python3 - "$group" "$calls" <<'PY'
import sys
group, calls = float(sys.argv[1]), float(sys.argv[2])
print(f"group of 3: {group:.0f} decisions/s; the 3 policies one by one: {calls:.0f} calls/s = {calls / 3:.0f} decisions/s;"
      f" group / one by one: {group / (calls / 3):.2f}x")
PY
