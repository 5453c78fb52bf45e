"""`python api.py`: list the artifacts (each is verified when first asked for), then serve with
Waitress until SIGTERM or Ctrl-C (`drain.serve`), logging from a background thread.

Slow clients cannot hold the server: Waitress keeps up to `CONNECTION_LIMIT` connections open
(its own default, 100, lets a hundred idle or half-sent requests stop it accepting anyone),
watches them with poll() rather than select() (which fails past 1,024 descriptors), and closes
one that stays silent for `CHANNEL_TIMEOUT` seconds (`Settings.waitress_options`). The
process's open-file limit is raised to fit, within what the system allows.

Everything else is Waitress's and Python's defaults, the GIL switch interval included: a 1 ms
interval made the server hand the GIL between its threads five times as often, and on idle
cores each hand-off waits for a core to wake (bench/README.md, "Why the API once served a
fifth of the stock server").
"""

from __future__ import annotations

import logging
import logging.handlers
import queue
import resource
from collections.abc import Iterator
from contextlib import contextmanager

from waitress.server import create_server

from cryptopredict import logs
from cryptopredict.api.app import create_app
from cryptopredict.api.drain import serve
from cryptopredict.api.errors import StartupError
from cryptopredict.api.serving.answers import BITCOIN
from cryptopredict.artifact import ArtifactError, open_artifacts
from cryptopredict.config import ConfigError, Settings

# Descriptors besides the connections: the listening sockets, the trigger, files, logs.
SPARE_FILES = 64

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
    try:
        _check(settings)
        artifacts = open_artifacts(settings.model_dir)
        app = create_app(artifacts, settings)
    except (ArtifactError, StartupError) as error:
        log.error("cannot serve: %s", error)
        return 1
    _allow_open_files(settings.connection_limit + SPARE_FILES)
    try:
        server = create_server(app, **settings.waitress_options())
    except OSError as error:
        log.error("cannot listen on %s:%d: %s", settings.host, settings.port, error)
        return 1
    log.info(
        "serving %d assets from %s; each artifact is verified when first asked for",
        len(artifacts),
        settings.model_dir,
    )
    if BITCOIN not in artifacts:
        log.warning("no %s artifact: /bitcoin and /bitcoin/forecast answer 404", BITCOIN)
    log.info("serving on http://%s:%s (docs at /docs)", settings.host, server.effective_port)
    with logging_in_background():
        serve(server)
    return 0


class _Enqueue(logging.handlers.QueueHandler):
    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        """The record itself: it stays in this process and is formatted by the listener.

        QueueHandler's own preparation formats and copies every record so it can be pickled
        to another process; here that costs a tenth of a request's CPU time for nothing.
        """
        return record


@contextmanager
def logging_in_background() -> Iterator[None]:
    """Request threads only queue their records; a `QueueListener` thread writes them with the
    root logger's handlers. On exit, what is queued is written and the handlers are restored.

    A request thread that writes its own line makes a system call, so it drops the GIL and
    then waits to take it back behind the busy threads; under load that cost a third of the
    throughput (bench/README.md).
    """
    root = logging.getLogger()
    handlers = root.handlers[:]
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = logging.handlers.QueueListener(records, *handlers, respect_handler_level=True)
    root.handlers = [_Enqueue(records)]
    listener.start()
    try:
        yield
    finally:
        listener.stop()
        root.handlers = handlers


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


def _check(settings: Settings) -> None:
    if not 0 <= settings.port <= 65535:
        raise StartupError(f"PORT must be between 0 and 65535, got {settings.port}")
    if settings.threads < 1:
        raise StartupError(f"THREADS must be at least 1, got {settings.threads}")
    if settings.connection_limit < 1:
        raise StartupError(f"CONNECTION_LIMIT must be at least 1, got {settings.connection_limit}")
    if settings.channel_timeout <= 0:
        raise StartupError(f"CHANNEL_TIMEOUT must be positive, got {settings.channel_timeout}")
