#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs the third-party tools the tests use (when missing),
# then checks formatting and lints, then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v skopeo >/dev/null || missing+=(skopeo)
command -v docker-registry >/dev/null || missing+=(docker-registry)
command -v chromium >/dev/null || missing+=(chromium)  # the hub's browser test
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)  # the shared registry's database
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || missing+=(nginx)  # the balancer in front of the replicas
if ((${#missing[@]})); then
  echo "installing ${missing[*]} (Debian packages)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
python3 -c 'import oras, cryptography, nacl, spdx_tools, cyclonedx.validation.json, jsonschema, ntia_conformance_checker, prometheus_client' 2>/dev/null \
  || python3 -m pip install -q --disable-pip-version-check oras cryptography pynacl spdx-tools \
    'cyclonedx-python-lib[json-validation]' ntia-conformance-checker prometheus-client
command -v pyenv >/dev/null && pyenv rehash  # new console scripts (pyspdxtools) get their shims
[ -d signing/tests/interop/node_modules/@sigstore/verify ] \
  || npm ci --prefix signing/tests/interop --no-audit --no-fund --loglevel=error

# The shared registry's object store in the tests: Garage, a real S3-compatible server (about 10 minutes to build on
# 2 cores; ~/.cargo/bin keeps it on a warm machine).
command -v garage >/dev/null || cargo install garage --version 2.5.0 --locked --quiet

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
