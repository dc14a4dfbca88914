#!/usr/bin/env bash
# `palisade policy-server`: start-up time for 50 policies, cold (empty module cache) and warm, and
# throughput and latency of `/validate` at 64 connections (wrk); then the isolation between policies: the
# throughput of that policy alone, and while 16 clients hit a policy that loops until its 2 s deadline
# (testdata/policies/wapc-validate-loop.wat), on the same server, with the ratio of the two; then hot reload: the
# 50 policies with one changed (a new version of p50, so a new digest), how many policies each reload loaded
# (the server's log), and the p99 latency of `/validate` on an unchanged policy before and during repeated reloads
# (both while a driver polls /policies, which the reloads need to follow the generation).
#
# The policies are the Rego policy of ../shared/policies/no-default-namespace-rego.wasm annotated 50 times
# with a different version, so that each has its own digest and its own compilation; they are local files run
# with --insecure-skip-verification, so that the figures are the host's and not the network's.
# PALISADE=path of a palisade binary to measure instead of building one.
# Run from the repository root: bench/policy-server.sh [POLICIES] [SECONDS]
set -euo pipefail
. bench/lib.sh

count=${1:-50}
seconds=${2:-10}
work=bench/work/policy-server
source=../shared/policies/no-default-namespace-rego.wasm
for tool in wrk curl python3 wat2wasm; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install -y $tool" >&2; exit 2; }
done
[ -f "$source" ] || { echo "$source is missing (the shared policies)" >&2; exit 2; }
rm -rf "$work" && mkdir -p "$work/policies"
palisade=${PALISADE:-$PWD/target/release/palisade}
[ -n "${PALISADE:-}" ] || cargo build --release -q -p palisade-cli
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

: > "$work/policies.yml"
for i in $(seq "$count"); do
  rego_metadata "1.0.$i" > "$work/metadata.yml"
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

# Hot reload: the 50 policies, then p50 replaced by another version (a new digest, compiled anew) once per
# reload, through the watched file; wrk's p99 on p1 (unchanged) alone, then while the reloads run.
reloads=${RELOADS:-20}
for r in $(seq "$reloads"); do
  rego_metadata "2.$r.0" > "$work/metadata-$r.yml"
  "$palisade" annotate "$source" -m "$work/metadata-$r.yml" -o "$work/policies/p$count-$r.wasm" >/dev/null
  sed "s|/p$count.wasm\$|/p$count-$r.wasm|" "$work/policies.yml" > "$work/reload-$r.yml"
done
# The live file in a folder of its own: the server watches the folder.
mkdir -p "$work/live"
cp "$work/policies.yml" "$work/live/policies.yml"
start "$work/live/policies.yml"
# Prints wrk's p99 latency of /validate/p1 over SECONDS, in milliseconds.
p99() {
  wrk -t2 -c64 -d"$1s" --latency -s "$work/post.lua" "http://127.0.0.1:$port/validate/p1" \
    | python3 -c '
import re, sys
units = {"us": 0.001, "ms": 1, "s": 1000}
for line in sys.stdin:
    found = re.match(r"\s+99%\s+([\d.]+)(us|ms|s)$", line)
    if found:
        print(float(found.group(1)) * units[found.group(2)])'
}
# The reload driver, one process (a shell starting curl 20 times a second would itself double the p99 measured):
# `poll` asks /policies for the live generation every 50 ms; `reload` does the same and, each time the generation
# has moved, swaps in the next file, going round the versions of p50 (after the first round, a version comes from
# the module cache instead of the compiler). The p99 before is measured with the driver polling, so that the
# only difference between the two measurements is the reloads.
cat > "$work/reloads.py" <<'PY'
import json, os, shutil, sys, time, urllib.request
mode, port, live, files = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
def generation():
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/policies") as answer:
        return json.load(answer)["generation"]
while True:
    for file in files:
        target = generation() + 1
        if mode == "reload":
            shutil.copy(file, live + ".next")
            os.replace(live + ".next", live)
        while generation() < target:
            time.sleep(0.05)
PY
# Prints wrk's p99 on /validate/p1 over SECONDS while the driver runs in MODE.
p99_while() {
  python3 "$work/reloads.py" "$2" "$port" "$work/live/policies.yml" "${reload_files[@]}" 2>/dev/null &
  local driver=$!
  p99 "$1"
  kill "$driver" 2>/dev/null; wait "$driver" 2>/dev/null || true
}
reload_files=()
for r in $(seq "$reloads"); do reload_files+=("$work/reload-$r.yml"); done
before=$(p99_while "$seconds" poll)
during=$(p99_while "$seconds" reload)
done_reloads=$(grep -c 'policies reloaded: generation' "$work/server.log" || true)
echo "reload, $count policies, one changed: loaded per reload: $(grep -o 'policies reloaded: generation [0-9]*: [0-9]* loaded' "$work/server.log" \
  | awk '{ print $5 }' | sort | uniq -c | awk '{ printf "%s reloads loaded %s; ", $1, $2 }')"
grep -o 'policies reloaded: generation [0-9]*: .*' "$work/server.log" | sed -E 's/ generation=.*//' | head -2
echo "reload: p99 of /validate on an unchanged policy: $before ms before, $during ms during $done_reloads reloads" \
  "($(python3 -c "print(f'{$during / $before:.2f}x')") of before)"
stop
