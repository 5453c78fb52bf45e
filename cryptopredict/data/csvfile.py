"""OHLCV bars from any CSV file with the canonical columns, so users can bring their own data.

Header names are case-insensitive; `date` or `time` stands in for `timestamp`. Times without an
offset are read as UTC. A file may hold many pairs in long format, a `symbol` column naming each
row's pair (`BTCUSDT`, or the pair's slug or symbol): each pair reads its own rows.
"""

from __future__ import annotations

import functools
import gzip
import zlib
from collections.abc import Collection
from pathlib import Path

import pandas as pd

from cryptopredict.assets import Asset
from cryptopredict.data.errors import SourceError
from cryptopredict.data.frame import make_frame
from cryptopredict.data.query import BarQuery

NAME = "csv"


SYMBOL = "symbol"  # the column naming each row's pair in a file of many pairs (long format)


def read_ohlcv_csv(
    path: Path, source: str = NAME, *, pair: Collection[str] | None = None
) -> pd.DataFrame:
    """The bars of a CSV file. A file of many pairs (a `symbol` column, e.g. BTCUSDT) gives the
    rows of the pair named by any of `pair` (its symbols, in any case)."""
    raw = _read_csv(Path(path), source)
    if SYMBOL in raw.columns:
        if not pair:
            raise SourceError(source, f"{path} holds many pairs (a `symbol` column): name one")
        wanted = {name.upper() for name in pair}
        raw = raw[raw[SYMBOL].str.upper().isin(wanted)].drop(columns=SYMBOL)
        if raw.empty:
            raise SourceError(source, f"{path} holds no bars of {' or '.join(sorted(wanted))}")
    return make_frame(raw)


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
    """The file's columns, named in lower case; kept while the file is unchanged, so that each
    pair of a file of many pairs does not parse it again."""
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
    if "timestamp" not in raw.columns:
        for other in ("date", "time"):
            if other in raw.columns:
                raw = raw.rename(columns={other: "timestamp"})
                break
    return raw


class CsvSource:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        # The artifact records the source: its base name, never where it lay on this machine.
        self.name = f"{NAME}:{self.path.name}"

    def fetch(self, query: BarQuery) -> pd.DataFrame:
        frame = read_ohlcv_csv(self.path, self.name, pair=pair_names(query.asset))
        return frame[(frame["timestamp"] >= query.start) & (frame["timestamp"] < query.end)]


def pair_names(asset: Asset) -> tuple[str, ...]:
    """What a file of many pairs may call the pair in its `symbol` column."""
    return (asset.binance_symbol, asset.slug, asset.symbol, asset.alpaca_symbol)
