"""OHLCV bars from any CSV file with the canonical columns (headers in any case, `date` or
`time` for `timestamp`, UTC unless an offset says otherwise). Its interval is read from its
timestamps; a coarser one asked for is aggregated. A file may hold many pairs, a `symbol`
column naming each row's (`python -m cryptopredict.data.csvfile FILE` lists them).
"""

from __future__ import annotations

import functools
import gzip
import zlib
from collections.abc import Collection
from pathlib import Path

import pandas as pd

from cryptopredict.assets import Asset
from cryptopredict.candles import UNIT_SECONDS, Interval
from cryptopredict.data.errors import SourceError
from cryptopredict.data.frame import BarQuery, Bars, make_frame, resample

NAME = "csv"
SYMBOL = "symbol"  # the column naming each row's pair in a file of many pairs (long format)


def read_ohlcv_csv(
    path: Path, source: str = NAME, *, pair: Collection[str] | None = None
) -> pd.DataFrame:
    """The bars of a CSV file; of a file of many pairs, those of the pair any of `pair` names."""
    raw = _read_csv(Path(path), source)
    if SYMBOL in raw.columns:
        if not pair:
            raise SourceError(source, f"{path} holds many pairs (a `symbol` column): name one")
        wanted = {name.upper() for name in pair}
        raw = raw[raw[SYMBOL].str.upper().isin(wanted)].drop(columns=SYMBOL)
        if raw.empty:
            raise SourceError(source, _no_such_pair(path, wanted, source))
    return make_frame(raw)


SHOWN_PAIRS = 8  # pairs an error names; the command it gives lists them all


def _no_such_pair(path: Path, wanted: Collection[str], source: str) -> str:
    held = pair_symbols(path, source)
    some = ", ".join(held[:SHOWN_PAIRS]) + (", ..." if len(held) > SHOWN_PAIRS else "")
    return (
        f"{path} holds no bars of {' or '.join(sorted(wanted))}; it holds {len(held)} pairs "
        f"({some}; `python -m cryptopredict.data.csvfile {path}` lists them)"
    )


def pair_symbols(path: Path, source: str = NAME) -> list[str]:
    """The pairs a file of many pairs holds, by its `symbol` column (none: one pair's file)."""
    raw = _read_csv(Path(path), source)
    return sorted(raw[SYMBOL].unique()) if SYMBOL in raw.columns else []


def _read_csv(path: Path, source: str) -> pd.DataFrame:
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise SourceError(source, f"no such file: {path}") from None
    return _parsed(path, stat.st_mtime_ns, stat.st_size, source).copy()


@functools.lru_cache(maxsize=4)
def _parsed(path: Path, mtime_ns: int, size: int, source: str) -> pd.DataFrame:
    """The file's columns, in lower case; kept while the file is unchanged (one parse a file)."""
    try:
        raw = pd.read_csv(path, dtype={SYMBOL: str})
    except FileNotFoundError:
        raise SourceError(source, f"no such file: {path}") from None
    except (
        pd.errors.ParserError,
        pd.errors.EmptyDataError,
        UnicodeDecodeError,
        EOFError,
        gzip.BadGzipFile,
        zlib.error,
    ) as error:
        raise SourceError(source, f"cannot read {path} as CSV: {error}") from None
    raw.columns = [str(name).strip().lower() for name in raw.columns]
    named = [name for name in ("timestamp", "date", "time") if name in raw.columns]
    return raw.rename(columns={named[0]: "timestamp"}) if named else raw


class CsvSource:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        # The artifact records the source: its base name, never where it lay on this machine.
        self.name = f"{NAME}:{self.path.name}"

    def fetch(self, query: BarQuery) -> pd.DataFrame:
        frame = read_ohlcv_csv(self.path, self.name, pair=pair_names(query.asset))
        held = bar_interval(frame) or query.interval
        if not query.interval.is_multiple_of(held):
            raise SourceError(
                self.name,
                f"{self.path} holds {held} bars of {query.asset.symbol} (read from its "
                f"timestamps), not {query.interval}: train with --interval {held}, or a "
                f"multiple of it",
            )
        return as_queried(frame, held, query, self.name)

    def interval(self, asset: Asset) -> Interval | None:
        return bar_interval(read_ohlcv_csv(self.path, self.name, pair=pair_names(asset)))


def as_queried(frame: pd.DataFrame, held: Interval, query: BarQuery, source: str) -> pd.DataFrame:
    """Bars of `held`'s interval at the query's (its complete candles), within its span."""
    if held != query.interval:
        bars = Bars(frame, query.asset.symbol, held, source)
        candles, complete = resample(bars, query.interval)
        frame = candles.frame[complete]
    return frame[(frame["timestamp"] >= query.start) & (frame["timestamp"] < query.end)]


def bar_interval(frame: pd.DataFrame) -> Interval | None:
    """The most common step between `frame`'s bars (None: fewer than two bars)."""
    steps = frame["timestamp"].drop_duplicates().sort_values().diff().dropna()
    if steps.empty:
        return None
    seconds = int(steps.mode().iloc[0].total_seconds())
    for unit in ("w", "d", "h", "m"):
        if seconds % UNIT_SECONDS[unit] == 0:
            return Interval(seconds // UNIT_SECONDS[unit], unit)
    raise SourceError(NAME, f"bars {seconds} s apart: no interval in whole minutes")


def pair_names(asset: Asset) -> tuple[str, ...]:
    """What a file of many pairs may call the pair in its `symbol` column: never a name in
    another quote currency (Binance's SOLUSDT is no SOL/USD)."""
    names = (asset.binance_symbol, asset.slug, asset.symbol, asset.alpaca_symbol)
    quote = asset.symbol.split("/")[1]
    return tuple(name for name in names if name.upper().replace("-", "/").endswith(quote))


if __name__ == "__main__":
    import sys

    for listed in sys.argv[1:]:
        print("\n".join(pair_symbols(Path(listed))) or f"{listed}: one pair (no `symbol` column)")
