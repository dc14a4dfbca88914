# Shared by the bench scripts (run from the repository root).
# `start_registry NAME`: a fresh bench/work/NAME folder ($work), hyperfine and curl checked, palisade built
# ($palisade; PALISADE=path to use another binary, unbuilt), `palisade serve` on a free loopback port ($port) with its store and credentials in $work, stopped
# on exit.

start_registry() {
  work=bench/work/$1
  rm -rf "$work" && mkdir -p "$work"
  for tool in hyperfine curl; do
    command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install -y $tool" >&2; exit 2; }
  done
  export PALISADE_STORE=$PWD/$work/store DOCKER_CONFIG=$PWD/$work/docker
  palisade=${PALISADE:-$PWD/target/release/palisade}
  [ -n "${PALISADE:-}" ] || cargo build --release -q -p palisade-cli
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  cat > "$work/registry.yml" <<YAML
root: $PWD/$work/registry
addr: 127.0.0.1:$port
auth:
  anonymous: [pull, push, delete]
YAML
  "$palisade" serve --config "$work/registry.yml" >"$work/registry.log" 2>&1 &
  server=$!
  trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && return; sleep 0.1; done
  echo "palisade serve did not start: see $work/registry.log" >&2
  exit 2
}

# `rego_metadata VERSION`: the metadata of the bench's Rego policy (pods, CREATE) at VERSION, on standard output.
rego_metadata() {
  cat <<YAML
rules:
  - apiGroups: [""]
    apiVersions: ["v1"]
    resources: ["pods"]
    operations: ["CREATE"]
mutating: false
executionMode: opa
annotations:
  io.kubewarden.policy.version: $1
YAML
}
