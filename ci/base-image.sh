#!/usr/bin/env bash
# Build a local stand-in for python:3.11-slim-bookworm, which cannot be pulled here: a Debian
# bookworm root made with debootstrap from this machine's own apt mirror, Debian's python3 in a
# virtualenv at /usr/local (so `python` and `pip` resolve as in the official image), tagged with
# the official name so the real Dockerfile builds with --pull=never.
#
# Trusting the machine's CA bundle: the image sets PIP_CERT to Debian's bundle path and the build
# bind-mounts the machine's bundle over that path (image-test.sh), so pip trusts the
# TLS-inspecting proxy during the build while no layer holds a host-specific file.
#
# Cached: the root file system as a tarball under .cache/image-test/ and the image in buildah's
# storage, both keyed by a hash of this script; either is rebuilt when missing or stale.
set -euo pipefail

readonly IMAGE=docker.io/library/python:3.11-slim-bookworm
readonly SUITE=bookworm
readonly PACKAGES=python3,python3-venv,ca-certificates,netbase,tzdata
readonly RECIPE_LABEL=io.cryptopredict.stand-in.recipe

cd "$(dirname "$0")/.."
cache_dir=.cache/image-test
recipe=$(sha256sum ci/base-image.sh | cut -c1-16)
tarball="$cache_dir/$SUITE-rootfs-$recipe.tar"

present=$(buildah inspect --type image --format "{{index .OCIv1.Config.Labels \"$RECIPE_LABEL\"}}" \
    "$IMAGE" 2>/dev/null || echo absent)
if [[ "$present" == "$recipe" ]]; then
    echo "base: reusing the stand-in $IMAGE (recipe $recipe)"
    exit 0
elif [[ -z "$present" ]]; then
    echo "base: $IMAGE is present and is not a stand-in; using it as it is"
    exit 0
fi

if [[ ! -f "$tarball" ]]; then
    mirror=${DEBIAN_MIRROR:-$(python3 ci/apt_mirror.py "$SUITE")}
    echo "base: debootstrap $SUITE from $mirror (a minute or two, once)"
    mkdir -p "$cache_dir"
    rm -f "$cache_dir/$SUITE"-rootfs-*.tar
    rootfs=$(mktemp -d "$cache_dir/rootfs.XXXXXX")
    trap 'rm -rf --one-file-system "$rootfs"' EXIT
    debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$rootfs" "$mirror" \
        >"$cache_dir/debootstrap.log" || {
        tail -n 20 "$cache_dir/debootstrap.log" >&2
        echo "base: debootstrap failed; full log in $cache_dir/debootstrap.log" >&2
        exit 1
    }
    # As in the official image: the public mirror, no package cache, no apt lists.
    echo "deb http://deb.debian.org/debian $SUITE main" >"$rootfs/etc/apt/sources.list"
    tar --numeric-owner -C "$rootfs" \
        --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
        --exclude='./var/cache/apt/*' --exclude='./var/lib/apt/lists/*' --exclude='./tmp/*' \
        -cf "$tarball.part" .
    mv "$tarball.part" "$tarball"
    rm -rf --one-file-system "$rootfs"
    trap - EXIT
fi

container=$(buildah from scratch)
trap 'buildah rm "$container" >/dev/null' EXIT
buildah add --quiet "$container" "$tarball" / >/dev/null
buildah config \
    --env PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env LANG=C.UTF-8 \
    --env PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    --label "$RECIPE_LABEL=$recipe" \
    --label "org.opencontainers.image.description=Local stand-in for $IMAGE (ci/base-image.sh)" \
    --cmd python3 \
    "$container"
buildah run --isolation chroot "$container" -- python3 -m venv /usr/local
buildah run --isolation chroot "$container" -- python -c 'import sys; assert sys.prefix == "/usr/local"'
buildah commit --quiet --format docker --rm "$container" "$IMAGE" >/dev/null
trap - EXIT
echo "base: built the stand-in $IMAGE (recipe $recipe)"
