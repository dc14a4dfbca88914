#!/usr/bin/env bash
# `palisade policy-server`: start-up time for 50 policies, cold (empty module cache) and warm, and
# throughput and latency of `/validate` at 64 connections (wrk); then the isolation between policies: the
# throughput of that policy alone, and while 16 clients hit a policy that loops until its 2 s deadline
# (testdata/policies/wapc-validate-loop.wat), on the same server, with the ratio of the two.
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
for tool in wrk curl python3 wat2wasm; do
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

# Starts the server on POLICIES (default: the 50); sets $elapsed to the milliseconds until /readiness answers.
start() {
  local started
  started=$(date +%s%N)
  "$palisade" policy-server --policies "${1:-$work/policies.yml}" --insecure-skip-verification \
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

# Isolation: the same policy beside one that loops until its deadline, with the server's default limits.
wat2wasm testdata/policies/wapc-validate-loop.wat -o "$work/loop.wasm"
printf 'healthy:\n  module: file://%s\nloop:\n  module: file://%s\n' \
  "$PWD/$work/policies/p1.wasm" "$PWD/$work/loop.wasm" > "$work/isolation.yml"
start "$work/isolation.yml"
# Prints the requests per second wrk reports for CONNECTIONS clients on POLICY for SECONDS, and fails when
# one of its answers was not a 200.
throughput() {
  local report
  report=$(wrk -t2 -c"$2" -d"$3s" --timeout 10s -s "$work/post.lua" "http://127.0.0.1:$port/validate/$1")
  if grep -q 'Non-2xx' <<<"$report"; then
    echo "$1 got answers other than 200:" >&2
    echo "$report" >&2
    exit 1
  fi
  awk '/Requests\/sec/ { print $2 }' <<<"$report"
}
alone=$(throughput healthy 64 "$seconds")
# The looping policy's clients run a little longer than the measurement, so that it is loaded throughout.
wrk -t1 -c16 -d"$((seconds + 4))s" --timeout 10s -s "$work/post.lua" "http://127.0.0.1:$port/validate/loop" \
  > "$work/loop.txt" &
looping=$!
sleep 2
beside=$(throughput healthy 64 "$seconds")
wait "$looping"
echo "isolation: healthy policy alone $alone req/s; while 16 clients hit a looping policy $beside req/s" \
  "($(python3 -c "print(f'{$beside / $alone:.0%}')") of alone)"
echo "the looping policy's clients: $(awk '/Requests\/sec/ { print $2 }' "$work/loop.txt") answers/s"
curl -s "http://127.0.0.1:$port/metrics" \
  | grep -E '^palisade_policy_(circuit_breaker_state|refusals_total|evaluations_total)\{policy="loop"' \
  | grep -v ' 0$'
stop
