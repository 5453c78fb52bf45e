"""A graceful stop for Waitress, which has no public one: run its loop until SIGTERM or SIGINT,
then drain.

On the signal the listening socket closes (new connections are refused), requests already
received finish and their answers are sent, idle keep-alive connections close, and `serve`
returns, all within `DRAIN_SECONDS`. This drives Waitress's own asyncore loop over its socket
map (`server.map`, or `server._map` for one listening socket) and uses its channels' `requests`
and `close_when_flushed` attributes, as `BaseWSGIServer.maintenance` does. These are internals:
`tests/api/test_drain.py` checks them against the pinned Waitress, and the SIGTERM test in
`tests/api/test_server.py` checks the behaviour.
"""

from __future__ import annotations

import logging
import signal
import time
from types import FrameType

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, MultiSocketServer

DRAIN_SECONDS = 4.0
TICK_SECONDS = 0.2

log = logging.getLogger("api")


def serve(server: BaseWSGIServer | MultiSocketServer) -> None:
    """Run `server` until SIGTERM or SIGINT, then drain it."""
    stopping: list[str] = []

    def stop(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sockets = socket_map(server)
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


def socket_map(server: BaseWSGIServer | MultiSocketServer) -> dict[int, wasyncore.dispatcher]:
    """The listeners, channels and trigger of `server`, in one map."""
    # One listening socket gives a BaseWSGIServer, several (HOST=localhost on IPv4 and IPv6) a
    # MultiSocketServer; both keep their listeners, channels and trigger in one map.
    return server.map if isinstance(server, MultiSocketServer) else server._map


def _channels(sockets: dict[int, wasyncore.dispatcher]) -> list[HTTPChannel]:
    return [d for d in sockets.values() if isinstance(d, HTTPChannel)]
