#!/usr/bin/env bash
# Benchmark: push and pull a 5 MiB and a 64 MiB policy against Palisade's registry on loopback, as a
# ratio to the registry's raw blob speed (curl uploading and downloading the same bytes), in one run.
#
# Every upload goes to a fresh repository, so that no run finds the blob already there. Needs hyperfine
# and curl (apt-get install hyperfine curl). Prints hyperfine's tables and the ratios of the medians.
# PALISADE=/path/to/palisade times another build (an older one, say) against the same registry and baseline.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
start_registry distribute
palisade=${PALISADE:-$palisade}

results=()
for size in 5 64; do
  # The synthetic module is no real guest (annotate would refuse it), so it goes up without metadata.
  python3 bench/make_module.py "$size" "$work/policy-$size.wasm"
  digest="sha256:$(sha256sum "$work/policy-$size.wasm" | cut -d' ' -f1)"
  repo="bench/raw-$size"
  ref="127.0.0.1:$port/bench/policy-$size:v1"
  "$palisade" push --force "$work/policy-$size.wasm" "$ref" >/dev/null
  curl -sf -X POST --data-binary "@$work/policy-$size.wasm" -H 'Content-Type: application/octet-stream' \
    "http://127.0.0.1:$port/v2/$repo/blobs/uploads/?digest=$digest" >/dev/null
  hyperfine --shell=bash --warmup 2 --runs "${RUNS:-10}" --export-json "$work/bench-$size.json" \
    -n "raw upload" "curl -sf -X POST --data-binary @$work/policy-$size.wasm -H 'Content-Type: application/octet-stream' \"http://127.0.0.1:$port/v2/bench/raw-\$RANDOM\$RANDOM/blobs/uploads/?digest=$digest\" -o /dev/null" \
    -n "palisade push" "$palisade push --force $work/policy-$size.wasm 127.0.0.1:$port/bench/push-\$RANDOM\$RANDOM:v1" \
    -n "raw download" "curl -sf http://127.0.0.1:$port/v2/$repo/blobs/$digest -o $work/download.bin" \
    -n "palisade pull" "$palisade pull --refresh $ref -O $work/pulled.wasm"
  results+=("$size:$work/bench-$size.json")
done

python3 - "${results[@]}" <<'PY'
import json, sys
print()
for arg in sys.argv[1:]:
    size, path = arg.split(":", 1)
    r = {x["command"]: x["median"] for x in json.load(open(path))["results"]}
    print(f"{size} MiB policy (medians):")
    print(f"  push {r['palisade push']*1000:8.1f} ms vs raw upload   {r['raw upload']*1000:8.1f} ms: {r['palisade push']/r['raw upload']:5.2f}x")
    print(f"  pull {r['palisade pull']*1000:8.1f} ms vs raw download {r['raw download']*1000:8.1f} ms: {r['palisade pull']/r['raw download']:5.2f}x")
PY
