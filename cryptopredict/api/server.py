"""`python api.py`: verify every artifact, then serve with Waitress until SIGTERM or Ctrl-C.

Waitress has no public graceful stop, so the loop is driven here: on SIGTERM the listening
socket closes (new connections are refused), requests already received finish and their
answers are sent, idle keep-alive connections close, and the process exits, all within
`DRAIN_SECONDS`. This drives Waitress's own asyncore loop over its socket map and uses its
channels' `requests` and `close_when_flushed` attributes, as `BaseWSGIServer.maintenance` does;
`tests/api/test_server.py` checks it against the pinned version.
"""

from __future__ import annotations

import logging
import signal
import sys
import time
from types import FrameType

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, MultiSocketServer, create_server

from cryptopredict import logs
from cryptopredict.api.app import create_app
from cryptopredict.api.errors import StartupError
from cryptopredict.api.forecasts import BITCOIN
from cryptopredict.api.logwriter import write_in_background
from cryptopredict.artifact import ArtifactError, load_artifacts
from cryptopredict.config import ConfigError, Settings

DRAIN_SECONDS = 4.0
# How long a thread may hold the GIL while others wait for it. Waitress's loop thread and its
# request threads hand work to each other on every request; at Python's default (5 ms) a
# finished answer can wait that long to be sent. 1 ms halves p99 latency under load and adds
# throughput (bench/README.md).
SWITCH_INTERVAL = 0.001
TICK_SECONDS = 0.2

log = logging.getLogger("api")


def main() -> int:
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        logs.configure()
        log.error("cannot serve: %s", error)
        return 2
    logs.configure(settings.log_level)
    # Waitress warns on every request queued behind busy threads: noise, and costly under load.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    # The log lines show none of these; collecting them for every request's line costs time
    # (the logging HOWTO's "Optimization" section).
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    sys.setswitchinterval(SWITCH_INTERVAL)
    try:
        _check(settings)
        artifacts = load_artifacts(settings.model_dir)
        app = create_app(artifacts, settings)
    except (ArtifactError, StartupError) as error:
        log.error("cannot serve: %s", error)
        return 1
    try:
        # ident="": no Server header, which names the server for nobody's benefit.
        server = create_server(
            app, host=settings.host, port=settings.port, threads=settings.threads, ident=""
        )
    except OSError as error:
        log.error("cannot listen on %s:%d: %s", settings.host, settings.port, error)
        return 1
    for artifact in artifacts.values():
        log.info("verified %s model %s", artifact.asset, artifact.manifest.model_version)
    if BITCOIN not in artifacts:
        log.warning("no %s artifact: /bitcoin and /bitcoin/forecast answer 404", BITCOIN)
    log.info("serving on http://%s:%s (docs at /docs)", settings.host, server.effective_port)
    writer = write_in_background()
    try:
        serve(server)
    finally:
        writer.stop()
    return 0


def serve(server: BaseWSGIServer | MultiSocketServer) -> None:
    """Run `server` until SIGTERM or SIGINT, then drain it."""
    stopping: list[str] = []

    def stop(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sockets = _socket_map(server)
    use_poll = server.adj.asyncore_use_poll
    while not stopping:
        wasyncore.loop(timeout=TICK_SECONDS, map=sockets, use_poll=use_poll, count=1)
    log.info("%s: finishing the requests in flight, then stopping", stopping[0])
    for listener in [d for d in sockets.values() if isinstance(d, BaseWSGIServer)]:
        wasyncore.dispatcher.close(listener)  # the listening socket only; the trigger stays
    deadline = time.monotonic() + DRAIN_SECONDS
    while (channels := _channels(sockets)) and time.monotonic() < deadline:
        for channel in channels:
            if not channel.requests:
                channel.close_when_flushed = True
        wasyncore.loop(timeout=TICK_SECONDS / 4, map=sockets, use_poll=use_poll, count=1)
    if channels:
        log.warning("closing %d connections still busy after %.0f s", len(channels), DRAIN_SECONDS)
    server.task_dispatcher.shutdown(timeout=1)
    log.info("stopped")


def _socket_map(server: BaseWSGIServer | MultiSocketServer) -> dict[int, wasyncore.dispatcher]:
    # One listening socket gives a BaseWSGIServer, several (HOST=localhost on IPv4 and IPv6) a
    # MultiSocketServer; both keep their listeners, channels and trigger in one map.
    return server.map if isinstance(server, MultiSocketServer) else server._map


def _channels(sockets: dict[int, wasyncore.dispatcher]) -> list[HTTPChannel]:
    return [d for d in sockets.values() if isinstance(d, HTTPChannel)]


def _check(settings: Settings) -> None:
    if not 0 <= settings.port <= 65535:
        raise StartupError(f"PORT must be between 0 and 65535, got {settings.port}")
    if settings.threads < 1:
        raise StartupError(f"THREADS must be at least 1, got {settings.threads}")
