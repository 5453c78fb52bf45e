"""The API's server: stock Waitress, behind HAProxy wherever it faces clients.

`python api.py` (the image's command, `make serve`, `make run`'s server) binds
HOST:PORT, hands that socket to HAProxy (`haproxy.cfg`, the bounds on slow, flooding and
header-heavy clients: docs/operations.md) and serves with Waitress on a free loopback port
behind it. On SIGTERM or Ctrl-C, HAProxy stops listening, answers the requests in flight (at
most 5 s) and exits; then the process stops, status 0. If HAProxy stops by itself, so does the
server, status 1.

While a run trains into its model directory (`make run`: its `training.json` there), the
proxy's lines of the requests Waitress answered 503 are left out (a client waiting for a pair
still training asks again as `Retry-After` says).

`python api.py --alone` is Waitress alone on HOST:PORT, for development: the same application,
none of the proxy's bounds, and a stop does not wait for the requests in flight.

Signals never raise: SIGINT and SIGTERM only wake the main thread (`Stop`), which does nothing
but wait for them while Waitress's loop and threads serve. The access log is off unless
`ACCESS_LOG` is set (docs/performance.md); every line passes `cryptopredict.logs`' redaction.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import socket
import subprocess
import threading
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

from waitress.server import create_server

from cryptopredict import logs
from cryptopredict.api.app import create_app
from cryptopredict.api.errors import StartupError
from cryptopredict.api.http import access_log
from cryptopredict.api.latest import latest_prices
from cryptopredict.api.port import listen
from cryptopredict.api.reloading import Reloading
from cryptopredict.artifact.arrays import ArtifactError
from cryptopredict.artifact.store import open_artifacts
from cryptopredict.artifact.training import read_status
from cryptopredict.assets import BITCOIN
from cryptopredict.config import ApiSettings, ConfigError
from cryptopredict.following_make import follow_make

HAPROXY_CONFIG = Path(str(files("cryptopredict.api") / "haproxy.cfg"))
PR_SET_PDEATHSIG = 1  # prctl(2): the signal a child gets when its parent dies
PROXY_ENDED = 0  # what `Stop.wait` says when the proxy exited
REFUSED = " status=503 state=--"  # the proxy's line of a 503 Waitress answered (haproxy.cfg)
# Connections from HAProxy to Waitress at once (haproxy.cfg; docs/operations.md, "The edge"): the
# answers at one instant, taken whole, through POINT_CONNECTIONS to a Waitress of their own, whose
# threads no other route takes (a loop holding more connections spins: issue 97), the health
# check through four to a third; large answers, which a reader that never reads holds, through
# LARGE_CONNECTIONS to a fourth, every other through SERVER_CONNECTIONS (Waitress buffers an
# answer).
POINT_CONNECTIONS = 16
LARGE_CONNECTIONS = SERVER_CONNECTIONS = 100
PORTS = ("API_PORT", "POINTS_PORT", "HEALTH_PORT", "LARGE_PORT")  # each server's, in haproxy.cfg
# REMOTE_ADDR: the client's address as HAProxy found it (haproxy.cfg), never one a client sent.
BEHIND_HAPROXY = {"trusted_proxy": "127.0.0.1", "trusted_proxy_headers": "x-forwarded-for"}

log = logging.getLogger("api")


def main(
    beside: Callable[[ApiSettings, Callable[[], None]], Callable[[], None]] | None = None,
    *,
    proxied: bool = True,
) -> int:
    """Serve; `beside(settings, on_written)` starts what runs beside the server (the market feed:
    api.py, which calls `on_written` once a round's prices are written and once the round is)
    and returns what stops it."""
    stop = Stop()  # first: from here on, SIGINT and SIGTERM never raise
    try:
        settings = ApiSettings.from_env()
    except ConfigError as error:
        logs.configure()
        log.error("cannot serve: %s", error)
        return 2
    _configure_logs(settings)
    follow_make()  # `make serve`, `make run`: stopped with make, however it is signalled
    latest = latest_prices(settings)  # one poller a process, for every application built
    try:
        # Artifacts written while serving (`make run`) are served as they come.
        app = Reloading(
            lambda: create_app(open_artifacts(settings.model_dir), settings, latest),
            settings.model_dir,
        )
    except (ArtifactError, StartupError) as error:
        log.error("cannot serve: %s", error)
        return 1
    try:
        listener = listen(settings.host, settings.port) if proxied else None
        servers = [
            create_server(
                app.wsgi,
                host="127.0.0.1" if proxied else settings.host,
                port=0 if proxied else settings.port,
                threads=settings.threads,
                connection_limit=SERVER_CONNECTIONS + LARGE_CONNECTIONS,
                max_request_body_size=65536,  # every route is GET or HEAD
                **(BEHIND_HAPROXY if proxied else {}),
                ident="",  # no Server header
            )
            for _ in range(4 if proxied else 1)
        ]
    except OSError as error:
        log.error("cannot listen on %s:%d: %s", settings.host, settings.port, error)
        return 1
    proxy = None
    if listener is not None:
        try:
            proxy = _start_proxy(listener, [each.effective_port for each in servers], settings)
        except OSError as error:
            log.error(
                "cannot serve: HAProxy cannot start (%s); install it (apt-get install haproxy), "
                "or serve with Waitress alone for development: python api.py --alone",
                error,
            )
            return 1
        threading.Thread(target=stop.after, args=(proxy,), daemon=True).start()
        address = listener.getsockname()
        listener.close()  # HAProxy's now: closed when it stops listening
    else:
        address = (settings.host, servers[0].effective_port)
    _say_what_is_served(app, settings)
    log.info("serving on http://%s:%s (docs at /docs)", address[0], address[1])
    stop_beside = beside(settings, latest.read) if beside else lambda: None
    latest.refresh()  # the first read of the latest prices, then one every LIVE_CACHE_SECONDS
    app.start()
    for each in servers:
        threading.Thread(target=each.run, name="waitress", daemon=True).start()
    status = 0
    why = stop.wait()
    if proxy is None:
        log.info("%s: stopping", signal.Signals(why).name)
    elif why == PROXY_ENDED:
        log.error("the proxy stopped (status %s, why above): stopping", proxy.returncode)
        status = 1
    else:
        log.info("%s: finishing the requests in flight, then stopping", signal.Signals(why).name)
        proxy.send_signal(signal.SIGUSR1)  # HAProxy's graceful stop; `hard-stop-after` bounds it
        proxy.wait()
    app.stop()
    stop_beside()
    log.info("stopped")
    return status


class Stop:
    """SIGINT and SIGTERM, waited for on the main thread: their handlers do nothing, and Python
    writes each signal's number to a pipe (`signal.set_wakeup_fd`), which `wait` reads. So a
    signal raises nowhere, whichever thread it meets and however many come."""

    def __init__(self) -> None:
        self.read, self.write = os.pipe()
        os.set_blocking(self.write, False)
        signal.set_wakeup_fd(self.write)
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: None)
        # A parent may have started it with them blocked (training's cluster threads do).
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})

    def after(self, proxy: subprocess.Popen) -> None:
        """Wake `wait` once `proxy` has ended (on a thread of its own)."""
        proxy.wait()
        os.write(self.write, bytes([PROXY_ENDED]))

    def wait(self) -> int:
        """The first signal's number (PROXY_ENDED: none, the proxy ended)."""
        return os.read(self.read, 1)[0]


def proxy_environment(listener: int, at: list[int], settings: ApiSettings) -> dict[str, str]:
    """What haproxy.cfg reads: the socket it listens on, the ports of the Waitress servers `at`
    (the rest's, the answers at one instant's, the health check's, the large answers'), its
    bounds."""
    return {
        "LISTENER": str(listener),
        **dict(zip(PORTS, map(str, at), strict=True)),
        "POINT_CONNECTIONS": str(POINT_CONNECTIONS),
        "LARGE_CONNECTIONS": str(LARGE_CONNECTIONS),
        "SERVER_CONNECTIONS": str(SERVER_CONNECTIONS),
        "MAX_CONNECTIONS_PER_CLIENT": str(settings.max_connections_per_client),
        "CLIENT_IP_HEADER": settings.client_ip_header or "",
    }


def _start_proxy(listener: socket.socket, at: list[int], settings: ApiSettings) -> subprocess.Popen:
    """HAProxy on `listener`, in front of the Waitress servers `at` (ports): in a process group of
    its own (Ctrl-C reaches this process, which stops it gracefully), ended if this process
    dies. Its lines are logged as this process's (but Waitress's 503s while a run trains)."""
    proxy = subprocess.Popen(
        ["haproxy", "-db", "-f", str(HAPROXY_CONFIG)],
        env={**os.environ, **proxy_environment(listener.fileno(), at, settings)},
        pass_fds=[listener.fileno()],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        process_group=0,
        preexec_fn=_end_with_parent,  # noqa: PLW1509 (one system call, before any thread runs)
    )
    lines = (proxy, settings.model_dir)
    threading.Thread(target=_pass_on, args=lines, name="haproxy-lines", daemon=True).start()
    return proxy


_prctl = getattr(ctypes.CDLL(None, use_errno=True), "prctl", None)  # Linux's; not macOS's


def _end_with_parent() -> None:
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _pass_on(proxy: subprocess.Popen, model_dir: Path) -> None:
    said = logging.getLogger("api.proxy")
    assert proxy.stdout is not None
    for line in proxy.stdout:
        if REFUSED in line and read_status(model_dir) is not None:
            continue  # 503 still_training while a run trains beside it
        # "[WARNING]  (pid) : Proxy api stopped (...)": the level, then what it says.
        level, _, text = line.rstrip().partition(" : ")
        said.log(logging.WARNING if "ALERT" in level else logging.INFO, "%s", text or level)


def _configure_logs(settings: ApiSettings) -> None:
    logs.configure(settings.log_level)
    access_log.setLevel(logging.INFO if settings.access_log else logging.WARNING)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False


def _say_what_is_served(app: Reloading, settings: ApiSettings) -> None:
    log.info(
        "serving %d assets from %s; each artifact is verified when first asked for",
        len(app.catalog),
        settings.model_dir,
    )
    if BITCOIN in app.catalog:
        return
    training = read_status(settings.model_dir)
    if training is not None and BITCOIN in {pair.asset for pair in training.unfinished()}:
        log.info("no %s artifact yet: it is served as soon as training writes it", BITCOIN)
    elif training is not None:  # a run of other pairs, as asked: nothing is wrong
        log.info("%s is not trained in this run: /bitcoin answers 404", BITCOIN)
    else:
        log.warning("no %s artifact: /bitcoin and /bitcoin/forecast answer 404", BITCOIN)
