# syntax=docker/dockerfile:1
# Two stages: `train` fits the model on the build machine's platform (once, whatever the target
# platforms), `runtime` serves the artifact with only the serving requirements installed.
# Build arguments and secrets: README, "Release and deploy".
# The base is Debian trixie (supported until 2028; bookworm's security support ended 2026-06-10)
# with the CPython patch release written out, so Dependabot proposes each new one (3.11.x only:
# .github/dependabot.yml). Both stages name the same image.

FROM --platform=$BUILDPLATFORM python:3.11.17-slim-trixie AS train
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /app
COPY requirements-train.txt ./
RUN pip install --no-cache-dir -r requirements-train.txt
COPY data/ data/
COPY cryptopredict/ cryptopredict/
COPY train.py ./

# Which data and how strict: the release builds with TRAIN_SOURCE=auto and REQUIRE_FRESH_HOURS set,
# so a stale source fails the build instead of shipping an old model. TRAIN_ARGS adds flags
# (e.g. "--no-backtest --since 2025-06-01" for a quick test build). Every asset in ASSETS is
# trained (ASSETS, default btc-usd,eth-usd), one after the other in this step: one image
# serves them all.
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
# Data-source keys are BuildKit secrets, read from /run/secrets for this one step: they never
# become ARG, ENV or a file in a layer. Missing secrets are fine (the sources work without keys).
# $TRAIN_ARGS is unquoted on purpose: it holds several flags.
RUN --mount=type=secret,id=ALPACA_API_KEY,required=false \
    --mount=type=secret,id=ALPACA_SECRET_KEY,required=false \
    for name in ALPACA_API_KEY ALPACA_SECRET_KEY; do \
        if [ -s "/run/secrets/$name" ]; then \
            export "$name=$(cat "/run/secrets/$name")" && echo "secret $name: provided"; \
        fi; \
    done \
    && echo "build ${BUILD_ID:-local}: training model ${MODEL_VERSION} from ${TRAIN_SOURCE}" \
    && REQUIRE_FRESH_HOURS="$REQUIRE_FRESH_HOURS" MODEL_VERSION="$MODEL_VERSION" GIT_SHA="$GIT_SHA" \
        python train.py --all --out /app/artifacts --source "$TRAIN_SOURCE" $TRAIN_ARGS


FROM python:3.11.17-slim-trixie AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /app
# requirements-collect.txt: the live collector's websocket client, so the same image also runs
# `python -m cryptopredict.collect` (README, "Live market data").
COPY requirements-api.txt requirements-collect.txt ./
RUN pip install --no-cache-dir -r requirements-api.txt -r requirements-collect.txt \
    && useradd --user-group --uid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin cryptopredict
COPY cryptopredict/ cryptopredict/
COPY api.py ./
# Owned by root and read-only to the server: it can read its model, never change it.
COPY --from=train /app/artifacts/ artifacts/

ARG VERSION=dev
ARG REVISION=unknown
ARG CREATED=""
ARG SOURCE=""
LABEL org.opencontainers.image.title="cryptopredict" \
      org.opencontainers.image.description="A Bitcoin price forecast, retrained every six hours and served over HTTP." \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="$VERSION" \
      org.opencontainers.image.revision="$REVISION" \
      org.opencontainers.image.created="$CREATED" \
      org.opencontainers.image.source="$SOURCE"

# MPLCONFIGDIR: Prophet imports matplotlib, which wants a writable config directory, and the
# server's user has no home.
ENV HOST=0.0.0.0 \
    PORT=8080 \
    MODEL_DIR=/app/artifacts \
    MPLCONFIGDIR=/tmp/matplotlib
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8080'), timeout=4)"]
CMD ["python", "api.py"]
