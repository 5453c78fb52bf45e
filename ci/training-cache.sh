#!/usr/bin/env bash
# Take the training cache (the fit cache and the history store) out of the release build's
# BuildKit cache mount, the Dockerfile's `cryptopredict-cache` at /cache in the training step, into
# a directory: release.yml runs it after the build whatever its outcome, so a release whose
# training failed or whose budget ended keeps what it fitted. (buildkit-cache-dance, which puts
# the cache in, takes it out only in a post step that runs after a successful job.)
#
# Usage: ci/training-cache.sh BUILDER UTILITY_IMAGE DIR
#   BUILDER        the buildx builder the image was built with (its cache mount is the one read)
#   UTILITY_IMAGE  a small image with a shell and cp, pinned by digest (busybox)
#   DIR            where the cache goes (replaced)
set -euo pipefail

[[ $# -eq 3 ]] || { sed -n '8,11p' "$0" >&2; exit 2; }
builder=$1
utility=$2
into=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The mount as the Dockerfile's training step declares it (tests/delivery/test_workflows.py
# checks they agree); --no-cache: a cached copy step would hand back an old cache.
cat >"$work/Dockerfile" <<DOCKERFILE
FROM $utility AS copy
RUN --mount=type=cache,id=cryptopredict-cache,target=/cache,sharing=locked \\
    mkdir -p /out && cp -a /cache/. /out/
FROM scratch
COPY --from=copy /out/ /
DOCKERFILE
rm -rf "$into"
docker buildx build --builder "$builder" --no-cache --output "type=local,dest=$into" "$work"
echo "training cache taken out of the build: $(du -sh "$into" | cut -f1) in $into"
