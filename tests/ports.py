"""Ports for servers the tests start in other processes (stdlib only: ci/image-test.sh's
system Python imports the registry stand-in that uses it)."""

from __future__ import annotations

import random
import socket
from pathlib import Path


def free_port() -> int:
    """A port nothing listens on, for a server another process starts later: below the kernel's
    ephemeral range, so no outgoing connection (a cluster's, a client's) takes it as its own
    port before that server binds it (a port bind(0) gave did, at load 6)."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    while True:
        port = random.randrange(10_000, low)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
