#!/usr/bin/env bash
# The client protocol of the Sigstore conformance suite (docs/cli_protocol.md of sigstore/sigstore-conformance)
# over `palisade verify FILE`, so the real suite can be run against a build:
#   PALISADE=target/debug/palisade pytest test --entrypoint scripts/sigstore-conformance-client.sh --skip-signing
# Only `verify-bundle` is spoken (Palisade does not sign with Fulcio); PALISADE names the binary (default:
# palisade on PATH). Exit codes are palisade's: 0 verified, 1 refused, 2 bad command line.
set -euo pipefail

if [ "${1:-}" != verify-bundle ]; then
  echo "$0: only verify-bundle is supported (run the suite with --skip-signing)" >&2
  exit 2
fi
shift
args=(verify)
while (($#)); do
  case "$1" in
    --staging)
      echo "$0: --staging: no staging root is built in; pass --trusted-root FILE" >&2
      exit 2
      ;;
    --bundle | --certificate-identity | --certificate-oidc-issuer | --key | --trusted-root)
      if (($# < 2)); then
        echo "$0: $1 needs a value" >&2
        exit 2
      fi
      args+=("$1" "$2")
      shift 2
      ;;
    -*)
      echo "$0: unknown option $1" >&2
      exit 2
      ;;
    *)
      args+=("$1")
      shift
      ;;
  esac
done
exec "${PALISADE:-palisade}" "${args[@]}"
