# Shared by the bench scripts: build palisade and start `palisade serve` on a free loopback port.
# After `start_registry WORK`: $palisade is the binary, $port the port, and the server stops on exit.

start_registry() {
  local work=$1
  cargo build --release -q -p palisade-cli
  palisade=$PWD/target/release/palisade
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
