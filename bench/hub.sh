#!/usr/bin/env bash
# The hub with COUNT policies (default 10000, each with its own module) in the bundled registry on a local folder:
# - the first hub request after a restart, with the catalog the storage keeps (nothing is read again), against the
#   same request after removing the catalog (every repository's tags, manifests and referrers are read again, with
#   the saved descriptions of its modules: how the hub started before it kept a catalog) and, unless COLD=0, after
#   removing the descriptions too (every module is read again);
# - the bytes of one page of the list (the default 50) against the whole list (fetched in pages of 500);
# - the time of a search that finds one policy and of one that finds them all (hyperfine).
# Medians of RUNS restarts (default 5). Needs hyperfine, curl, python3 (apt-get install -y hyperfine curl python3).
# With SHARED=1 the registry runs on shared storage instead: Garage (`cargo install garage --version 2.5.0 --locked`)
# and PostgreSQL (Debian's packages), both started here on 127.0.0.1.
# Usage: COUNT=10000 RUNS=5 [SHARED=1] bench/hub.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

COUNT=${COUNT:-10000}
RUNS=${RUNS:-5}
start_registry hub
url=http://127.0.0.1:$port
forget_catalog() { rm -f "$work/registry/catalog.sqlite3"*; }
forget_descriptions() { rm -rf "$work/registry/derived"; }

if [ "${SHARED:-}" = 1 ]; then
  # Garage with one bucket and key (deploy/garage-setup.sh), PostgreSQL with one database; then the registry
  # restarted on them.
  free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
  s3=$(free_port) rpc=$(free_port) pg=$(free_port)
  mkdir -p "$work/garage" "$work/pg"
  cat > "$work/garage/garage.toml" <<TOML
metadata_dir = "$PWD/$work/garage/meta"
data_dir = "$PWD/$work/garage/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$rpc"
rpc_public_addr = "127.0.0.1:$rpc"
rpc_secret = "$(openssl rand -hex 32)"
[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$s3"
root_domain = ".s3.garage.localhost"
TOML
  export GARAGE_CONFIG_FILE=$PWD/$work/garage/garage.toml
  garage server >"$work/garage/log" 2>&1 &
  garage_pid=$!
  key_id=GK$(openssl rand -hex 12) secret=$(openssl rand -hex 32)
  GARAGE_BUCKET=bench GARAGE_KEY_ID=$key_id GARAGE_SECRET_KEY=$secret sh deploy/garage-setup.sh >&2
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
  [ "$(id -u)" = 0 ] && chown -R postgres "$work/pg"
  as_pg "$bin/initdb" -A trust -U postgres --no-sync -D "$PWD/$work/pg/data" >/dev/null
  as_pg "$bin/pg_ctl" -D "$PWD/$work/pg/data" -l "$PWD/$work/pg/log" -w \
    -o "-p $pg -k $PWD/$work/pg -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
  as_pg "$bin/createdb" -h 127.0.0.1 -p "$pg" -U postgres registry
  trap 'kill $server 2>/dev/null; kill $garage_pid 2>/dev/null; as_pg "$bin/pg_ctl" -D "$PWD/$work/pg/data" -m immediate stop >/dev/null 2>&1; wait 2>/dev/null || true' EXIT
  export AWS_ENDPOINT_URL=http://127.0.0.1:$s3 AWS_REGION=garage AWS_ACCESS_KEY_ID=$key_id \
    AWS_SECRET_ACCESS_KEY=$secret AWS_ALLOW_HTTP=true
  database=postgres://postgres@127.0.0.1:$pg/registry
  printf 'storage: s3://bench/registry\ndatabase: %s\n' "$database" >> "$work/registry.yml"
  sql() { psql -q -h 127.0.0.1 -p "$pg" -U postgres registry -c "$1"; }
  forget_catalog() { sql 'DELETE FROM hub_catalog'; }
  forget_descriptions() { sql 'DELETE FROM derived'; }
  kill "$server" && wait "$server" 2>/dev/null || true
  "$palisade" serve --config "$work/registry.yml" >>"$work/registry.log" 2>&1 &
  server=$!
  until curl -sf -o /dev/null "$url/v2/"; do sleep 0.05; done
fi

echo "pushing $COUNT policies..." >&2
python3 bench/make_module.py 0.01 "$work/module.wasm"
"$palisade" annotate "$work/module.wasm" -m testdata/metadata/wapc.yml -o "$work/policy.wasm" >/dev/null
python3 bench/hub_push.py "127.0.0.1:$port" "$work/policy.wasm" "$COUNT"

restart() {
  kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  "$palisade" serve --config "$work/registry.yml" >>"$work/registry.log" 2>&1 &
  server=$!
  until curl -sf -o /dev/null "$url/v2/"; do sleep 0.05; done
}
# The time of the first hub request (call right after `restart`, not in a subshell: it moves $server).
first_request() { curl -sf -o /dev/null -w '%{time_total}\n' "$url/hub/api/policies?per_page=1"; }
median() { python3 -c 'import statistics, sys; print(f"{statistics.median(float(x) for x in sys.argv[1:]):.3f}")' "$@"; }

curl -sf -o /dev/null "$url/hub/api/policies?per_page=1"  # the catalog and the descriptions are made once
kept=() rebuilt=() cold=()
for _ in $(seq "$RUNS"); do
  restart
  kept+=("$(first_request)")
done
for _ in $(seq "$RUNS"); do
  kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  forget_catalog
  restart
  rebuilt+=("$(first_request)")
done
# COLD=0 skips the restarts without saved descriptions (slow on shared storage: every module is read again).
if [ "${COLD:-1}" = 1 ]; then
  for _ in $(seq "$RUNS"); do
    kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
    forget_catalog
    forget_descriptions
    restart
    cold+=("$(first_request)")
  done
  cold_s=$(median "${cold[@]}")
fi
kept_s=$(median "${kept[@]}")
rebuilt_s=$(median "${rebuilt[@]}")

page_bytes=$(curl -sf -o /dev/null -w '%{size_download}' "$url/hub/api/policies")
all_bytes=0
pages=$(( (COUNT + 499) / 500 ))
for page in $(seq "$pages"); do
  all_bytes=$(( all_bytes + $(curl -sf -o /dev/null -w '%{size_download}' "$url/hub/api/policies?per_page=500&page=$page") ))
done

hyperfine --shell=none --warmup 3 --runs 30 --export-json "$work/search.json" \
  "curl -sf -o /dev/null $url/hub/api/policies?q=bench+p4242" \
  "curl -sf -o /dev/null $url/hub/api/policies?q=bench" >&2
search_ms() { python3 -c 'import json, sys; print("%.1f" % (json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]["median"] * 1000))' "$work/search.json" "$1"; }

cat <<REPORT
storage: $([ "${SHARED:-}" = 1 ] && echo "Garage + PostgreSQL" || echo "a local folder")
policies: $COUNT
first hub request after a restart, median of $RUNS: ${kept_s} s with the catalog kept, ${rebuilt_s} s reading every
  repository again (ratio $(python3 -c "print(f'{$rebuilt_s / $kept_s:.1f}')"))$(
  [ -n "${cold_s:-}" ] && echo ", ${cold_s} s reading every module too (ratio $(python3 -c "print(f'{$cold_s / $kept_s:.1f}')"))")
list: one page (50) is $page_bytes bytes; the whole list is $all_bytes bytes
search (median of 30): $(search_ms 0) ms finding one policy, $(search_ms 1) ms finding all $COUNT (first page)
REPORT
