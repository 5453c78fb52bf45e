"""The graceful stop drives Waitress internals (`cryptopredict/api/drain.py`): they are checked
here against the pinned Waitress; tests/api/test_server.py checks SIGTERM on the live server."""

from __future__ import annotations

import importlib.metadata
import re
import socket

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server

from cryptopredict.api.drain import socket_map
from cryptopredict.config import Settings
from tests.paths import ROOT


def test_the_installed_waitress_is_the_pinned_one():
    pinned = re.search(r"^waitress==([^\s\\]+)", (ROOT / "requirements-api.txt").read_text(), re.M)
    assert pinned is not None
    assert importlib.metadata.version("waitress") == pinned.group(1)


def test_the_internals_the_drain_uses_are_there(app):
    options = {**Settings().waitress_options(), "port": 0}
    server = create_server(app, **options)
    client = socket.create_connection(("127.0.0.1", server.effective_port))
    try:
        sockets = socket_map(server)
        assert any(isinstance(each, BaseWSGIServer) for each in sockets.values())
        for _ in range(50):
            wasyncore.loop(timeout=0.05, map=sockets, use_poll=True, count=1)
            channels = [each for each in sockets.values() if isinstance(each, HTTPChannel)]
            if channels:
                break
        (channel,) = channels
        assert channel.requests == []
        assert channel.close_when_flushed is False
        assert server.adj.asyncore_use_poll is True
    finally:
        client.close()
        server.close()
