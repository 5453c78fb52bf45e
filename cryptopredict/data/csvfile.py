"""OHLCV bars from any CSV file with the canonical columns, so users can bring their own data.

Header names are case-insensitive; `date` stands in for `timestamp` in daily files. Times without
an offset are read as UTC.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import pandas as pd

from cryptopredict.data.errors import SourceError
from cryptopredict.data.frame import make_frame
from cryptopredict.data.query import BarQuery

NAME = "csv"


def read_ohlcv_csv(path: Path, source: str = NAME) -> pd.DataFrame:
    try:
        raw = pd.read_csv(path)
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
    if "timestamp" not in raw.columns and "date" in raw.columns:
        raw = raw.rename(columns={"date": "timestamp"})
    return make_frame(raw)


class CsvSource:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.name = f"{NAME}:{self.path}"

    def fetch(self, query: BarQuery) -> pd.DataFrame:
        frame = read_ohlcv_csv(self.path, self.name)
        return frame[(frame["timestamp"] >= query.start) & (frame["timestamp"] < query.end)]
