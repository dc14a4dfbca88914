#!/bin/sh
# One-shot setup of docker-compose.yml's Garage node, run by the `garage-setup` service: gives the node its role in
# the cluster layout, creates the registry's bucket, imports its access key and lets that key read and write the
# bucket. Each step is skipped when already done, so `docker compose up` may run it again.
#
# Needs the `garage` program, the node's garage.toml (/etc/garage.toml, or GARAGE_CONFIG_FILE) and its metadata
# folder (where the CLI reads the node's ID), a network where the config's rpc_public_addr reaches the node, and
# GARAGE_BUCKET, GARAGE_KEY_ID (`GK` and 24 hex digits) and GARAGE_SECRET_KEY (64 hex digits).
set -eu

bucket="${GARAGE_BUCKET:?}"
key_id="${GARAGE_KEY_ID:?}"
secret="${GARAGE_SECRET_KEY:?}"

tries=0
until garage status >/dev/null 2>&1; do
    tries=$((tries + 1))
    [ "$tries" -lt 60 ] || { echo "garage-setup: the Garage node does not answer" >&2; exit 1; }
    sleep 1
done

if garage status | grep -q 'NO ROLE ASSIGNED'; then
    node=$(garage node id -q | cut -d@ -f1)
    garage layout assign -z dc1 -c 1G "$node"
    garage layout apply --version 1
fi
garage bucket info "$bucket" >/dev/null 2>&1 || garage bucket create "$bucket"
garage key info "$key_id" >/dev/null 2>&1 || garage key import --yes -n palisade-registry "$key_id" "$secret"
garage bucket allow --read --write --owner "$bucket" --key "$key_id"
echo "garage-setup: bucket $bucket ready for key $key_id"
