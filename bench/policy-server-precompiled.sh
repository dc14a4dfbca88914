#!/usr/bin/env bash
# `palisade policy-server` start-up on a fresh replica (empty store, empty module cache) from a registry: the 50
# policies compiled at start-up, then the same start-up loading the signed precompiled modules that
# `palisade precompile` pushed as referrers (--precompiled-key), with the ratio of the two and how many policies
# each start loaded from a referrer (the server's log).
#
# The policies are the Rego policy of ../shared/policies/no-default-namespace-rego.wasm annotated 50 times with a
# different version (each its own digest and compilation), pushed to `palisade serve` on a loopback port and signed
# with one key (verified at start-up with --key); each precompiled with another key.
# Run from the repository root: bench/policy-server-precompiled.sh [POLICIES] [RUNS]
# (PALISADE=path to use another binary, unbuilt.)
set -euo pipefail

count=${1:-50}
runs=${2:-3}
source=../shared/policies/no-default-namespace-rego.wasm
. bench/lib.sh
[ -f "$source" ] || { echo "$source is missing (the shared policies)" >&2; exit 2; }
start_registry policy-server-precompiled
registry=$server
replica=
trap 'for pid in $replica $registry; do kill "$pid" 2>/dev/null; done; wait 2>/dev/null || true' EXIT
export COSIGN_PASSWORD=bench
mkdir -p "$work/policies"
"$palisade" key generate --output-prefix "$work/policy" >/dev/null
"$palisade" key generate --output-prefix "$work/compiler" >/dev/null
server_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

: > "$work/policies.yml"
for i in $(seq "$count"); do
  rego_metadata "1.0.$i" > "$work/metadata.yml"
  reference=registry://127.0.0.1:$port/bench/p$i:v1
  "$palisade" annotate "$source" -m "$work/metadata.yml" -o "$work/policies/p$i.wasm" >/dev/null
  "$palisade" push "$work/policies/p$i.wasm" "$reference" >/dev/null
  "$palisade" sign "$reference" --key "$work/policy.key" >/dev/null
  printf 'p%s:\n  module: %s\n' "$i" "$reference" >> "$work/policies.yml"
done
echo "$count policies pushed and signed; precompiling them"
started=$(date +%s%N)
for i in $(seq "$count"); do
  "$palisade" precompile "registry://127.0.0.1:$port/bench/p$i:v1" --key "$work/compiler.key" \
    --verification-key "$work/policy.pub" >/dev/null
done
echo "precompile, $count policies: $(( ($(date +%s%N) - started) / 1000000 )) ms"

# Starts a replica with an empty store and module cache (extra flags: $@) and sets $elapsed to the milliseconds
# until /readiness answers, and $loaded to how many policies it loaded from a precompiled referrer.
start() {
  local fresh started
  fresh=$(mktemp -d "$PWD/$work/replica.XXXX")
  started=$(date +%s%N)
  PALISADE_LOG=info "$palisade" policy-server --policies "$work/policies.yml" --key "$work/policy.pub" \
    --store "$fresh/store" --cache-dir "$fresh/cache" --addr "127.0.0.1:$server_port" "$@" \
    >"$work/server.log" 2>&1 &
  replica=$!
  until curl -sf "http://127.0.0.1:$server_port/readiness" >/dev/null; do
    kill -0 "$replica" 2>/dev/null || { echo "the server stopped: see $work/server.log" >&2; exit 1; }
    sleep 0.005
  done
  elapsed=$(( ($(date +%s%N) - started) / 1000000 ))
  loaded=$(grep -c 'loading the verified precompiled module' "$work/server.log" || true)
  curl -sf -X POST -H 'Content-Type: application/json' --data @testdata/requests/pod-create.json \
    "http://127.0.0.1:$server_port/validate/p1" | grep -q '"allowed":false' \
    || { echo "p1 did not reject the pod in the default namespace" >&2; exit 1; }
  kill "$replica" && wait "$replica" 2>/dev/null || true
  replica=
  rm -rf "$fresh"
}

compiled=()
precompiled=()
for run in $(seq "$runs"); do
  start
  compiled+=("$elapsed")
  echo "run $run: compiling everything: $elapsed ms ($loaded from referrers)"
  start --precompiled-key "$work/compiler.pub"
  precompiled+=("$elapsed")
  echo "run $run: signed precompiled referrers: $elapsed ms ($loaded of $count from referrers)"
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
a=$(median "${compiled[@]}")
b=$(median "${precompiled[@]}")
echo "start-up of $count policies on a fresh replica, median of $runs: compiling $a ms, precompiled $b ms" \
  "($(python3 -c "print(f'{$b / $a:.0%}')") of compiling)"
