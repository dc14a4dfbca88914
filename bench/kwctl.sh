#!/usr/bin/env bash
# Palisade side by side with kwctl, whole processes, in one run (hyperfine medians):
#   - `run` of a Rego (OPA), a Gatekeeper and a waPC policy, compiled-module caches warm for both tools;
#   - `annotate` of a small module, and of a 64 MiB waPC module against `cp` of the same file;
#   - `bench` of the Rego policy: Palisade's fresh-instance and reused-instance figures, kwctl's (reused).
#
# kwctl is not on the package registries: build it from Kubewarden's sources (tag v1.35.0,
# `cargo build --release --locked -p kwctl`) and pass it as KWCTL=/path/to/kwctl. Without it the kwctl
# columns are skipped and said so; Palisade's figures and the `cp` baseline are still measured.
#
# Needs hyperfine, python3 and ../shared/policies. Run from the repository root: bench/kwctl.sh
set -euo pipefail
cd "$(dirname "$0")/.."
work=bench/work/kwctl
policies=../shared/policies
command -v hyperfine >/dev/null || { echo "hyperfine is missing: apt-get install -y hyperfine" >&2; exit 2; }
[ -d "$policies" ] || { echo "$policies is missing (the shared third-party policies)" >&2; exit 2; }
rm -rf "$work" && mkdir -p "$work"
cargo build --release -q -p palisade-cli
palisade=$PWD/target/release/palisade
# Each tool keeps its caches and stores in the work folder, so the run starts from nothing.
export XDG_CACHE_HOME=$PWD/$work/cache XDG_CONFIG_HOME=$PWD/$work/config XDG_DATA_HOME=$PWD/$work/data
export PALISADE_STORE=$PWD/$work/store

kwctl=${KWCTL:-}
if [ -z "$kwctl" ]; then
  echo "KWCTL is not set: the kwctl columns are skipped (set KWCTL=/path/to/kwctl to compare)" >&2
elif [ ! -x "$kwctl" ]; then
  echo "KWCTL=$kwctl is not an executable" >&2
  exit 2
fi

# The modules: the Rego and Gatekeeper policies as shipped, the accept-all waPC fixture, each annotated.
command -v wat2wasm >/dev/null || { echo "wat2wasm is missing: apt-get install -y wabt" >&2; exit 2; }
wat2wasm testdata/policies/wapc-accept.wat -o "$work/wapc.wasm"
cat > "$work/opa.yml" <<'YAML'
rules:
  - apiGroups: [""]
    apiVersions: ["v1"]
    resources: ["*"]
    operations: ["CREATE"]
mutating: false
executionMode: opa
YAML
sed 's/executionMode: opa/executionMode: gatekeeper/' "$work/opa.yml" > "$work/gatekeeper.yml"
sed 's/executionMode: opa/executionMode: kubewarden-wapc/' "$work/opa.yml" > "$work/wapc.yml"
"$palisade" annotate "$policies/no-default-namespace-rego.wasm" -m "$work/opa.yml" -o "$work/rego.wasm" >/dev/null
"$palisade" annotate "$policies/gatekeeper_always_happy_policy.wasm" -m "$work/gatekeeper.yml" \
  -o "$work/gatekeeper.wasm" >/dev/null
"$palisade" annotate "$work/wapc.wasm" -m "$work/wapc.yml" -o "$work/wapc-annotated.wasm" >/dev/null
request=testdata/requests/pod-create.json
# Without a local Sigstore trust configuration kwctl fetches the trusted root over the network on every run
# (about 2 s where the network is closed): give it the file, as an air-gapped user would.
trust=(--sigstore-trust-config testdata/signing/sigstore-public-good-client-trust-config.json)

commands=()
for policy in rego gatekeeper wapc-annotated; do
  module=$PWD/$work/$policy.wasm
  # One run of each first, so that both tools' compiled-module caches are warm.
  "$palisade" run "$module" -r "$request" --insecure-skip-verification >/dev/null 2>&1
  commands+=(-n "palisade run $policy" "$palisade run $module -r $request --insecure-skip-verification")
  if [ -n "$kwctl" ]; then
    "$kwctl" run "file://$module" -r "$request" "${trust[@]}" >/dev/null 2>&1
    commands+=(-n "kwctl run $policy" "$kwctl run file://$module -r $request ${trust[*]}")
  fi
done
hyperfine -N --warmup 3 --runs "${RUNS:-20}" --export-json "$work/run.json" "${commands[@]}" >/dev/null

# annotate: a small module, and a 64 MiB waPC guest (make_module.py) against copying it.
python3 bench/make_module.py "${SIZE_MIB:-64}" "$work/big.wasm"
commands=(-n "palisade annotate small" "$palisade annotate $work/wapc.wasm -m $work/wapc.yml -o $work/out-small.wasm"
  -n "cp big" "cp $work/big.wasm $work/copy.wasm"
  -n "palisade annotate big" "$palisade annotate $work/big.wasm -m $work/wapc.yml -o $work/out-big.wasm")
if [ -n "$kwctl" ]; then
  commands+=(-n "kwctl annotate small" "$kwctl annotate $work/wapc.wasm -m $work/wapc.yml -o $work/out-small-kwctl.wasm"
    -n "kwctl annotate big" "$kwctl annotate $work/big.wasm -m $work/wapc.yml -o $work/out-big-kwctl.wasm")
fi
hyperfine -N --warmup 2 --runs "${RUNS:-20}" --export-json "$work/annotate.json" "${commands[@]}" >/dev/null

# bench: the Rego policy's per-evaluation cost, fresh instances and one reused instance.
"$palisade" bench "$PWD/$work/rego.wasm" -r "$request" --insecure-skip-verification --output json \
  >"$work/bench-fresh.json"
"$palisade" bench "$PWD/$work/rego.wasm" -r "$request" --insecure-skip-verification --reuse-instance \
  --output json >"$work/bench-reused.json"
if [ -n "$kwctl" ]; then
  "$kwctl" bench "file://$PWD/$work/rego.wasm" -r "$request" "${trust[@]}" >"$work/bench-kwctl.txt" 2>&1 \
    || { echo "kwctl bench failed:" >&2; cat "$work/bench-kwctl.txt" >&2; }
fi

python3 - "$work" <<'PY'
import json, re, sys
from pathlib import Path
work = Path(sys.argv[1])
def medians(name):
    return {r["command"]: r["median"] for r in json.loads((work / name).read_text())["results"]}
run, annotate = medians("run.json"), medians("annotate.json")
print("\nwhole process, medians (ms); ratio palisade/kwctl, target <= 0.5x")
for policy in ("rego", "gatekeeper", "wapc-annotated"):
    ours = run[f"palisade run {policy}"]
    theirs = run.get(f"kwctl run {policy}")
    ratio = f"{ours / theirs:5.2f}x" if theirs else "  (no kwctl)"
    print(f"  run {policy:<15} palisade {ours*1000:7.1f}  kwctl {theirs*1000 if theirs else float('nan'):7.1f}  {ratio}")
ours, theirs = annotate["palisade annotate small"], annotate.get("kwctl annotate small")
ratio = f"{ours / theirs:5.2f}x" if theirs else "  (no kwctl)"
print(f"  annotate small      palisade {ours*1000:7.1f}  kwctl {theirs*1000 if theirs else float('nan'):7.1f}  {ratio}")
big, cp = annotate["palisade annotate big"], annotate["cp big"]
print(f"  annotate 64 MiB     palisade {big*1000:7.1f}  cp {cp*1000:7.1f}  {big / cp:5.2f}x cp (target <= 2x)")
if "kwctl annotate big" in annotate:
    theirs = annotate["kwctl annotate big"]
    print(f"  annotate 64 MiB     palisade {big*1000:7.1f}  kwctl {theirs*1000:7.1f}  {big / theirs:5.2f}x")
fresh = json.loads((work / "bench-fresh.json").read_text())["latencyMicros"]["p50"]
reused = json.loads((work / "bench-reused.json").read_text())["latencyMicros"]["p50"]
print(f"\nRego evaluation, p50: palisade fresh instance {fresh:.1f} us, reused instance {reused:.1f} us")
kwctl = work / "bench-kwctl.txt"
if kwctl.exists():
    # tiny-bench prints, for validate_settings then validate, `(sample data: med = 44.78µs, …)` in colour.
    units = {"ns": 1e-3, "µs": 1.0, "us": 1.0, "ms": 1e3, "s": 1e6}
    text = re.sub(r"\x1b\[[0-9;]*m", "", kwctl.read_text())
    medians = re.findall(r"med = ([\d.]+)\s*(ns|µs|us|ms|s)\b", text)
    if len(medians) >= 2:
        value, unit = medians[-1]
        theirs = float(value) * units[unit]
        print(f"kwctl bench (reused instance) median {theirs:.1f} us: palisade fresh / kwctl = {fresh / theirs:.2f}x (target <= 1x)")
    else:
        print("kwctl bench's output was not understood; it is in", kwctl)
PY
