"""Progress bars for long training steps, with tqdm's estimate of the time left.

On a terminal the bar redraws in place; in a log (CI, `make run` piped) it prints a line at
most every 30 seconds, so a long backtest is never silent and never floods the log.
"""

from __future__ import annotations

import sys

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
