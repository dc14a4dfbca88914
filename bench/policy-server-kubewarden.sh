#!/usr/bin/env bash
# `/validate` throughput and latency of `palisade policy-server` against Kubewarden's policy-server on the same
# annotated policies, one kind at a time (Rego, Gatekeeper, waPC): 64 connections (wrk), 2 workers each, the
# same AdmissionReview (a pod in the default namespace), then the ratio palisade / Kubewarden.
#
# KWPS=path of Kubewarden's policy-server binary (build crates/policy-server of kubewarden-controller v1.35.0:
# `cargo build --release --locked -p policy-server`); without it only palisade is measured, and the script
# says so. WAPC_POLICY=path of an annotated Kubewarden waPC policy (default: testdata's wapc-reject fixture,
# annotated). Policies are local files served without signature verification on both sides, so that the figures
# are the hosts' and not the network's. PALISADE=path of a palisade binary to measure instead of building one.
# Run from the repository root: bench/policy-server-kubewarden.sh [SECONDS]
set -euo pipefail

seconds=${1:-10}
work=bench/work/policy-server-kubewarden
shared=../shared/policies
for tool in wrk curl python3 wat2wasm; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install -y $tool" >&2; exit 2; }
done
[ -d "$shared" ] || { echo "$shared is missing (the shared policies)" >&2; exit 2; }
if [ -z "${KWPS:-}" ]; then
  echo "KWPS is not set: measuring palisade only (KWPS=path/to/kubewarden/policy-server to compare)"
elif [ ! -x "$KWPS" ]; then
  echo "KWPS=$KWPS is not an executable" >&2
  exit 2
fi
rm -rf "$work" && mkdir -p "$work"
palisade=${PALISADE:-$PWD/target/release/palisade}
[ -n "${PALISADE:-}" ] || cargo build --release -q -p palisade-cli
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# The policies, annotated with the execution mode each host needs to know.
annotate() { # SOURCE MODE OUTPUT
  printf 'rules:\n  - apiGroups: [""]\n    apiVersions: ["v1"]\n    resources: ["pods"]\n    operations: ["CREATE"]\nmutating: false\nexecutionMode: %s\n' \
    "$2" > "$work/metadata-$2.yml"
  "$palisade" annotate "$1" -m "$work/metadata-$2.yml" -o "$3" >/dev/null
}
annotate "$shared/no-default-namespace-rego.wasm" opa "$work/rego.wasm"
annotate "$shared/gatekeeper_always_unhappy_policy.wasm" gatekeeper "$work/gatekeeper.wasm"
if [ -n "${WAPC_POLICY:-}" ]; then
  cp "$WAPC_POLICY" "$work/wapc.wasm"
else
  wat2wasm testdata/policies/wapc-reject.wat -o "$work/wapc-reject.wasm"
  annotate "$work/wapc-reject.wasm" kubewarden-wapc "$work/wapc.wasm"
fi
for kind in rego gatekeeper wapc; do
  printf '%s:\n  module: file://%s\n' "$kind" "$PWD/$work/$kind.wasm" > "$work/$kind.yml"
done

python3 - "$work/post.lua" <<'PY'
import json, sys
body = json.dumps(json.load(open("testdata/requests/pod-create.json")))
with open(sys.argv[1], "w") as out:
    out.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n')
    out.write("wrk.body = " + json.dumps(body) + "\n")
PY

server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null || true' EXIT

# Waits until URL answers (the server $server still running); sets $elapsed to the milliseconds since $started.
wait_ready() {
  until curl -sf "$1" >/dev/null; do
    kill -0 "$server" 2>/dev/null || { echo "the server stopped: see $work/server.log" >&2; exit 1; }
    sleep 0.005
  done
  elapsed=$(( ($(date +%s%N) - started) / 1000000 ))
}

start_palisade() { # KIND
  port=$(free_port)
  started=$(date +%s%N)
  "$palisade" policy-server --policies "$work/$1.yml" --insecure-skip-verification --workers 2 \
    --addr "127.0.0.1:$port" --disable-cache >"$work/server.log" 2>&1 &
  server=$!
  wait_ready "http://127.0.0.1:$port/readiness"
}

start_kubewarden() { # KIND
  port=$(free_port)
  local readiness
  readiness=$(free_port)
  mkdir -p "$work/kwps-$1"
  started=$(date +%s%N)
  "$KWPS" --policies "$work/$1.yml" --workers 2 --addr 127.0.0.1 --port "$port" \
    --readiness-probe-port "$readiness" --policies-download-dir "$work/kwps-$1" \
    --sigstore-cache-dir "$work/kwps-$1/sigstore" --ignore-kubernetes-connection-failure \
    --log-level warn >"$work/server.log" 2>&1 &
  server=$!
  wait_ready "http://127.0.0.1:$readiness/readiness"
}

stop() {
  kill "$server" && wait "$server" 2>/dev/null || true
  server=
}

# Prints "REQUESTS_PER_SECOND P99" of wrk on KIND at $port, checking first that the policy answers.
measure() {
  local report
  curl -sf -X POST -H 'Content-Type: application/json' --data @testdata/requests/pod-create.json \
    "http://127.0.0.1:$port/validate/$1" | grep -q '"allowed"' \
    || { echo "$1 did not answer an AdmissionReview" >&2; exit 1; }
  report=$(wrk -t2 -c64 -d"${seconds}s" --latency -s "$work/post.lua" "http://127.0.0.1:$port/validate/$1")
  if grep -q 'Non-2xx' <<<"$report"; then
    echo "$1 got answers other than 200:" >&2
    echo "$report" >&2
    exit 1
  fi
  awk '/Requests\/sec/ { rps = $2 } $1 == "99%" { p99 = $2 } END { print rps, p99 }' <<<"$report"
}

printf '%-11s %12s %10s %14s %12s %10s %14s %8s\n' kind palisade/s p99 start-up kubewarden/s p99 start-up ratio
for kind in rego gatekeeper wapc; do
  start_palisade "$kind"
  ours_start=$elapsed
  read -r ours ours_p99 < <(measure "$kind")
  stop
  if [ -n "${KWPS:-}" ]; then
    start_kubewarden "$kind"
    theirs_start=$elapsed
    read -r theirs theirs_p99 < <(measure "$kind")
    stop
    ratio=$(python3 -c "print(f'{$ours / $theirs:.2f}x')")
  else
    theirs=- theirs_p99=- theirs_start=- ratio=-
  fi
  printf '%-11s %12s %10s %11s ms %12s %10s %11s ms %8s\n' "$kind" "$ours" "$ours_p99" "$ours_start" \
    "$theirs" "$theirs_p99" "$theirs_start" "$ratio"
done
