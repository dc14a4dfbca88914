#!/usr/bin/env bash
# Benchmark: annotate and strip a 64 MiB module, against copying the file, measured in one run.
#
# Prints hyperfine's table and the ratios of the medians. Needs hyperfine (apt-get install hyperfine).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MIB=${SIZE_MIB:-64}
work=bench/work
mkdir -p "$work"
command -v hyperfine >/dev/null || { echo "hyperfine is missing: apt-get install -y hyperfine" >&2; exit 2; }

cargo build --release -q -p palisade-cli
palisade=target/release/palisade
python3 bench/make_module.py "$SIZE_MIB" "$work/module.wasm"
cp testdata/metadata/wapc.yml "$work/metadata.yml"
"$palisade" annotate "$work/module.wasm" -m "$work/metadata.yml" -o "$work/annotated.wasm" >/dev/null

hyperfine --warmup 3 --runs "${RUNS:-20}" --export-json "$work/annotate.json" \
  -n cp "cp $work/module.wasm $work/copy.wasm" \
  -n 'cp + fsync' "cp $work/module.wasm $work/copy.wasm && sync $work/copy.wasm" \
  -n annotate "$palisade annotate $work/module.wasm -m $work/metadata.yml -o $work/out.wasm" \
  -n strip "$palisade strip $work/annotated.wasm -o $work/out.wasm"

python3 - "$work/annotate.json" <<'PY'
import json, sys
results = {r["command"]: r["median"] for r in json.load(open(sys.argv[1]))["results"]}
print(f"\nmedians on a {sys.argv[1]} run:")
for name, median in results.items():
    print(f"  {name:<12} {median * 1000:8.1f} ms  {median / results['cp']:5.2f}x cp  {median / results['cp + fsync']:5.2f}x cp+fsync")
PY
