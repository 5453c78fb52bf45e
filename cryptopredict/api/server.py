"""`python api.py`: list the artifacts (each is verified when first asked for), then serve with
Waitress's own loop until SIGTERM or Ctrl-C, then drain (`drain.serve`).

Slow clients cannot hold the server: Waitress keeps up to `CONNECTION_LIMIT` connections open
(its own default, 100, lets a hundred idle or half-sent requests stop it accepting anyone),
watches them with poll() rather than select() (which fails past 1,024 descriptors), and closes
one that stays silent for `CHANNEL_TIMEOUT` seconds (`waitress_options`). What its
settings do not reach, `connections.py` adds: a deadline per request from its first byte to
its answer's last, one request of a connection at a time, a cap per client address and on the
number of header lines (`connection_limits`). The process's open-file limit is raised
to fit, within what the system allows.

Everything else is Waitress's and Python's defaults, the GIL switch interval included: a 1 ms
interval made the server hand the GIL between its threads five times as often, and on idle
cores each hand-off waits for a core to wake (bench/README.md, "Why the API serves less than
the stock server on idle cores").

The access log is off unless `ACCESS_LOG` is set: a line per request, written by the request's
thread, is a system call that hands the GIL away under load (docs/performance.md). Other lines
(start, stop, errors) are written as they come; every line passes the redacting formatter of
`cryptopredict.logs`. Waitress's "Task queue depth" warning, which its loop writes for each
request queued behind busy threads, is noise, and silenced by its level; its write used to be,
by accident, the pause that let the threads run while the loop read a burst of requests: the
connection layer now yields at that point on purpose.
"""

from __future__ import annotations

import logging
import resource
from collections.abc import Callable

from waitress.server import create_server

from cryptopredict import logs
from cryptopredict.api.app import create_app
from cryptopredict.api.connections import Connections, Limits
from cryptopredict.api.drain import serve
from cryptopredict.api.errors import StartupError
from cryptopredict.api.latest import latest_prices
from cryptopredict.api.metrics import access_log
from cryptopredict.api.reloading import Reloading
from cryptopredict.api.serving.answers import BITCOIN
from cryptopredict.artifact.arrays import ArtifactError
from cryptopredict.artifact.store import open_artifacts
from cryptopredict.artifact.training import read_status
from cryptopredict.config import ApiSettings, ConfigError, Server
from cryptopredict.following_make import follow_make

# Descriptors besides the connections: the listening sockets, the trigger, files, logs.
SPARE_FILES = 64

log = logging.getLogger("api")


def main(beside: Callable[[ApiSettings], Callable[[], None]] | None = None) -> int:
    """Serve; `beside(settings)` starts what runs beside the server (the market feed: api.py)
    and returns what stops it."""
    try:
        settings = ApiSettings.from_env()
    except ConfigError as error:
        logs.configure()
        log.error("cannot serve: %s", error)
        return 2
    logs.configure(settings.log_level)
    follow_make()  # `make serve`, `make live`: stopped with make, however it is signalled
    access_log.setLevel(logging.INFO if settings.access_log else logging.WARNING)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    # The log lines show none of these; collecting them for every request's line costs time
    # (the logging HOWTO's "Optimization" section).
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    # One poller a process: every application built (one for each artifact written) reads it.
    latest = latest_prices(settings)
    try:
        # Artifacts written while serving (`train.py --serve`) are served as they come.
        app = Reloading(
            lambda: create_app(open_artifacts(settings.model_dir), settings, latest),
            settings.model_dir,
        )
    except (ArtifactError, StartupError) as error:
        log.error("cannot serve: %s", error)
        return 1
    _allow_open_files(settings.connection_limit + SPARE_FILES)
    try:
        server = create_server(app, **waitress_options(settings))
    except OSError as error:
        log.error("cannot listen on %s:%d: %s", settings.host, settings.port, error)
        return 1
    log.info(
        "serving %d assets from %s; each artifact is verified when first asked for",
        len(app.catalog),
        settings.model_dir,
    )
    if BITCOIN not in app.catalog:
        training = read_status(settings.model_dir)
        if training is not None and BITCOIN in {pair.asset for pair in training.unfinished()}:
            log.info("no %s artifact yet: it is served as soon as training writes it", BITCOIN)
        elif training is not None:  # a run of other pairs, as asked: nothing is wrong
            log.info("%s is not trained in this run: /bitcoin answers 404", BITCOIN)
        else:
            log.warning("no %s artifact: /bitcoin and /bitcoin/forecast answer 404", BITCOIN)
    connections = Connections(server, connection_limits(settings))
    app.each_app(
        lambda built: built.extensions["cryptopredict"]["metrics"].count_connections(
            connections.cut
        )
    )
    log.info("serving on http://%s:%s (docs at /docs)", settings.host, server.effective_port)
    stop_beside = beside(settings) if beside else lambda: None
    latest.refresh()  # the first reads of the latest prices, on their thread
    app.start()
    serve(server, connections)
    app.stop()
    stop_beside()
    return 0


def waitress_options(settings: Server) -> dict[str, object]:
    """The API's Waitress adjustments: room for slow clients, request bodies and headers
    refused past their bound before they are read, and no `Server` header; every other
    adjustment is Waitress's default (`tests/api/test_server_options.py`). The
    benchmark's comparison servers take none of these (`bench/serving.py`)."""
    return {
        "host": settings.host,
        "port": settings.port,
        "threads": settings.threads,
        "connection_limit": settings.connection_limit,
        "channel_timeout": settings.channel_timeout,
        # How often silent connections are looked for: often enough to honour the timeout.
        "cleanup_interval": max(1.0, settings.channel_timeout / 2),
        # select() fails past 1,024 descriptors; poll() has no such limit.
        "asyncore_use_poll": True,
        # A Content-Length past the bound is answered 413 on the headers alone; a chunked
        # body, once that much has come.
        "max_request_body_size": settings.max_request_body_size,
        "max_request_header_size": settings.max_request_header_size,
        "ident": "",  # no Server header, which names the server for nobody's benefit
    }


def connection_limits(settings: Server) -> Limits:
    """What `connections.py` adds to Waitress's settings."""
    return Limits(
        request_seconds=settings.request_timeout,
        answer_seconds=settings.channel_timeout,
        per_client=settings.max_connections_per_client,
        max_headers=settings.max_request_headers,
    )


def _allow_open_files(wanted: int) -> None:
    """Raise this process's open-file limit to `wanted`, or as far as the hard limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        raised = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
        if raised < wanted:
            log.warning(
                "the system allows %d open files: fewer connections than CONNECTION_LIMIT "
                "(%d) can be open at once",
                raised,
                wanted - SPARE_FILES,
            )
