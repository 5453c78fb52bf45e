#!/usr/bin/env bash
# Run an image with Docker and check it the way a user would reach it: ci.yml runs it on the image
# it has just built, release.yml on the image it has pushed, by digest, once per platform (arm64
# under QEMU) before any tag points at it.
#
# Usage: ci/smoke-image.sh IMAGE MODEL_VERSION DATE [PLATFORM]
#   IMAGE          a local image or a pushed one (registry/owner/name@sha256:...)
#   MODEL_VERSION  what /healthz must report
#   DATE           a YYYY-MM-DD the model serves
#   PLATFORM       e.g. linux/arm64: run that variant, and check that it is what runs
# Checks: the platform; /healthz, /bitcoin, /docs and /openapi.json, and that every pair the image
# holds is listed by /assets and answers /forecast/PAIR (python -m ci.smoke_http); with GIT_SHA
# set (the release always sets it), that every served model records that commit; the server's
# uid is the image's non-root USER; Docker reports the HEALTHCHECK healthy.
# SMOKE_WAIT (default 300) bounds each wait, in seconds: emulated arm64 starts slowly.
set -euo pipefail

[[ $# -ge 3 && $# -le 4 ]] || { sed -n '6,10p' "$0" >&2; exit 2; }
image=$1
model_version=$2
date=$3
platform=${4:-}
readonly NAME=cryptopredict-smoke
readonly PORT=${SMOKE_PORT:-8080}
readonly WAIT=${SMOKE_WAIT:-300}

cd "$(dirname "$0")/.."
say() { printf 'smoke: %s\n' "$*"; }
fail() {
    printf 'smoke: FAILED: %s\n' "$*" >&2
    docker logs "$NAME" >&2 || true
    exit 1
}
trap 'docker rm --force "$NAME" >/dev/null 2>&1 || true' EXIT

run=(docker run --detach --name "$NAME" --publish "127.0.0.1:$PORT:8080")
[[ -z "$platform" ]] || run+=(--platform "$platform")
"${run[@]}" "$image" >/dev/null
say "started $image${platform:+ for $platform}"

if [[ -n "$platform" ]]; then
    # What the kernel (or QEMU, for an emulated platform) tells the server it runs on.
    machine=$(docker exec "$NAME" uname -m)
    case "$platform/$machine" in
        linux/amd64/x86_64 | linux/arm64/aarch64) say "runs as $machine ($platform)" ;;
        *) fail "the container's machine is $machine, not $platform" ;;
    esac
fi

assets=$(docker exec -i "$NAME" python - <ci/held_assets.py) || fail "the image holds no model"
say "the image holds $assets"
python -m ci.smoke_http --base-url "http://127.0.0.1:$PORT" --model-version "$model_version" \
    --date "$date" --wait "$WAIT" --assets "$assets" || fail "the running image does not answer as it should"

if [[ -n "${GIT_SHA:-}" ]]; then
    docker exec -i "$NAME" python - "$GIT_SHA" <ci/manifest_git_sha.py \
        || fail "a served model does not record the commit $GIT_SHA"
fi

user=$(docker inspect --format '{{.Config.User}}' "$NAME")
uid=$(docker exec "$NAME" id -u)
[[ "$uid" != 0 && "$uid" == "${user%%:*}" ]] || fail "the server runs as uid $uid, not the image's USER $user"
say "the server runs as uid $uid, not root"

status=unknown
for ((waited = 0; waited < WAIT; waited += 3)); do
    status=$(docker inspect --format '{{.State.Health.Status}}' "$NAME")
    [[ "$status" == healthy ]] && break
    sleep 3
done
[[ "$status" == healthy ]] || fail "Docker reports the HEALTHCHECK $status after ${WAIT}s"
say "Docker reports the HEALTHCHECK healthy"
