"""The API as a child process of training (`train.py --serve`, `make run`): `python api.py`
(HAProxy in front of Waitress, and the market feed where set) over the directory training
writes into, started before training (503 `still_training` with the progress until a pair is
written), its port checked first (`port_clash`); it serves every pair written as it comes
(`cryptopredict.api.reloading`). Its log lines are passed on, but while training, without the
access log, those of the requests it refused (503: still training), which are counted.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from cryptopredict.config import Server

API_PY = Path(__file__).resolve().parents[2] / "api.py"  # beside the package, as in the image

log = logging.getLogger(__name__)

STOP_SECONDS = 30.0
# How the server ends when asked to stop: 0, or by the signal (or 130: Ctrl-C during its
# imports) when it came before the server had started.
STOPPED = (0, 130, -signal.SIGINT, -signal.SIGTERM)
REFUSED = " status=503 "  # in the proxy's line of a request it answered so (haproxy.cfg)


class ApiProcess:
    """`python api.py` serving `model_dir`, started at once; each refusal told to `refused`."""

    def __init__(self, model_dir: Path, refused: Callable[[], None]) -> None:
        self.refused = None if Server.from_env().access_log else refused  # None: said too
        self.url = ""  # where it serves, once it says
        # Started with Ctrl-C held, which its server takes once it can (api/server.py's Stop):
        # one that came while Python started would end it with a traceback of CPython's.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            self.process = subprocess.Popen(
                [sys.executable, str(API_PY)],
                env={**os.environ, "MODEL_DIR": str(model_dir)},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                bufsize=1,
            )
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        self.reader = threading.Thread(target=self._pass_on, name="api-lines", daemon=True)
        self.reader.start()

    def _pass_on(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if self.refused is not None and REFUSED in line:
                self.refused()
                continue
            sys.stderr.write(line)
            self.url = self.url or next(iter(re.findall(r"serving on (http://\S+)", line)), "")
        status = self.process.wait()
        if status not in STOPPED:
            log.error(
                "the API stopped (status %d, why above); training goes on, and `make serve` "
                "serves what it writes",
                status,
            )

    def wait(self) -> int:
        """Until the server stops (Ctrl-C); its exit status."""
        status = self.process.wait()
        self.reader.join()
        return status

    def stop(self) -> None:
        """Ask the server to drain and stop (it stops by itself on Ctrl-C, as this process)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.reader.join()  # its last lines written


def port_clash(server: Server) -> str | None:
    """What to do when another server listens on HOST:PORT; None when it is free."""
    free = next(port for port in range(server.port, 65536) if not _taken(server.host, port))
    if free == server.port:
        return None
    return f"port {server.port} is taken (a server listens there): stop it, or PORT={free} make run"


def _taken(host: str, port: int) -> bool:
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET  # as the API listens
        socket.create_server((host, port), family=family).close()
    except OSError as error:
        return error.errno == errno.EADDRINUSE  # another error: the API's to say
    return False
