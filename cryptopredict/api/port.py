"""`python -m cryptopredict.api.port` (`make run`'s first step, before training): the URL the API
will serve on, where HOST:PORT is free; where a server listens already, a port that works, and
status 2."""

from __future__ import annotations

import errno
import socket
import sys

from cryptopredict.config import ConfigError, Server


def port_clash(server: Server) -> str | None:
    """What to do when another server listens on HOST:PORT; None when it is free."""
    free = next(port for port in range(server.port, 65536) if not _taken(server.host, port))
    if free == server.port:
        return None
    return f"port {server.port} is taken (a server listens there): stop it, or PORT={free} make run"


def listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=1024)


def _taken(host: str, port: int) -> bool:
    try:
        listen(host, port).close()
    except OSError as error:
        return error.errno == errno.EADDRINUSE  # another error: the API's to say
    return False


def main() -> int:
    try:
        server = Server.from_env()
    except ConfigError as error:
        print(f"cannot serve: {error}", file=sys.stderr)
        return 2
    if (clash := port_clash(server)) is not None:
        print(f"cannot serve: {clash}", file=sys.stderr)
        return 2
    print(f"http://{server.host}:{server.port}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
