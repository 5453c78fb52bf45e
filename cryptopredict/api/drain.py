"""A graceful stop for Waitress, which has no public one: `serve` runs Waitress's own loop
(`server.run()`) until SIGTERM or SIGINT, then drains it.

On the signal the listening sockets close (new connections are refused), requests already
received finish and their answers are sent, idle keep-alive connections close, and the loop
returns, all within `DRAIN_SECONDS`.

While it serves, nothing of this runs: the loop is Waitress's, untouched. The signal handler
only writes a byte to a pipe that a `Drain` dispatcher watches inside that loop, so the drain
starts at a safe point between two turns of the loop (never inside a half-done read), and the
drain's steps run there too.

Waitress internals still used, because its public API has no way to stop accepting while
letting received requests finish (`server.close()` closes the trigger its threads wake the loop
with, and `task_dispatcher.shutdown()` cancels queued requests):
- the socket map (`server._map` for one listening socket, `server.map` for several), to add
  the `Drain` dispatcher to the loop and to find the listeners, connections and triggers;
- a connection's `requests` (empty when it has no request in progress) and
  `close_when_flushed` (Waitress's own way to close a connection once its answer is sent),
  as `BaseWSGIServer.maintenance` uses them.
`tests/api/test_drain.py` checks them against the pinned Waitress; the SIGTERM test in
`tests/api/test_server.py` checks the behaviour.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from types import FrameType

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, MultiSocketServer
from waitress.trigger import trigger

DRAIN_SECONDS = 4.0

log = logging.getLogger("api")

Sockets = dict[int, wasyncore.dispatcher]


def serve(server: BaseWSGIServer | MultiSocketServer) -> None:
    """Run `server` until SIGTERM or SIGINT, then drain it."""
    drain = Drain(socket_map(server))
    signal.signal(signal.SIGTERM, drain.request)
    signal.signal(signal.SIGINT, drain.request)
    server.run()  # returns once the drain has emptied the socket map
    server.task_dispatcher.shutdown(timeout=1)
    for each in drain.triggers:
        each.close()
    log.info("stopped")


def socket_map(server: BaseWSGIServer | MultiSocketServer) -> Sockets:
    """The listeners, connections and triggers of `server`, in one map."""
    # One listening socket gives a BaseWSGIServer, several (HOST=localhost on IPv4 and IPv6) a
    # MultiSocketServer; both keep their listeners, channels and trigger in one map.
    return server.map if isinstance(server, MultiSocketServer) else server._map


class Drain(wasyncore.file_dispatcher):
    """The read end of a pipe in Waitress's loop: a byte on it starts the drain, or ends it."""

    def __init__(self, sockets: Sockets) -> None:
        self.sockets = sockets
        read, self.wake = os.pipe()
        super().__init__(read, map=sockets)
        os.close(read)  # file_dispatcher keeps its own duplicate
        self.signal: str | None = None
        self.deadline = 0.0
        self.finished = False
        self.triggers: list[trigger] = []

    def request(self, signum: int, _frame: FrameType | None) -> None:
        """The signal handler: note the signal and wake the loop (nothing else is safe here)."""
        if self.signal is None:
            self.signal = signal.Signals(signum).name
            os.write(self.wake, b"x")

    def readable(self) -> bool:
        """Called by the loop before each wait: while draining, close each connection once it
        has no request in progress, and wake the loop to end once none is left."""
        if self.deadline and not self.finished:
            channels = self._channels()
            for channel in channels:
                if not channel.requests:
                    channel.close_when_flushed = True
            if not channels or time.monotonic() >= self.deadline:
                self.finished = True
                os.write(self.wake, b"x")
        return True

    def writable(self) -> bool:
        return False

    def handle_read(self) -> None:
        self.recv(64)
        if self.finished:
            self._stop()
        elif not self.deadline:
            log.info("%s: finishing the requests in flight, then stopping", self.signal)
            self.deadline = time.monotonic() + DRAIN_SECONDS
            for listener in [d for d in self.sockets.values() if isinstance(d, BaseWSGIServer)]:
                wasyncore.dispatcher.close(listener)  # the listening socket only; see _stop

    def _stop(self) -> None:
        """Empty the map, which ends Waitress's loop. The triggers are left open (out of the
        map) until its threads have stopped, since a thread that finishes pulls one."""
        busy = self._channels()
        if busy:
            log.warning("closing %d connections still busy after %.0f s", len(busy), DRAIN_SECONDS)
        for channel in busy:
            channel.handle_close()  # Waitress's own close: wakes a thread waiting to write
        self.triggers = [d for d in self.sockets.values() if isinstance(d, trigger)]
        for each in self.triggers:
            each.del_channel()
        os.close(self.wake)
        self.close()

    def _channels(self) -> list[HTTPChannel]:
        return [d for d in self.sockets.values() if isinstance(d, HTTPChannel)]
