"""Serving a model directory that training still writes into (`make run`): a thread
watches `index.json`, `run.json` and the track record's index (three `stat`s a second) and, when
one changes, swaps in a new application built over the artifacts listed then (its `/metrics`
start again from zero). A request in flight finishes on the application it started on; one that
cannot be built is logged, and the one serving stays."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from flask import Flask

from cryptopredict.artifact.arrays import ArtifactError
from cryptopredict.artifact.index import INDEX
from cryptopredict.artifact.record import INDEX as RECORD_INDEX
from cryptopredict.artifact.record import record_dir
from cryptopredict.artifact.run import RUN

if TYPE_CHECKING:
    from cryptopredict.api.serving.catalog import Catalog

log = logging.getLogger(__name__)

CHECK_SECONDS = 1.0


class Reloading:
    """`Reloading.wsgi`, a Flask application whose `wsgi_app` is the one `build()` made last."""

    def __init__(
        self, build: Callable[[], Flask], model_dir: Path, *, every: float = CHECK_SECONDS
    ) -> None:
        self.build = build
        self.files = (model_dir / INDEX, model_dir / RUN, record_dir(model_dir) / RECORD_INDEX)
        self.every = every
        self.seen = self._signature()  # before building: a change meanwhile is seen next
        self.app = build()
        self.wsgi = Flask(__name__)
        self.wsgi.wsgi_app = self.app.wsgi_app  # type: ignore[method-assign]
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._watch, name="reload-artifacts", daemon=True)

    @property
    def catalog(self) -> Catalog:
        return self.app.extensions["cryptopredict"]["catalog"]

    def start(self) -> Reloading:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()

    def check(self) -> bool:
        """Whether a new application was swapped in: the index or the run's record changed."""
        now = self._signature()
        if now == self.seen:
            return False
        try:
            app = self.build()
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
    try:
        found = file.stat()
    except OSError:
        return None
    return found.st_ino, found.st_mtime_ns, found.st_size
