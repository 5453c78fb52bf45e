"""Serving a model directory that training is still writing into (`train.py --serve`, `make
run`): each pair joins when its artifact is written, and a pair retrained is served anew.

The server runs `Reloading.wsgi`: a Flask application with no routes of its own whose
`wsgi_app` (Flask's place for the WSGI layer) is the serving application's. A thread of its own
watches the model directory's `index.json` (every artifact written replaces it:
`install_artifact`) and `run.json` (what the run that ended recorded: the pairs it could not
train, which `/healthz` names), and when either changes builds a new application over the
artifacts now listed and swaps its `wsgi_app` in; a request in flight finishes on the
application it started on, and a request runs no code of this module. An application that cannot be
built (the new index unreadable, say) is logged, and the one serving stays. Nothing else
changes in a model directory that is not being written to: the thread reads two `stat`s a
second.

Each application is built whole, as at start-up (`create_app`), so its counters in `/metrics`
start again from zero when the artifacts change.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from flask import Flask

from cryptopredict.artifact.arrays import ArtifactError
from cryptopredict.artifact.index import INDEX
from cryptopredict.artifact.run import RUN

if TYPE_CHECKING:
    from cryptopredict.api.serving.catalog import Catalog

log = logging.getLogger(__name__)

CHECK_SECONDS = 1.0


class Reloading:
    """The application `build()` makes (`create_app` over the artifacts listed now), made again
    whenever the model directory's index changes."""

    def __init__(
        self, build: Callable[[], Flask], model_dir: Path, *, every: float = CHECK_SECONDS
    ) -> None:
        self.build = build
        self.files = (Path(model_dir) / INDEX, Path(model_dir) / RUN)
        self.every = every
        self.seen = self._signature()  # before building: a change meanwhile is seen next
        self.app = build()
        self.wsgi = Flask(__name__)
        self.wsgi.wsgi_app = self.app.wsgi_app  # type: ignore[method-assign]
        self.setups: list[Callable[[Flask], None]] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._watch, name="reload-artifacts", daemon=True)

    @property
    def catalog(self) -> Catalog:
        """What the application serving now serves."""
        return self.app.extensions["cryptopredict"]["catalog"]

    def each_app(self, setup: Callable[[Flask], None]) -> None:
        """Apply `setup` to the application serving now and to each one built after it (what
        needs the server, built after the first application: its connection counts)."""
        self.setups.append(setup)
        setup(self.app)

    def start(self) -> Reloading:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()

    def check(self) -> bool:
        """Swap in a new application if the index or the run's record changed since the last
        look; whether it did."""
        now = self._signature()
        if now == self.seen:
            return False
        try:
            app = self.build()
            for setup in self.setups:
                setup(app)
        except ArtifactError as error:
            log.error(
                "the artifacts changed but cannot be served (%s); serving the previous", error
            )
            return False
        finally:
            self.seen = now
        self.app = app
        self.wsgi.wsgi_app = app.wsgi_app  # type: ignore[method-assign]
        log.info("the artifacts changed: serving them now")
        return True

    def _signature(self) -> tuple[tuple[int, int, int] | None, ...]:
        return tuple(_signature(file) for file in self.files)

    def _watch(self) -> None:
        while not self.stopped.wait(self.every):
            self.check()


def _signature(file: Path) -> tuple[int, int, int] | None:
    """What changes when the index is replaced (a new file renamed over it) or rewritten."""
    try:
        found = file.stat()
    except OSError:
        return None
    return found.st_ino, found.st_mtime_ns, found.st_size
