# syntax=docker/dockerfile:1.28.0@sha256:bb22d9815c728170f72750f4e5b0d672e06176142e1d602c7e66c050100b7e5b
# The BuildKit frontend that parses this file, pinned by digest (docs/release.md, "Supply chain").
# Three stages: `previous` is the image this release follows (its track record is extended),
# `train` fits the model on the build machine's platform (once, whatever the target platforms),
# `runtime` serves the artifact with only the serving requirements installed.
# Build arguments and secrets: docs/release.md, "Building the image yourself".
# The base is Debian 13, trixie (supported until 2028; Debian 12's security support ended on
# 2026-06-10), with the CPython patch release written out, so Dependabot proposes each new one
# (3.11.x only: .github/dependabot.yml). Both stages name the same image, pinned by the digest
# of its multi-platform index (Dependabot updates the tag and the digest together): a rebuild of
# the same tag builds on the same base, and a moved tag cannot change it unseen. Debian's fixes
# arrive with Dependabot's digest updates. ci/image-test.sh builds with a stand-in that drops it.
# The digest is the tag's index as built on 2026-10-01 (no registry is reachable where it was
# written: it is the one several public repositories pin for this tag, one of them recording
# `docker buildx imagetools inspect`); Dependabot proposes the newer ones.

# The previous release's image, whose track record this one extends (docs/release.md, "The
# track record"): PREVIOUS_IMAGE names it by digest (`ghcr.io/<owner>/<repo>@sha256:...`), as
# the release's version job found it in the registry and verified it (`python -m tools.release
# previous-image`). A build argument in FROM, which BuildKit and buildah both build (make
# image-test builds one image on another so). Empty (a local build, a repository's first
# release, a record started anew), the stage holds nothing but an empty model directory: each
# pair's record starts with this build's issue, saying why (TRACK_RECORD_AFRESH below).
ARG PREVIOUS_IMAGE=""
FROM --platform=$BUILDPLATFORM ${PREVIOUS_IMAGE:-scratch} AS previous
# A release image holds it already; on scratch it is made, so the stage mounted below is never
# an empty file system.
WORKDIR /app/artifacts

FROM --platform=$BUILDPLATFORM python:3.11.17-slim-trixie@sha256:45037981b62b34b44602584fccbc4d884d5f7dc92c7ee86bb38a698a79fe1e51 AS train
# PYTHONPATH: this stage is also a Dask scheduler's and worker's image (docs/model.md), and
# `dask worker` imports the package from /app, wherever it is started.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /app
COPY requirements-train.txt ./
# Every pin carries its hashes (make lock): pip refuses any file that does not match them.
RUN pip install --no-cache-dir --require-hashes -r requirements-train.txt
COPY data/ data/
COPY cryptopredict/ cryptopredict/
COPY train.py ./

# Which data and how strict: the release builds with TRAIN_SOURCE=auto and REQUIRE_FRESH_HOURS set,
# so a stale source fails the build instead of shipping an old model. TRAIN_ARGS adds flags
# (e.g. "--no-backtest --since 2025-06-01" for a quick test build). Every pair in ASSETS is
# trained (empty: the default of `train.py`, btc-usd,eth-usd; `top:200`, the release's default:
# BTC/USD, ETH/USD and the 200 pairs most traded on Binance, ranked now), as tasks on Dask (a
# local cluster, or the scheduler the DASK_SCHEDULER_ADDRESS secret names): the image serves every
# pair that trained. A pair that fails is served from the previous release where it served one
# (its age said in artifacts/run.json's carried), else left out (named with why there); the build
# fails when BTC/USD does, or more than a tenth of the pairs with nothing to carry. A pair applies what
# `make panel` decided for every pair: one Prophet fit and numerics, about twelve CPU-seconds
# (docs/performance.md, "A release of 200 pairs").
ARG ASSETS=""
ARG TRAIN_SOURCE=auto
ARG REQUIRE_FRESH_HOURS=""
ARG TRAIN_ARGS=""
# Recorded in the artifact's manifest: MODEL_VERSION is reported by /healthz, GIT_SHA names the
# commit the model was trained by (the build context has no .git to read it from).
ARG MODEL_VERSION=dev
ARG GIT_SHA=""
# Different on every release build and declared before the training step, so a cached training
# layer (and with it an old model) can never be reused.
ARG BUILD_ID=""
# Data-source keys and the Dask scheduler's address are BuildKit secrets, read from /run/secrets
# for this one step: they never become ARG, ENV or a file in a layer (nor a build argument in the
# image's provenance). Missing secrets are fine: the sources work without keys, and without a
# scheduler training runs on a local cluster. A scheduler must be tls:// (Dask requires
# encryption here): training refuses a tcp:// one, which would run whatever anyone who reaches it
# sends, beside the keys. $TRAIN_ARGS is unquoted on purpose: several flags.
# The history store outlives the build in a BuildKit cache mount. Nothing of it reaches a layer.
# The previous image's model directory is mounted read-only: train.py scores its track record on
# the closes it fetches and writes the extended record into /app/artifacts; a record that cannot
# be read, or a previous image that holds none, fails the build. TRACK_RECORD_AFRESH says why
# the record starts with this build instead (the release sets it for its first release and
# when a run's input asks for a new record), and then no previous image is read.
ARG PREVIOUS_IMAGE
ARG TRACK_RECORD_AFRESH=""
RUN --mount=type=bind,from=previous,source=/,target=/previous \
    --mount=type=secret,id=ALPACA_API_KEY,required=false \
    --mount=type=secret,id=ALPACA_SECRET_KEY,required=false \
    --mount=type=secret,id=DASK_SCHEDULER_ADDRESS,required=false \
    --mount=type=cache,id=cryptopredict-cache,target=/cache,sharing=locked \
    for name in ALPACA_API_KEY ALPACA_SECRET_KEY DASK_SCHEDULER_ADDRESS; do \
        if [ -s "/run/secrets/$name" ]; then \
            export "$name=$(cat "/run/secrets/$name")" && echo "secret $name: provided"; \
        fi; \
    done \
    && if [ -n "${DASK_SCHEDULER_ADDRESS:-}" ]; then export DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION=True; fi \
    && echo "build ${BUILD_ID:-local}: training model ${MODEL_VERSION} from ${TRAIN_SOURCE}: ${ASSETS:-the default pairs}" \
    && ASSETS="$ASSETS" REQUIRE_FRESH_HOURS="$REQUIRE_FRESH_HOURS" MODEL_VERSION="$MODEL_VERSION" GIT_SHA="$GIT_SHA" \
        CRYPTOPREDICT_CACHE=/cache/history TRACK_RECORD_AFRESH="$TRACK_RECORD_AFRESH" \
        PREVIOUS_IMAGE="$PREVIOUS_IMAGE" \
        python train.py --all --out /app/artifacts --previous /previous/app/artifacts --source "$TRAIN_SOURCE" \
            --tolerate 1 $TRAIN_ARGS \
    && mkdir -p /app/models \
    && for pickled in /app/artifacts/*/model.pkl; do \
        if [ -f "$pickled" ]; then mv "$pickled" "/app/models/$(basename "$(dirname "$pickled")").pkl"; fi; \
    done


FROM python:3.11.17-slim-trixie@sha256:45037981b62b34b44602584fccbc4d884d5f7dc92c7ee86bb38a698a79fe1e51 AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /app
# Serving needs numpy, Flask and Waitress, not Prophet or pandas; the market feed (inside
# api.py, or `python -m cryptopredict.collect`) nothing more: it polls the exchanges over urllib.
# The packages' test suites and type stubs are left out, and bytecode is compiled below only for
# what the server imports: the image stays small (make image-test prints its size and checks
# the bound).
# HAProxy, Debian's, in front of Waitress (docs/operations.md, "The edge"): the 3.0 series the
# configuration (cryptopredict/api/haproxy.cfg) is written for, with Debian's fixes; its
# documentation, its sample configuration and apt's lists left out. No file keeps a setuid or
# setgid bit (Debian's su, mount, passwd and the like): nothing in a container can gain a
# privilege through one (make image-test checks).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends 'haproxy=3.0.*' \
    && rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man /etc/haproxy \
    && find / -xdev -type f -perm /6000 -exec chmod ug-s {} +
COPY requirements-api.txt ./
RUN pip install --no-cache-dir --no-compile --require-hashes \
        -r requirements-api.txt \
    && find "$(python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" -depth \
        \( -name tests -o -name '*.pyi' \) -exec rm -rf {} + \
    && useradd --user-group --uid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin cryptopredict
COPY cryptopredict/ cryptopredict/
COPY api.py ./
# The server's user cannot write bytecode: compile, once, every module `python api.py` imports,
# so it starts without compiling.
RUN PYTHONDONTWRITEBYTECODE='' python -c "import cryptopredict.api.server, cryptopredict.collect.cli"
# Owned by root and read-only to the server: it can read its model, never change it. Only what
# serving reads: each pair's pickled Prophet model (which serving never unpickles) stays in the
# build stage, under /app/models.
COPY --from=train /app/artifacts/ artifacts/

ARG VERSION=dev
ARG PREVIOUS_IMAGE
ARG REVISION=unknown
ARG CREATED=""
ARG SOURCE=""
LABEL org.opencontainers.image.title="cryptopredict" \
      org.opencontainers.image.description="A Bitcoin price forecast, retrained every six hours and served over HTTP." \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="$VERSION" \
      org.opencontainers.image.revision="$REVISION" \
      org.opencontainers.image.created="$CREATED" \
      org.opencontainers.image.source="$SOURCE" \
      cryptopredict.extends="${PREVIOUS_IMAGE:-none}"

# Fresh by default: the API process runs the market feed (Binance, then Alpaca where Binance
# refuses) into a SQLite file on the instance's disk, so the forecasts start from the latest
# price, not the image's last close hours ago, and /price and the live panel have minutes.
# `-e LATEST_PRICES=` turns it off; a PostgreSQL DATABASE_URL leaves it to
# `python -m cryptopredict.collect` (docs/live-data.md).
ENV HOST=0.0.0.0 \
    PORT=8080 \
    MODEL_DIR=/app/artifacts \
    LATEST_PRICES=binance,alpaca \
    DATABASE_URL=sqlite:////tmp/market.db
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8080'), timeout=4)"]
# One process tree: Python binds HOST:PORT, starts HAProxy on that socket and Waitress on
# loopback behind it (and the market feed beside them); a stop (SIGTERM) lets HAProxy answer
# the requests in flight, then all end (cryptopredict/api/server.py).
CMD ["python", "api.py"]
