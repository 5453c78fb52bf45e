#!/usr/bin/env bash
# Build a local stand-in for the Dockerfile's base image (python:3.11.N-slim-<suite>, read from the
# Dockerfile's runtime stage), which cannot be pulled here, and tag it with the official name so
# the real Dockerfile builds with --pull=never. `ci/base-image.sh --name` prints that name only.
#
# Built the way the official image is built (docker-library/python, 3.11/slim-<suite>):
#   1. debian:<suite>-slim: a minbase root made by debootstrap from this machine's Debian mirror,
#      with the official image's runtime packages (ca-certificates, netbase, tzdata);
#   2. on it, ci/base-image.Containerfile: CPython compiled from source into /usr/local with the
#      official configure options (shared libpython, loadable SQLite extensions, ensurepip), the
#      build tools purged and only the shared libraries it links kept, setuptools and wheel, and
#      the python/pip symlinks.
# Where it differs, because only Debian's archive and PyPI are reachable here:
#   - the CPython source is the newest 3.11 release Debian's archive carries, 3.11.2 (Debian 12's
#     python3.11 upstream tarball, pinned below by SHA-256), not the patch release the official
#     tag names; Debian trixie itself ships only Python 3.13, which the project does not support;
#   - no profile-guided optimisation or LTO (twenty minutes more for speed no check measures);
#   - no test modules and no debug information, which the official image deletes and strips
#     after building them;
#   - no tkinter (nothing imports it).
#
# Trusting the machine's CA bundle: the image sets PIP_CERT to Debian's bundle path and the build
# bind-mounts the machine's bundle over that path (CA_BUNDLE; image-test.sh does the same), so pip
# trusts a TLS-inspecting proxy during the build while no layer holds a host-specific file.
#
# Cached: the root file system as a tarball under .cache/image-test/, the CPython source there
# too, and both images in buildah's storage, each keyed by a hash of what it is built from.
set -euo pipefail

readonly RUNTIME_PACKAGES=ca-certificates,netbase,tzdata
readonly PYTHON_SOURCE_VERSION=3.11.2
readonly PYTHON_SOURCE_PATH=pool/main/p/python3.11/python3.11_3.11.2.orig.tar.gz
readonly PYTHON_SOURCE_SHA256=2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849
readonly RECIPE_LABEL=io.cryptopredict.stand-in.recipe
readonly CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}

cd "$(dirname "$0")/.."
say() { printf 'base: %s\n' "$*"; }
die() { printf 'base: FAILED: %s\n' "$*" >&2; exit 1; }

# The name without the digest the Dockerfile pins it by: a stand-in has other content, so it
# can only carry the name (ci/image-test.sh builds a copy of the Dockerfile without the digest).
base=$(sed -n 's/^FROM \(python:[^ @]*\)\(@sha256:[0-9a-f]\{64\}\)\{0,1\} AS runtime$/\1/p' Dockerfile)
[[ "$base" =~ ^python:([0-9]+\.[0-9]+)(\.[0-9]+)?-slim-([a-z]+)$ ]] \
    || die "the Dockerfile's runtime stage is not FROM python:X.Y[.Z]-slim-<suite> ('$base')"
python_minor=${BASH_REMATCH[1]}
suite=${BASH_REMATCH[3]}
readonly IMAGE=docker.io/library/$base
if [[ "${1:-}" == --name ]]; then
    echo "$IMAGE"
    exit 0
fi
[[ "$python_minor" == "${PYTHON_SOURCE_VERSION%.*}" ]] \
    || die "the Dockerfile wants Python $python_minor; this stand-in pins a $PYTHON_SOURCE_VERSION source"

# $(label IMAGE): the stand-in recipe label of a local image, empty if it has none, "absent" if
# there is no such image.
label() {
    buildah inspect --type image --format "{{index .OCIv1.Config.Labels \"$RECIPE_LABEL\"}}" \
        "$1" 2>/dev/null || echo absent
}

recipe=$( { cat ci/base-image.sh ci/base-image.Containerfile; echo "$IMAGE"; } \
    | sha256sum | cut -c1-16)
present=$(label "$IMAGE")
if [[ "$present" == "$recipe" ]]; then
    say "reusing the stand-in $IMAGE (recipe $recipe)"
    exit 0
elif [[ -z "$present" ]]; then
    say "$IMAGE is present and is not a stand-in; using it as it is"
    exit 0
fi

cache_dir=.cache/image-test
mkdir -p "$cache_dir"
mirror=""
debian_mirror() {
    [[ -n "$mirror" ]] || mirror=${DEBIAN_MIRROR:-$(python3 ci/apt_mirror.py "$suite")}
    echo "$mirror"
}

# slim ROOTFS: configure apt and dpkg as the official debian:<suite>-slim images are (apt keeps no
# downloaded packages, fetches no translations, and autoremove ignores Suggests, which is what
# lets a build purge its compiler; dpkg installs no documentation, manuals or translations
# beyond copyright files), and remove what debootstrap already installed of those.
slim() {
    local root=$1
    cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
    echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
    echo 'Acquire::GzipIndexes "true";' >"$root/etc/apt/apt.conf.d/docker-gzip-indexes"
    echo 'Apt::AutoRemove::SuggestsImportant "false";' \
        >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"
    printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
        'path-exclude /usr/share/groff/*' 'path-exclude /usr/share/info/*' \
        'path-exclude /usr/share/linda/*' 'path-exclude /usr/share/lintian/overrides/*' \
        'path-exclude /usr/share/locale/*' 'path-exclude /usr/share/man/*' \
        >"$root/etc/dpkg/dpkg.cfg.d/docker"
    find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
    rm -rf "$root"/usr/share/{groff,info,linda,lintian/overrides,locale,man}/*
}

# 1. debian:<suite>-slim, keyed by the suite, the packages in it and how it is slimmed.
debian_image=localhost/cryptopredict-stand-in/debian:$suite-slim
debian_recipe=$( { echo "debootstrap minbase $suite $RUNTIME_PACKAGES"; declare -f slim; } \
    | sha256sum | cut -c1-16)
if [[ "$(label "$debian_image")" != "$debian_recipe" ]]; then
    tarball="$cache_dir/$suite-rootfs-$debian_recipe.tar"
    if [[ ! -f "$tarball" ]]; then
        say "debootstrap $suite from $(debian_mirror) (a minute or two, once)"
        rm -f "$cache_dir/$suite"-rootfs-*.tar
        rootfs=$(mktemp -d "$cache_dir/rootfs.XXXXXX")
        trap 'rm -rf --one-file-system "$rootfs"' EXIT
        debootstrap --variant=minbase --include="$RUNTIME_PACKAGES" "$suite" "$rootfs" \
            "$(debian_mirror)" >"$cache_dir/debootstrap.log" || {
            tail -n 20 "$cache_dir/debootstrap.log" >&2
            die "debootstrap failed; full log in $cache_dir/debootstrap.log"
        }
        # As in the official image: the public mirror, no package cache, no apt lists.
        printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: %s %s-updates\n%s\n' \
            "$suite" "$suite" "Components: main" >"$rootfs/etc/apt/sources.list.d/debian.sources"
        rm -f "$rootfs/etc/apt/sources.list"
        slim "$rootfs"
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
        --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --label "$RECIPE_LABEL=$debian_recipe" \
        --cmd bash \
        "$container"
    buildah commit --quiet --format docker --rm "$container" "$debian_image" >/dev/null
    trap - EXIT
    say "built $debian_image"
fi

# 2. CPython from source on it, tagged with the official name.
source_dir="$cache_dir/python-source"
source_file="Python-$PYTHON_SOURCE_VERSION.tgz"
if ! echo "$PYTHON_SOURCE_SHA256  $source_dir/$source_file" | sha256sum --check --status 2>/dev/null; then
    say "fetching the CPython $PYTHON_SOURCE_VERSION source from $(debian_mirror)"
    mkdir -p "$source_dir"
    curl --fail --silent --show-error --location --output "$source_dir/$source_file.part" \
        "$(debian_mirror)/$PYTHON_SOURCE_PATH"
    echo "$PYTHON_SOURCE_SHA256  $source_dir/$source_file.part" | sha256sum --check --quiet \
        || die "the CPython source does not have the pinned SHA-256"
    mv "$source_dir/$source_file.part" "$source_dir/$source_file"
fi
say "compiling CPython $PYTHON_SOURCE_VERSION on $suite for $IMAGE (several minutes, once)"
started=$SECONDS
if ! buildah build --isolation chroot --pull=never --format docker --layers \
    --volume "$CA_BUNDLE:/etc/ssl/certs/ca-certificates.crt:ro" \
    --build-arg "DEBIAN_IMAGE=$debian_image" \
    --build-arg "PYTHON_SOURCE=$source_file" \
    --label "$RECIPE_LABEL=$recipe" \
    --label "io.cryptopredict.stand-in.python=$PYTHON_SOURCE_VERSION" \
    --label "org.opencontainers.image.description=Local stand-in for $IMAGE (ci/base-image.sh)" \
    --file ci/base-image.Containerfile --tag "$IMAGE" "$source_dir" >"$cache_dir/python-build.log" 2>&1
then
    tail -n 30 "$cache_dir/python-build.log" >&2
    die "building CPython failed; full log in $cache_dir/python-build.log"
fi
container=$(buildah from --pull=never "$IMAGE")
version=$(buildah run --isolation chroot "$container" -- python --version 2>&1 || true)
buildah rm "$container" >/dev/null
say "built the stand-in $IMAGE in $((SECONDS - started)) s: Debian $suite, $version (recipe $recipe)"
