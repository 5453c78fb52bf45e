"""Progress of long fetches: a bar on a terminal, plain log lines otherwise."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tqdm import tqdm

log = logging.getLogger(__name__)


@contextmanager
def progress(total: int, description: str) -> Iterator[Callable[[], None]]:
    """A function to call once per finished step."""
    if sys.stderr.isatty():
        with tqdm(total=total, desc=description, unit="page", leave=False) as bar:
            yield lambda: bar.update(1)
        return
    done = 0

    def advance() -> None:
        nonlocal done
        done += 1
        log.info("%s: %d/%d pages", description, done, total)

    yield advance
