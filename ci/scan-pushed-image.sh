#!/usr/bin/env bash
# Search a pushed image for the secrets its build was given:
#   ci/scan-pushed-image.sh REGISTRY/OWNER/NAME@sha256:... VARIABLE...
# Each VARIABLE names an environment variable holding a secret. The whole index is copied as it
# is (every platform's layers and config, and BuildKit's provenance and SBOM attestations) with
# skopeo, and every blob searched by ci/layer_scan.py, decompressed, archives inside layers too.
# An unset secret is not searched for (the build had nothing to leak); one shorter than 8 bytes
# cannot be searched without false alarms and fails the scan. Exits 1 naming each secret found.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$#" -lt 2 ]; then
    echo "usage: $0 IMAGE@DIGEST VARIABLE..." >&2
    exit 2
fi
ref=$1
shift
command -v skopeo >/dev/null || { echo "the scan needs skopeo, which is not installed" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
umask 077
searched=()
for name in "$@"; do
    value=${!name-}
    if [ -z "$value" ]; then
        echo "$name is not set: the build had nothing of it to leak"
        continue
    fi
    if [ "${#value}" -lt 8 ]; then
        echo "::error title=secret scan::$name is shorter than 8 characters: it cannot be searched for without false alarms" >&2
        exit 1
    fi
    printf '%s' "$value" >"$work/$name"
    searched+=("$name")
done
if [ "${#searched[@]}" -eq 0 ]; then
    echo "no secret was set: nothing to search $ref for"
    exit 0
fi

skopeo copy --quiet --all "docker://$ref" "oci:$work/image"
leaked=()
for name in "${searched[@]}"; do
    python3 -m ci.layer_scan "$work/image" "$work/$name" "$name" || leaked+=("$name")
done
if [ "${#leaked[@]}" -gt 0 ]; then
    echo "::error title=secret scan::${leaked[*]} found in $ref: nothing is tagged" >&2
    exit 1
fi
echo "$ref holds none of ${searched[*]}"
