#!/usr/bin/env bash
# `make image-test`: build the real Dockerfile with buildah (no Docker engine) twice in a row, as
# two releases are built, against a real registry of its own (Debian's docker-registry, which
# answers only a client logged in, as GHCR a private package): the first release (no image in
# the registry: its record starts, saying so) is pushed and attested; the second finds it there
# by digest and verifies it (`python -m tools.release previous-image`, as the release's version
# job does, with a stand-in `gh attestation verify` that resolves the image through the registry
# with the Docker config's login, tests/release/attestations.py) and extends its track record
# through the Dockerfile's `previous` stage. Then check
# the second image: no secret in any layer, no training-only package, every model recording the
# commit it was built from, the digest it extended in its label, a non-root server that answers
# /healthz, /bitcoin and /docs, serves a record of both issues with the first one's due leads
# scored, and imports neither pandas nor Prophet at any point; and its size against
# MAX_IMAGE_MB. Needs root. Usage: ci/image-test.sh [CONTEXT_DIR]
#
# Training here is quick (snapshot data, no backtest; IMAGE_TEST_TRAIN_ARGS overrides it; the
# first release's data ends two days before the second's); the release workflow trains the full
# model on live data with strict freshness.
set -euo pipefail

readonly IMAGE=localhost/cryptopredict:image-test
readonly TRAIN_IMAGE=localhost/cryptopredict:image-test-train
readonly CONTROL_IMAGE=localhost/cryptopredict:image-test-leak-control
readonly CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
readonly TRAIN_ARGS=${IMAGE_TEST_TRAIN_ARGS:---no-backtest --since 2026-01-01}
# The embedded hourly data ends 2026-07-26T16:00Z: the first release's two days before.
readonly FIRST_UNTIL=2026-07-24T16:00:00Z
# The served image, uncompressed: issue 83 allows the proxy 10 MB over the 245 MB before it.
readonly MAX_IMAGE_MB=255

cd "$(dirname "$0")/.."
context=$(realpath "${1:-.}")
python=${PYTHON:-python3}
started=$SECONDS

say() { printf 'image-test: %s\n' "$*"; }
die() { printf 'image-test: FAILED: %s\n' "$*" >&2; exit 1; }

[[ $EUID -eq 0 ]] || die "needs root (buildah and debootstrap); run it as root, as CI does"
missing=()
for tool in buildah:buildah debootstrap:debootstrap ss:iproute2 docker-registry:docker-registry; do
    command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
if ((${#missing[@]})); then
    say "installing ${missing[*]} with apt"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
[[ -f "$CA_BUNDLE" ]] || die "no CA bundle at $CA_BUNDLE; set CA_BUNDLE to the machine's bundle"

work=$(mktemp -d /tmp/image-test.XXXXXX)
containers=()
server_pids=()
cleanup() {
    for pid in "${server_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for container in "${containers[@]}"; do buildah rm "$container" >/dev/null 2>&1 || true; done
    buildah rmi "$TRAIN_IMAGE" "$CONTROL_IMAGE" "$IMAGE-first" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# 1. The base image: a stand-in for the Dockerfile's python:3.11.N-slim-<suite> (cached).
ci/base-image.sh
base_image=$(ci/base-image.sh --name)

# 2. A registry of our own, on loopback, as the releases' registry, answering only a client
#    logged in (htpasswd: the test registry's user and password): the first image is pushed to
#    it, and the second build finds it there, verifies it and reads it by digest.
free_port() {
    "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
registry_port=$(free_port)
registry_url=http://127.0.0.1:$registry_port
"$python" -m tests.release.oci_registry >"$work/htpasswd"
cat >"$work/registry.yml" <<REGISTRY
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: 127.0.0.1:$registry_port
auth:
  htpasswd:
    realm: image-test
    path: $work/htpasswd
REGISTRY
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
server_pids+=("$!")
registry_up=
for _ in $(seq 100); do
    # Up when it asks for a login.
    if "$python" - "$registry_url/v2/" <<'UP' 2>/dev/null; then registry_up=1; break; fi
import sys, urllib.error, urllib.request
try:
    urllib.request.urlopen(sys.argv[1], timeout=1)
except urllib.error.HTTPError as refused:
    sys.exit(refused.code != 401)
sys.exit(1)
UP
    sleep 0.1
done
[[ -n "$registry_up" ]] || { cat "$work/registry.log" >&2; die "the registry did not start"; }
repository=127.0.0.1:$registry_port/cryptopredict
# The login, as `docker login` writes it: buildah pushes and pulls with it (--authfile), the
# stand-in gh resolves the image with it (DOCKER_CONFIG); the release tooling reads the registry
# with the same user and password, as the version job with its actor and token.
mkdir "$work/docker" "$work/bin" "$work/attestations"
read -r registry_user registry_password < <("$python" -c \
    'from tests.release.oci_registry import USER, PASSWORD; print(USER, PASSWORD)')
"$python" - "$work/docker/config.json" "127.0.0.1:$registry_port" "$registry_user:$registry_password" <<'LOGIN'
import base64, json, sys
auth = base64.b64encode(sys.argv[3].encode()).decode()
with open(sys.argv[1], "w") as config:
    json.dump({"auths": {sys.argv[2]: {"auth": auth}}}, config)
LOGIN
chmod 600 "$work/docker/config.json"
printf '#!/bin/sh\nexec "%s" -m tests.release.attestations "$@"\n' "$python" >"$work/bin/gh"
chmod +x "$work/bin/gh"
# What the release's version job does: the previous release image in the registry, verified by
# its attestation (the stand-in gh's, which the first release's is stored for below), as
# `previous=` and `record-start=` lines.
previous_image() {
    PATH="$work/bin:$PATH" FAKE_ATTESTATIONS="$work/attestations" FAKE_REGISTRY_URL="$registry_url" \
        GITHUB_ACTOR="$registry_user" GITHUB_TOKEN="$registry_password" \
        RELEASE_REGISTRY_URL="$registry_url" "$python" -m tools.release previous-image \
        --repository local/cryptopredict --image "$repository"
}
find_previous() {
    DOCKER_CONFIG="$work/docker" previous_image >"$work/previous" 2>"$work/previous.log" \
        || { cat "$work/previous.log" >&2; die "the previous release image was not found or verified"; }
    previous=$(sed -n 's/^previous=//p' "$work/previous")
    record_start=$(sed -n 's/^record-start=//p' "$work/previous")
}

# 3. Build both stages, passing a canary through the same secret ids the release uses.
"$python" -c 'import secrets; print("canary-" + secrets.token_hex(24), end="")' >"$work/canary"
chmod 600 "$work/canary"
stamp=$(date -u +%Y%m%d%H%M%S)
model_version="0.0.0-$stamp"
revision=$(git -C "$context" rev-parse HEAD 2>/dev/null || echo unknown)
created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
# The Dockerfile pins its base by the official image's digest, which the stand-in cannot have:
# build a copy whose FROM lines name the base by tag only, and check that nothing else differs.
sed -E 's/^(FROM .*python:[^ @]+)@sha256:[0-9a-f]{64} /\1 /' "$context/Dockerfile" >"$work/Dockerfile"
[[ "$(grep -c '^FROM .*@sha256:' "$context/Dockerfile")" == 2 ]] \
    || die "the Dockerfile's two stages no longer pin their base by digest"
[[ "$(diff "$context/Dockerfile" "$work/Dockerfile" | grep -c '^[<>]')" == 4 ]] \
    || die "dropping the base image's digest changed more than the two FROM lines"
# --pull=missing: the base is the local stand-in; the previous release is pulled from the
# registry, by digest, over plain HTTP on loopback.
build=(
    buildah build --isolation chroot --pull=missing --tls-verify=false --format docker --layers
    --authfile "$work/docker/config.json"
    --file "$work/Dockerfile"
    --volume "$CA_BUNDLE:/etc/ssl/certs/ca-certificates.crt:ro"
    --secret "id=ALPACA_API_KEY,src=$work/canary"
    --secret "id=ALPACA_SECRET_KEY,src=$work/canary"
    --build-arg TRAIN_SOURCE=snapshot
    --build-arg "MODEL_VERSION=$model_version"
    --build-arg "GIT_SHA=$revision"
    --build-arg "BUILD_ID=image-test-$stamp"
    --build-arg VERSION=0.0.0
    --build-arg "REVISION=$revision"
    --build-arg "CREATED=$created"
    --build-arg SOURCE=image-test
)
build_failed() {
    cp "$work/build.log" /tmp/image-test-build.log
    tail -n 30 "$work/build.log" >&2
    die "the build failed; full log in /tmp/image-test-build.log"
}
say "building $context (log: $work/build.log, kept on failure as /tmp/image-test-build.log)"
build_started=$SECONDS
# The first release: the registry holds no image, so the record starts, saying why.
find_previous
[[ -z "$previous" && "$record_start" == *"the first release of $repository"* ]] \
    || die "an empty registry did not make the first release: '$previous' '$record_start'"
"${build[@]}" --build-arg "TRAIN_ARGS=$TRAIN_ARGS --until $FIRST_UNTIL" \
    --build-arg "TRACK_RECORD_AFRESH=$record_start" --tag "$IMAGE-first" "$context" \
    >"$work/build.log" 2>&1 || build_failed
buildah push --quiet --tls-verify=false --authfile "$work/docker/config.json" \
    --digestfile "$work/pushed" "$IMAGE-first" "docker://$repository:latest" >/dev/null
# Its provenance, as the attest job signs it: this repository's release workflow on a release tag.
"$python" - "$work/attestations" "$(cat "$work/pushed")" <<'ATTEST'
import sys
from pathlib import Path
from tests.release.attestations import attest, certificate
attest(Path(sys.argv[1]), sys.argv[2], certificate("local/cryptopredict", "refs/tags/v0.0.0"))
ATTEST
# Without the login, gh cannot resolve the image: the verification is asked of the registry.
if DOCKER_CONFIG="$work/no-login" previous_image >"$work/unverified" 2>&1; then
    die "the previous image was verified without a login to the registry"
fi
grep -q "remote registry authorization failed" "$work/unverified" \
    || { cat "$work/unverified" >&2; die "without a login, the verification failed otherwise"; }
# The second: `latest`, by the digest the registry names, verified, extended.
find_previous
[[ "$previous" == "$repository@$(cat "$work/pushed")" && -z "$record_start" ]] \
    || die "the second build does not extend the pushed image: '$previous' '$record_start'"
grep -q "is verified: built by local/cryptopredict's release workflow on a release tag" \
    "$work/previous.log" || { cat "$work/previous.log" >&2; die "the previous image was not verified"; }
say "the second build extends $previous, which latest names, verified (logged in)"
build+=(--build-arg "TRAIN_ARGS=$TRAIN_ARGS" --build-arg "PREVIOUS_IMAGE=$previous")
"${build[@]}" --target train --tag "$TRAIN_IMAGE" "$context" >>"$work/build.log" 2>&1 \
    || build_failed
"${build[@]}" --tag "$IMAGE" "$context" >>"$work/build.log" 2>&1 || build_failed
build_seconds=$((SECONDS - build_started))
grep -q "secret ALPACA_SECRET_KEY: provided" "$work/build.log" \
    || die "the training step never saw the secret: the canary check would prove nothing"
say "built two releases in ${build_seconds}s; the training step received the secret"

# 3. Configuration: non-root user, HEALTHCHECK kept, command, port, OCI labels.
buildah inspect --type image "$IMAGE" >"$work/inspect.json"
"$python" -m ci.image_config "$work/inspect.json" \
    --label "org.opencontainers.image.version=0.0.0" \
    --label "org.opencontainers.image.revision=$revision" \
    --label "org.opencontainers.image.created=$created" \
    --label "cryptopredict.extends=$previous"
uid=$("$python" -m ci.image_config "$work/inspect.json" --print-user)

# 4. The canary is in no layer and no config, of the served image or of the training stage
#    (whose layers a registry cache would export). A control image that does leak it proves the
#    scan finds what it looks for.
#    The machine's CA bundle, mounted for pip during the build, must not be in a layer either
#    (checked when it differs from Debian's, i.e. when it trusts something extra such as a proxy).
container=$(buildah from --pull=never "$IMAGE")
containers+=("$container")
buildah run --isolation chroot "$container" -- cat /etc/ssl/certs/ca-certificates.crt >"$work/image-ca"
for image in "$IMAGE" "$TRAIN_IMAGE"; do
    say "scanning $image"
    buildah push --quiet --disable-compression "$image" "oci:$work/oci-scan" >/dev/null
    "$python" -m ci.layer_scan "$work/oci-scan" "$work/canary" || die "the secret leaked into $image"
    if ! cmp -s "$work/image-ca" "$CA_BUNDLE"; then
        "$python" -m ci.layer_scan "$work/oci-scan" "$CA_BUNDLE" "the machine's CA bundle" \
            || die "the machine's CA bundle was baked into $image"
    fi
    rm -rf "$work/oci-scan"
done
mkdir "$work/control"
cat >"$work/control/Containerfile" <<CONTAINERFILE
FROM $base_image
RUN --mount=type=secret,id=ALPACA_SECRET_KEY cp /run/secrets/ALPACA_SECRET_KEY /leak \
    && gzip -k /leak && mv /leak.gz /leak.bin.gz
CONTAINERFILE
buildah build --isolation chroot --pull=never --quiet --secret "id=ALPACA_SECRET_KEY,src=$work/canary" \
    --tag "$CONTROL_IMAGE" "$work/control" >/dev/null
buildah push --quiet --disable-compression "$CONTROL_IMAGE" "oci:$work/oci-control" >/dev/null
if "$python" -m ci.layer_scan "$work/oci-control" "$work/canary" >"$work/control.log"; then
    die "the scan missed a canary planted on purpose; it cannot be trusted"
fi
say "control: the scan finds a canary planted on purpose ($(grep -c '^  ' "$work/control.log") hits)"

# 5. No training-only package in the served image, and every model records its commit.
buildah run --isolation chroot "$container" -- python -c \
    'import importlib.metadata as m; print("\n".join(d.metadata["Name"] for d in m.distributions()))' \
    >"$work/installed"
"$python" -m ci.training_only "$work/installed"
# What only development and CI run lives outside the runtime package (tools/) and never reaches
# the image (.dockerignore is an allowlist); this proves it on the built image.
# (The peer comparison and the report writer were cryptopredict/model/{compare,report}.py.)
for dev_only in tools cryptopredict/release cryptopredict/model/compare.py \
    cryptopredict/model/report.py; do
    if buildah run --isolation chroot "$container" -- test -e "/app/$dev_only"; then
        die "the image holds /app/$dev_only, which only development and CI use"
    fi
done
say "the image holds no release tooling, peer comparison or report writer (tools/)"
# No setuid or setgid file (issue 104): the Dockerfile strips Debian's.
privileged=$(buildah run --isolation chroot --user 0:0 "$container" -- find / -xdev -type f -perm /6000)
[[ -z "$privileged" ]] || die "the image holds setuid or setgid files: $privileged"
say "the image holds no setuid or setgid file"
# Only what serving reads (issue 45): the pickled models stay in the build stage.
pickled=$(buildah run --isolation chroot "$container" -- find /app/artifacts -name model.pkl)
[[ -z "$pickled" ]] || die "the image holds pickled models serving never reads: $pickled"
say "the image holds no pickled model (the build stage keeps them)"
buildah run --isolation chroot "$container" -- python - "$revision" <ci/manifest_git_sha.py \
    || die "a served model does not record the commit $revision"

# 6. Run the image's own command, as the image's user, and talk to it over loopback. Python
#    logs every module it imports, for the whole life of the server (PYTHONPROFILEIMPORTTIME).
port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
buildah config --env "PORT=$port" "$container"
# A date in the middle of a model's data, as its manifest records the data's first and last bar.
date=$(buildah run --isolation chroot "$container" -- python -c '
import glob, json, os
from datetime import datetime
[manifest] = glob.glob(os.path.join(os.environ["MODEL_DIR"], "*", "manifest.json"))[:1]
data = json.load(open(manifest))["data"]
first, last = (datetime.fromisoformat(data[end]) for end in ("first", "last"))
print((first + (last - first) / 2).date())')
mapfile -d '' -t run_command < <("$python" -m ci.image_config "$work/inspect.json" --print-command)
say "starting '${run_command[*]}' on port $port"
# With render.yaml's edge settings (the client is the address True-Client-IP names, from a
# private hop: this loopback), which the edge probes below meet as Render's proxy would send them.
buildah run --isolation chroot --env PYTHONPROFILEIMPORTTIME=1 --env MAX_CONNECTIONS_PER_CLIENT=0 \
    --env CLIENT_IP_HEADER=True-Client-IP "$container" -- "${run_command[@]}" \
    >"$work/server.log" 2>&1 &
run_pid=$!
server_pids+=("$run_pid")
# Until the server says it serves: before that, the process that bound the port holds it too
# (it hands it to HAProxy, then closes its own). The port's holders are read after the server
# says so, never before: a reading taken just before it, with the handing still to come, would
# name the process that bound it.
listener=
for _ in $(seq 180); do
    if grep -q 'serving on' "$work/server.log"; then
        listener=$(ss -Hltnp "sport = :$port" | grep -o 'pid=[0-9]*' | sort -u || true)
        [[ -n "$listener" ]] && break
    fi
    kill -0 "$run_pid" 2>/dev/null || { cat "$work/server.log" >&2; die "the server exited"; }
    sleep 1
done
if [[ -z "$listener" ]] || ! grep -q 'serving on' "$work/server.log"; then
    cat "$work/server.log" >&2
    die "nothing served on $port in 180 s"
fi
[[ "$listener" != *$'\n'* ]] \
    || die "port $port is held by more than one process ($(tr '\n' ' ' <<<"$listener")) once it serves"
# The port is HAProxy's, started by the image's command, which serves behind it
# (docs/operations.md, "The edge"); both run as the image's user.
proxy_pid=${listener#pid=}
api_pid=$(awk '/^PPid:/ {print $2}' "/proc/$proxy_pid/status")
server_pids+=("$proxy_pid" "$api_pid")
[[ "$(cat "/proc/$proxy_pid/comm")" == haproxy ]] \
    || die "port $port is $(cat "/proc/$proxy_pid/comm")'s, not HAProxy's: the image serves without its proxy"
[[ "$(tr '\0' ' ' <"/proc/$api_pid/cmdline")" == *"api.py"* ]] \
    || die "HAProxy's parent is not the image's command: $(tr '\0' ' ' <"/proc/$api_pid/cmdline")"
for pid in "$proxy_pid" "$api_pid"; do
    read -r _ real_uid effective_uid _ < <(grep '^Uid:' "/proc/$pid/status")
    [[ "$real_uid" == "$uid" && "$effective_uid" == "$uid" ]] \
        || die "$(cat "/proc/$pid/comm") runs as uid $real_uid/$effective_uid, not the image's user $uid"
done
say "HAProxy (pid $proxy_pid) listens on $port in front of the server (pid $api_pid), both uid $uid, not root"
assets=$(buildah run --isolation chroot "$container" -- python - <ci/held_assets.py)
if ! "$python" -m ci.smoke_http --base-url "http://127.0.0.1:$port" \
    --model-version "$model_version" --date "$date" --assets "$assets"; then
    cat "$work/server.log" >&2
    die "the running image does not answer as it should"
fi
# The edge's refusals and one client's bound however it dresses and spells a route
# (tests/api/edge_probes.py, as tests/api/test_edge.py meets them on the host's HAProxy) on the
# HAProxy the image ships.
haproxy_version=$(buildah run --isolation chroot "$container" -- haproxy -v | head -n 1)
"$python" -m tests.api.edge_probes "http://127.0.0.1:$port" "$haproxy_version" \
    || { cat "$work/server.log" >&2; die "the image's edge answers otherwise than the host's"; }
# The track record the second build baked, extending the first's: BTC/USD's two issues, the
# first one's leads that fell due in the two days between them scored, and why it started,
# read from the image by the route users call.
"$python" - "http://127.0.0.1:$port/model/btc-usd/track-record" "$repository" <<'CHECK' \
    || die "the image does not serve the record of both releases"
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=30) as answer:
    record = json.load(answer)
assert record["issues"] == 2, record["issues"]
assert f"the first release of {sys.argv[2]}" in record["started_why"], record["started_why"]
due = [lead for lead in record["leads"] if lead["due"]]
assert sum(lead["due"] for lead in due) >= 12 and all(l["scored"] == l["due"] for l in due), due
hours = max(lead["lead_hours"] for lead in due)
print(f"image-test: the record holds both issues, the first's leads scored to {hours:g} h")
CHECK

# 7. Serving never imported pandas or Prophet: not at startup, not for any route smoke_http
#    called. The import log must show the serving stack, or the check would prove nothing.
grep -Eq 'import time:.*\| +flask$' "$work/server.log" \
    || { head -n 20 "$work/server.log" >&2; die "the server logged no imports: cannot check them"; }
if grep -E 'import time:.*\| +(pandas|prophet|cmdstanpy|matplotlib)(\.|$)' "$work/server.log" >&2; then
    die "the server imported the training stack"
fi
say "the server imported neither pandas nor Prophet ($(grep -c 'import time:' "$work/server.log") modules)"

# 8. A stop, as `docker stop` and a Render deploy send it: SIGTERM to the image's command lets
#    HAProxy answer what is in flight; then both end, status 0, without a traceback.
kill -TERM "$api_pid"
stopped=0
wait "$run_pid" || stopped=$?
if ((stopped != 0)) || ! grep -q "api: stopped" "$work/server.log" || grep -q Traceback "$work/server.log" \
    || kill -0 "$proxy_pid" 2>/dev/null; then
    tail -n 30 "$work/server.log" >&2
    die "SIGTERM did not stop the image's command and its proxy cleanly (status $stopped)"
fi
say "SIGTERM: the server and HAProxy stopped, status 0, no traceback"

# 9. The size of the served image (its bound: MAX_IMAGE_MB), with the base image's share:
#    the base is not this build's to shrink, so going over is reported, not failed.
megabytes() {
    buildah images --format '{{.Size}}' "$1" | "$python" -c '
import sys
number, unit = sys.stdin.read().split()
print(round(float(number) * {"kB": 1e-3, "MB": 1, "GB": 1e3}[unit]))'
}
image_mb=$(megabytes "$IMAGE")
base_mb=$(megabytes "$base_image")
sizes="$image_mb MB: $base_mb MB of base ($base_image), $((image_mb - base_mb)) MB of this build's"
if ((image_mb <= MAX_IMAGE_MB)); then
    say "the served image is $sizes, within $MAX_IMAGE_MB MB"
else
    say "WARNING: the served image is $sizes, over the $MAX_IMAGE_MB MB bound"
fi

size=$(buildah images --format '{{.Size}}' "$IMAGE")
layers=$("$python" -c 'import json, sys; print(len(json.load(sys.stdin)["Docker"]["rootfs"]["diff_ids"]))' \
    <"$work/inspect.json")
say "passed in $((SECONDS - started))s: $IMAGE is $size in $layers layers, built in ${build_seconds}s"
