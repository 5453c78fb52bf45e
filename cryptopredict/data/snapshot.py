"""The real market data embedded under `data/` (`data/PROVENANCE.md`): the fallback that always
answers. A pair's own files are `<asset>-<interval>.csv.gz`; other `*-<interval>.csv.gz` files
hold many pairs (a `symbol` column). An interval without a file is aggregated from a finer one.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pandas as pd

from cryptopredict.artifact.schema import INTERVAL_PATTERN
from cryptopredict.assets import Asset, asset_for_symbol, slug_for_binance
from cryptopredict.candles import Interval
from cryptopredict.data.csvfile import SYMBOL, as_queried, pair_names, pair_symbols, read_ohlcv_csv
from cryptopredict.data.errors import SourceError
from cryptopredict.data.frame import BarQuery

NAME = "snapshot"
DATA_DIR = Path(__file__).resolve().parents[2] / "data"


class SnapshotSource:
    name = NAME

    def __init__(self, data_dir: Path = DATA_DIR) -> None:
        self.data_dir = Path(data_dir)

    def fetch(self, query: BarQuery) -> pd.DataFrame:
        interval, path = self._file_for(query)
        frame = read_ohlcv_csv(path, NAME, pair=pair_names(query.asset))
        return as_queried(frame, interval, query, NAME)

    def files(self, asset: Asset) -> list[tuple[Interval, Path]]:
        """Every file of the pair's bars, with its interval: its own, then shared, finest first."""
        wanted = {name.upper() for name in pair_names(asset)}
        own, shared = [], []
        for slug, interval, path in self._files():
            if slug == asset.slug:
                own.append((interval, path))
            elif slug is None and wanted & set(pair_symbols(path, NAME)):
                shared.append((interval, path))
        return sorted(own, key=_seconds) + sorted(shared, key=_seconds)

    def own_pairs(self) -> list[str]:
        return sorted({slug for slug, _, _ in self._files() if slug is not None})

    def slugs(self) -> list[str]:
        """Every pair embedded, by its slug: those with files of their own, then the others as
        Binance names them (`sol-usdt`), each once."""
        own = self.own_pairs()
        theirs = {asset_for_symbol(slug).binance_symbol for slug in own}
        shared = {slug_for_binance(symbol) for symbol in self.pairs() if symbol not in theirs}
        return own + sorted(shared)

    def pairs(self) -> list[str]:
        """The Binance symbols of every pair the files of many pairs hold."""
        shared = [path for slug, _, path in self._files() if slug is None]
        return sorted({symbol for path in shared for symbol in pair_symbols(path, NAME)})

    def _files(self) -> list[tuple[str | None, Interval, Path]]:
        """Every `<name>-<interval>.csv.gz`: its pair's slug (None: a file of many pairs)."""
        found = []
        for path in sorted(self.data_dir.glob("*-*.csv.gz")):
            name, interval = path.name.removesuffix(".csv.gz").rsplit("-", 1)
            if re.match(INTERVAL_PATTERN, interval):
                with gzip.open(path, "rt") as file:  # a `symbol` column: a file of many pairs
                    shared = file.readline().strip().lower().split(",")[0] == SYMBOL
                found.append((None if shared else name, Interval.parse(interval), path))
        return found

    def _file_for(self, query: BarQuery) -> tuple[Interval, Path]:
        available = self.files(query.asset)
        usable = [each for each in available if query.interval.is_multiple_of(each[0])]
        if not available:
            theirs = query.asset.binance_symbol  # in another quote: SOLUSDT for SOL/USD
            slug = slug_for_binance(theirs) if theirs in self.pairs() else None
            only = f", only {asset_for_symbol(slug).symbol} (ASSETS={slug})" if slug else ""
            raise SourceError(
                NAME,
                f"the embedded data holds no {query.asset.symbol}{only}; it holds "
                f"{', '.join(self.slugs())}",
            )
        if not usable:
            have = ", ".join(sorted({str(interval) for interval, _ in available}))
            raise SourceError(
                NAME, f"no {query.interval} data for {query.asset.symbol} (embedded: {have})"
            )
        # A pair's own file wins over a file of many pairs; among its own, the coarsest usable.
        own = [each for each in usable if each[1].name.startswith(f"{query.asset.slug}-")]
        return own[-1] if own else usable[0]


def _seconds(each: tuple[Interval, Path]) -> int:
    return each[0].seconds
