"""The real market data embedded under `data/`: the fallback that always answers.

Files are named `<asset>-<interval>.csv.gz`; `data/PROVENANCE.md` says where every row came from.
An interval without its own file is aggregated from a finer one that divides it, keeping only
complete bars.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cryptopredict.candles import Interval
from cryptopredict.data.csvfile import read_ohlcv_csv
from cryptopredict.data.errors import SourceError
from cryptopredict.data.frame import Bars, resample
from cryptopredict.data.query import BarQuery

NAME = "snapshot"
DATA_DIR = Path(__file__).resolve().parents[2] / "data"


class SnapshotSource:
    name = NAME

    def __init__(self, data_dir: Path = DATA_DIR) -> None:
        self.data_dir = Path(data_dir)

    def fetch(self, query: BarQuery) -> pd.DataFrame:
        interval, path = self._file_for(query)
        frame = read_ohlcv_csv(path, NAME)
        if interval != query.interval:
            bars = Bars(frame, query.asset.symbol, interval, NAME)
            candles, complete = resample(bars, query.interval)
            frame = candles.frame[complete]
        return frame[(frame["timestamp"] >= query.start) & (frame["timestamp"] < query.end)]

    def intervals(self, slug: str) -> list[Interval]:
        names = (
            path.name.removeprefix(f"{slug}-") for path in self.data_dir.glob(f"{slug}-*.csv.gz")
        )
        return sorted(
            (Interval.parse(name.removesuffix(".csv.gz")) for name in names),
            key=lambda interval: interval.seconds,
        )

    def _file_for(self, query: BarQuery) -> tuple[Interval, Path]:
        available = self.intervals(query.asset.slug)
        usable = [each for each in available if query.interval.is_multiple_of(each)]
        if not usable:
            have = ", ".join(map(str, available)) or "none"
            raise SourceError(
                NAME, f"no {query.interval} data for {query.asset.symbol} (embedded: {have})"
            )
        chosen = usable[-1]
        return chosen, self.data_dir / f"{query.asset.slug}-{chosen}.csv.gz"
