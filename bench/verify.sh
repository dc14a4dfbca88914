#!/usr/bin/env bash
# Benchmark: `palisade verify` of one key-signed policy against Palisade's registry on loopback, end to end,
# as a ratio to `palisade digest` of the same reference (the same process start and registry round trip,
# without the signatures), in one run. Verification alone, network excluded, is a criterion benchmark:
# `cargo bench -p palisade-signing --bench verify`.
#
# Needs hyperfine and curl (apt-get install hyperfine curl).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
start_registry verify

export COSIGN_PASSWORD=bench
"$palisade" annotate "$(python3 bench/make_module.py 1 "$work/module.wasm" && echo "$work/module.wasm")" \
  -m testdata/metadata/wapc.yml -o "$work/policy.wasm" >/dev/null
ref="registry://127.0.0.1:$port/bench/policy:v1"
"$palisade" push "$work/policy.wasm" "$ref" >/dev/null
"$palisade" key generate --output-prefix "$work/cosign" >/dev/null
"$palisade" sign "$ref" --key "$work/cosign.key" >/dev/null

hyperfine --warmup 3 --runs "${RUNS:-20}" --export-json "$work/verify.json" \
  -n "palisade digest" "$palisade digest $ref" \
  -n "palisade verify" "$palisade verify $ref --key $work/cosign.pub"

python3 - "$work/verify.json" <<'PY'
import json, sys
r = {x["command"]: x["median"] for x in json.load(open(sys.argv[1]))["results"]}
print(f"\nverify {r['palisade verify']*1000:.1f} ms vs digest {r['palisade digest']*1000:.1f} ms (medians): "
      f"{r['palisade verify']/r['palisade digest']:.2f}x")
PY
