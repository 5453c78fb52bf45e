#!/usr/bin/env bash
# Point one tag of a pushed image at its tested digest, and read it back:
#   ci/move-image-tag.sh REGISTRY/OWNER/NAME sha256:... TAG
# The publish job runs it once a tag, X.Y.Z-YYYYmmddHHMMSS, then X.Y.Z, then latest: a publish cut
# short leaves latest on an older release, which the next run extends past (docs/release.md,
# "The first month"), never latest on an image its release tags do not name. `docker buildx
# imagetools create` copies an index as it is, under the same digest.
set -euo pipefail

if [ "$#" -ne 3 ]; then
    echo "usage: $0 IMAGE DIGEST TAG" >&2
    exit 2
fi
image=$1 digest=$2 tag=$3
if [ "$tag" = latest ]; then
    then="latest may already name $digest while production runs the previous image:"
    then+=" re-run the failed jobs (publish checks again, then the deploy follows)"
else
    then="latest has not moved: the next run extends this image and moves latest on"
    then+=" (or re-run the failed jobs)"
fi
if ! docker buildx imagetools create --tag="$image:$tag" "$image@$digest"; then
    echo "::error title=image tags::the registry refused to move $tag; $then"
    exit 1
fi
# GHCR serves a tag a while after it moves: read it back again after 10, 30 and 90 s.
for wait in ${RELEASE_RETRY_DELAYS:-10 30 90} end; do
    got=$(docker buildx imagetools inspect --format '{{json .Manifest}}' "$image:$tag" \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["digest"])') || got=none
    if [ "$got" = "$digest" ] || [ "$wait" = end ]; then break; fi
    sleep "$wait"
done
if [ "$got" != "$digest" ]; then
    echo "::error title=image tags::$image:$tag is $got, not the tested $digest; $then"
    exit 1
fi
echo "$image:$tag -> $digest"
