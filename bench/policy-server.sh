#!/usr/bin/env bash
# `palisade policy-server`: start-up time for 50 policies, cold (empty module cache) and warm, and
# throughput and latency of `/validate` at 64 connections (wrk).
#
# The policies are the Rego policy of ../shared/policies/no-default-namespace-rego.wasm annotated 50 times
# with a different version, so that each has its own digest and its own compilation; they are local files run
# with --insecure-skip-verification, so that the figures are the host's and not the network's.
# Run from the repository root: bench/policy-server.sh [POLICIES] [SECONDS]
set -euo pipefail

count=${1:-50}
seconds=${2:-10}
work=bench/work/policy-server
source=../shared/policies/no-default-namespace-rego.wasm
for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install -y $tool" >&2; exit 2; }
done
[ -f "$source" ] || { echo "$source is missing (the shared policies)" >&2; exit 2; }
rm -rf "$work" && mkdir -p "$work/policies"
cargo build --release -q -p palisade-cli
palisade=$PWD/target/release/palisade
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

: > "$work/policies.yml"
for i in $(seq "$count"); do
  cat > "$work/metadata.yml" <<YAML
rules:
  - apiGroups: [""]
    apiVersions: ["v1"]
    resources: ["pods"]
    operations: ["CREATE"]
mutating: false
executionMode: opa
annotations:
  io.kubewarden.policy.version: 1.0.$i
YAML
  "$palisade" annotate "$source" -m "$work/metadata.yml" -o "$work/policies/p$i.wasm" >/dev/null
  printf 'p%s:\n  module: file://%s\n' "$i" "$PWD/$work/policies/p$i.wasm" >> "$work/policies.yml"
done

server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null || true' EXIT

# Starts the server; sets $elapsed to the milliseconds until /readiness answers.
start() {
  local started
  started=$(date +%s%N)
  "$palisade" policy-server --policies "$work/policies.yml" --insecure-skip-verification \
    --addr "127.0.0.1:$port" --cache-dir "$work/cache" >"$work/server.log" 2>&1 &
  server=$!
  until curl -sf "http://127.0.0.1:$port/readiness" >/dev/null; do
    kill -0 "$server" 2>/dev/null || { echo "the server stopped: see $work/server.log" >&2; exit 1; }
    sleep 0.005
  done
  elapsed=$(( ($(date +%s%N) - started) / 1000000 ))
}

stop() {
  kill "$server" && wait "$server" 2>/dev/null || true
  server=
}

start
echo "start-up, $count policies, cold cache: $elapsed ms"
stop
start
echo "start-up, $count policies, warm cache: $elapsed ms"

python3 - "$work/post.lua" <<'PY'
import json, sys
body = json.dumps(json.load(open("testdata/requests/pod-create.json")))
with open(sys.argv[1], "w") as out:
    out.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n')
    out.write("wrk.body = " + json.dumps(body) + "\n")
PY
curl -sf -X POST -H 'Content-Type: application/json' --data @testdata/requests/pod-create.json \
  "http://127.0.0.1:$port/validate/p1" | grep -q '"allowed":false' \
  || { echo "p1 did not reject the pod in the default namespace" >&2; exit 1; }
wrk -t2 -c64 -d"${seconds}s" --latency -s "$work/post.lua" "http://127.0.0.1:$port/validate/p1"
stop
