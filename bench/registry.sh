#!/usr/bin/env bash
# The bundled registry (`palisade serve`) and Debian's docker-registry (CNCF Distribution) side by side, on
# loopback, in one run: upload and download MB/s of a 256 MiB blob (monolithic and chunked), manifest GET
# requests/s at 64 connections (wrk), peak RSS during a 1 GiB upload, and this machine's single-core SHA-256 speed
# (the ceiling for a registry that verifies every byte it receives).
#
# Needs: docker-registry, wrk, curl, python3, openssl (apt-get install -y docker-registry wrk curl python3 openssl).
# Usage: bench/registry.sh            (builds target/release/palisade if missing; PALISADE=path to use another)
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in docker-registry wrk curl python3 openssl; do
    command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install -y docker-registry wrk curl python3 openssl" >&2; exit 2; }
done
PALISADE=${PALISADE:-target/release/palisade}
[ -x "$PALISADE" ] || cargo build --release -p palisade-cli

WORK=bench/work/registry
rm -rf "$WORK"
mkdir -p "$WORK/chunks"
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

echo "preparing a 256 MiB and a 1 GiB blob..." >&2
head -c $((256 * 1024 * 1024)) /dev/urandom > "$WORK/blob256"
head -c $((1024 * 1024 * 1024)) /dev/urandom > "$WORK/blob1g"
split -b $((8 * 1024 * 1024)) -d -a 3 "$WORK/blob256" "$WORK/chunks/part"
D256="sha256:$(sha256sum "$WORK/blob256" | cut -d' ' -f1)"
D1G="sha256:$(sha256sum "$WORK/blob1g" | cut -d' ' -f1)"

# The fastest single-core SHA-256 here: OpenSSL's (SHA extensions where the CPU has them).
SHA_MBS=$(openssl speed -seconds 3 -bytes 1048576 -evp sha256 2>/dev/null | awk '/^sha256/ { printf "%.0f", $2 / 1000 }')

# mb_per_s BYTES SECONDS
mb_per_s() { python3 -c "print(f'{$1 / $2 / 1e6:.0f}')"; }
now() { date +%s.%N; }
elapsed() { python3 -c "print($(now) - $1)"; }

# send METHOD URL FILE [CURL ARGS...]: streams FILE as the body, with its length (curl -T on a URL ending in `/`
# would append the file name to it).
send() {
    local method=$1 url=$2 file=$3
    shift 3
    curl -sf -o /dev/null -D "$WORK/headers" -X "$method" -H "Content-Type: ${CONTENT_TYPE:-application/octet-stream}" \
        -H "Content-Length: $(stat -c %s "$file")" "$@" -T - "$url" <"$file"
}

# monolithic ADDR REPO FILE DIGEST: uploads FILE in one request (POST for a session, then one PUT with the whole
# body: the form every registry supports, Distribution ignoring a body sent with `POST ?digest=`).
monolithic() {
    curl -sf -o /dev/null -D "$WORK/headers" -X POST "http://$1/v2/$2/blobs/uploads/"
    local url
    url=$(location "$1" "$WORK/headers")
    case "$url" in *\?*) url="$url&digest=$4" ;; *) url="$url?digest=$4" ;; esac
    send PUT "$url" "$3"
}

wait_up() {
    until curl -sf -o /dev/null "http://$1/v2/"; do sleep 0.1; done
}

# location ADDR HEADERS: the upload URL from a response's Location header (absolute or relative).
location() {
    local loc
    loc=$(grep -i '^location:' "$2" | tr -d '\r' | cut -d' ' -f2)
    case "$loc" in http*) echo "$loc" ;; *) echo "http://$1$loc" ;; esac
}

start_palisade() {
    "$PALISADE" serve --root "$WORK/palisade-root-$1" --addr "$2" --anonymous pull,push,delete \
        >"$WORK/palisade-$1.log" 2>&1 &
    LAST_PID=$!
    PIDS+=("$LAST_PID")
}

start_distribution() {
    cat >"$WORK/distribution-$1.yml" <<EOF
version: 0.1
log: { level: error }
storage:
  filesystem: { rootdirectory: $PWD/$WORK/distribution-root-$1 }
  delete: { enabled: true }
http: { addr: $2 }
EOF
    docker-registry serve "$WORK/distribution-$1.yml" >"$WORK/distribution-$1.log" 2>&1 &
    LAST_PID=$!
    PIDS+=("$LAST_PID")
}

# measure NAME START_FUNCTION PORT_BASE: prints one result line.
measure() {
    local name=$1 start=$2 port=$3 addr pid t

    # Peak RSS of a fresh server during a 1 GiB monolithic upload.
    addr="127.0.0.1:$port"
    "$start" rss "$addr"
    pid=$LAST_PID
    wait_up "$addr"
    monolithic "$addr" bench/rss "$WORK/blob1g" "$D1G"
    local rss_mib
    rss_mib=$(awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$pid/status")
    kill "$pid"

    addr="127.0.0.1:$((port + 1))"
    "$start" main "$addr"
    wait_up "$addr"

    # Monolithic upload: the whole body in one request.
    t=$(now)
    monolithic "$addr" bench/mono "$WORK/blob256" "$D256"
    local mono
    mono=$(mb_per_s $((256 * 1024 * 1024)) "$(elapsed "$t")")

    # Chunked upload: POST, 32 PATCHes of 8 MiB, PUT.
    t=$(now)
    curl -sf -o /dev/null -D "$WORK/headers" -X POST "http://$addr/v2/bench/chunked/blobs/uploads/"
    local url offset=0 size
    url=$(location "$addr" "$WORK/headers")
    for part in "$WORK"/chunks/part*; do
        size=$(stat -c %s "$part")
        send PATCH "$url" "$part" -H "Content-Range: $offset-$((offset + size - 1))"
        url=$(location "$addr" "$WORK/headers")
        offset=$((offset + size))
    done
    case "$url" in *\?*) url="$url&digest=$D256" ;; *) url="$url?digest=$D256" ;; esac
    curl -sf -o /dev/null -X PUT -H 'Content-Length: 0' "$url"
    local chunked
    chunked=$(mb_per_s $((256 * 1024 * 1024)) "$(elapsed "$t")")

    # Download.
    local download
    download=$(curl -sf -o /dev/null -w '%{speed_download}' "http://$addr/v2/bench/mono/blobs/$D256")
    download=$(python3 -c "print(f'{$download / 1e6:.0f}')")

    # Chunked download: 32 range requests of 8 MiB.
    t=$(now)
    local from
    for ((from = 0; from < 256 * 1024 * 1024; from += 8 * 1024 * 1024)); do
        curl -sf -o /dev/null -r "$from-$((from + 8 * 1024 * 1024 - 1))" "http://$addr/v2/bench/mono/blobs/$D256"
    done
    local ranged
    ranged=$(mb_per_s $((256 * 1024 * 1024)) "$(elapsed "$t")")

    # Manifest GET at 64 connections.
    printf '{}' >"$WORK/config"
    local config="sha256:$(sha256sum "$WORK/config" | cut -d' ' -f1)"
    monolithic "$addr" bench/mono "$WORK/config" "$config"
    cat >"$WORK/manifest" <<EOF
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"$config","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"$D256","size":$((256 * 1024 * 1024))}]}
EOF
    CONTENT_TYPE=application/vnd.oci.image.manifest.v1+json send PUT \
        "http://$addr/v2/bench/mono/manifests/latest" "$WORK/manifest"
    local rps
    rps=$(wrk -t2 -c64 -d10s -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
        "http://$addr/v2/bench/mono/manifests/latest" | awk '/Requests\/sec/ { printf "%.0f", $2 }')

    printf '%-20s %9s %9s %9s %9s %9s %9s\n' "$name" "$mono" "$chunked" "$download" "$ranged" "$rps" "$rss_mib"
}

# What the storage takes: writing the 256 MiB blob to a file next to the registries' and syncing it.
t=$(now)
dd if="$WORK/blob256" of="$WORK/write-test" bs=1M conv=fsync status=none
WRITE_MBS=$(mb_per_s $((256 * 1024 * 1024)) "$(elapsed "$t")")
rm -f "$WORK/write-test"

echo "single-core SHA-256: $SHA_MBS MB/s (80% of it: $((SHA_MBS * 8 / 10)) MB/s)"
echo "file write + fsync of 256 MiB (dd): $WRITE_MBS MB/s"
echo "MB/s for uploads and downloads (whole, and in 8 MiB chunks); manifest GETs per second; peak RSS in MiB"
printf '%-20s %9s %9s %9s %9s %9s %9s\n' registry up up-8MiB down down-8MiB manifest RSS
measure "palisade serve" start_palisade 39100
measure "docker-registry 2.8" start_distribution 39200
