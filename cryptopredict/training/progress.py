"""Progress bars for long training steps, with tqdm's estimate of the time left.

On a terminal the bar redraws in place; in a log (CI, `make run` piped) it prints a line at
most every 30 seconds, so a long backtest is never silent and never floods the log.
"""

from __future__ import annotations

import sys
import threading

from tqdm import tqdm


def progress(total: int, description: str, unit: str, *, position: int = 0) -> tqdm:
    terminal = sys.stderr.isatty()
    return tqdm(
        total=total,
        desc=description,
        unit=unit,
        file=sys.stderr,
        mininterval=0.5 if terminal else 30.0,
        leave=position == 0,
        position=position,
        dynamic_ncols=terminal,
    )


class PairProgress:
    """One bar over the run's pairs, its total known from the start, and a line for each pair
    as it finishes (printed above the bar)."""

    def __init__(self, total: int) -> None:
        self.bar = progress(total, "training", "pair")
        self.lock = threading.Lock()

    def say(self, text: str) -> None:
        with self.lock:
            self.bar.write(text)

    def done(self) -> None:
        with self.lock:
            self.bar.update(1)

    def close(self) -> None:
        self.bar.close()
