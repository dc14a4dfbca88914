#!/usr/bin/env bash
# Palisade's SBOM of a Rust policy source beside `cargo cyclonedx`'s, from the same Cargo.lock (a compat
# check, not a benchmark and not CI):
#   - every crate both list: the same purl, license and hashes;
#   - the crates Palisade marks required (compiled into the wasm32 build) equal to what
#     `cargo tree --target wasm32-wasip1 -e normal,no-proc-macro` lists.
# Prints a table of the differences and exits 1 when there is one (2 when a tool is missing).
#
# cargo-cyclonedx is on crates.io: `cargo install cargo-cyclonedx --locked`. It is taken from the PATH
# (as `cargo cyclonedx`) or from CARGO_CYCLONEDX=/path/to/cargo-cyclonedx; without it only the runtime
# set is compared, and the script says so. PALISADE=/path/to/palisade uses that binary instead of a
# debug build.
#
# Usage, from the repository root: bench/sbom-cargo-cyclonedx.sh [SOURCE_DIR]
# (default testdata/sbom/pod-privileged-policy; the folder needs Cargo.toml and Cargo.lock).
set -euo pipefail
cd "$(dirname "$0")/.."
source_dir=${1:-testdata/sbom/pod-privileged-policy}
work=bench/work/sbom-cargo-cyclonedx
for file in Cargo.toml Cargo.lock; do
  [ -f "$source_dir/$file" ] || { echo "$source_dir has no $file" >&2; exit 2; }
done
command -v python3 >/dev/null || { echo "python3 is missing" >&2; exit 2; }
command -v wat2wasm >/dev/null || { echo "wat2wasm is missing: apt-get install -y wabt" >&2; exit 2; }
rm -rf "$work" && mkdir -p "$work"
# cargo cyclonedx writes next to the manifest: work on a copy, so the source folder stays as it is.
cp -r "$source_dir" "$work/source"

palisade=${PALISADE:-}
if [ -z "$palisade" ]; then
  cargo build -q -p palisade-cli
  palisade=$PWD/target/debug/palisade
fi

cyclonedx=()
if [ -n "${CARGO_CYCLONEDX:-}" ]; then
  [ -x "$CARGO_CYCLONEDX" ] || { echo "CARGO_CYCLONEDX=$CARGO_CYCLONEDX is not an executable" >&2; exit 2; }
  cyclonedx=("$CARGO_CYCLONEDX" cyclonedx)
elif command -v cargo-cyclonedx >/dev/null; then
  cyclonedx=(cargo cyclonedx)
else
  echo "cargo-cyclonedx is not on the PATH and CARGO_CYCLONEDX is not set: only the runtime set is compared" \
    "(cargo install cargo-cyclonedx --locked)" >&2
fi

export SOURCE_DATE_EPOCH=1700000000
# Palisade describes a module with a source folder; the waPC fixture stands in for the policy's module.
wat2wasm testdata/policies/wapc-accept.wat -o "$work/policy.wasm"
"$palisade" sbom "$work/policy.wasm" --source "$work/source" --format cyclonedx-json \
  -o "$work/palisade.cdx.json" >/dev/null 2>"$work/palisade.log"
if [ ${#cyclonedx[@]} -gt 0 ]; then
  # Every target's crates, as Palisade lists the whole lockfile.
  "${cyclonedx[@]}" --manifest-path "$work/source/Cargo.toml" --format json --spec-version 1.5 \
    --target all --override-filename cargo-cyclonedx -q
  mv "$work/source/cargo-cyclonedx.json" "$work/cargo-cyclonedx.cdx.json"
fi
cargo tree --manifest-path "$work/source/Cargo.toml" --locked --target wasm32-wasip1 -e normal,no-proc-macro \
  --prefix none --format '{p}' >"$work/cargo-tree.txt"

python3 - "$work" <<'PYTHON'
import json, re, sys
from pathlib import Path

work = Path(sys.argv[1])

def components(path):
    """purl -> (license, sorted hashes, scope) of every component with a purl."""
    found = {}
    def visit(items):
        for item in items or []:
            if item.get("purl"):
                licenses = []
                for entry in item.get("licenses", []):
                    if "expression" in entry:
                        licenses.append(entry["expression"])
                    else:
                        license = entry.get("license", {})
                        licenses.append(license.get("id") or license.get("name") or "?")
                hashes = sorted(f'{h["alg"]}:{h["content"]}' for h in item.get("hashes", []))
                # Whitespace collapsed: cargo cyclonedx turns `Apache-2.0 / MIT` into `Apache-2.0  OR  MIT`.
                license = " ".join(" AND ".join(licenses).split()) or "(none)"
                found[item["purl"]] = (license, hashes, item.get("scope", "required"))
            visit(item.get("components"))
    visit(json.loads(path.read_text()).get("components"))
    return found

ours = components(work / "palisade.cdx.json")
rows = []  # (what, crate, palisade, cargo cyclonedx or cargo tree)
theirs_path = work / "cargo-cyclonedx.cdx.json"
if theirs_path.exists():
    # cargo cyclonedx lists path crates (the policy itself) too, with a file:// download URL: not dependencies.
    theirs = {p: v for p, v in components(theirs_path).items() if "download_url=file" not in p}
    for purl in sorted(set(ours) | set(theirs)):
        if purl not in theirs:
            rows.append(("purl", purl, "listed", "not listed"))
        elif purl not in ours:
            rows.append(("purl", purl, "not listed", "listed"))
        else:
            (our_license, our_hashes, _), (their_license, their_hashes, _) = ours[purl], theirs[purl]
            if our_license != their_license:
                rows.append(("license", purl, our_license, their_license))
            if our_hashes != their_hashes:
                rows.append(("hashes", purl, " ".join(our_hashes) or "(none)", " ".join(their_hashes) or "(none)"))
    print(f"cargo cyclonedx: {len(theirs)} crates, Palisade: {len(ours)}; "
          f"{sum(1 for p in ours if p in theirs and ours[p][0] == theirs[p][0])} with the same license, "
          f"{sum(1 for p in ours if p in theirs and ours[p][1] == theirs[p][1])} with the same hashes")

# cargo tree prints `name vVERSION` (and `(path)` for path crates, the policy itself): crates.io crates only.
tree = set()
for line in (work / "cargo-tree.txt").read_text().splitlines():
    match = re.fullmatch(r"(\S+) v(\S+)( \(\*\))?", line.strip())
    if match:
        tree.add(f"pkg:cargo/{match[1]}@{match[2]}")
required = {purl for purl, (_, _, scope) in ours.items() if scope == "required"}
for purl in sorted(required - tree):
    rows.append(("runtime", purl, "required", "not in cargo tree"))
for purl in sorted(tree - required):
    rows.append(("runtime", purl, "excluded" if purl in ours else "not listed", "in cargo tree"))
print(f"runtime (wasm32-wasip1): cargo tree {len(tree)} crates, Palisade required {len(required)}, "
      f"{len(tree & required)} in both")

if rows:
    widths = [max(len(row[i]) for row in rows + [("what", "crate", "palisade", "other")]) for i in range(4)]
    print(f"{len(rows)} differences:")
    for row in [("what", "crate", "palisade", "cargo cyclonedx / cargo tree")] + rows:
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    sys.exit(1)
print("no differences")
PYTHON
