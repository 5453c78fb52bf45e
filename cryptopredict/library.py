"""cryptopredict as a library, with statsforecast's verbs: `fit(frame)` trains the product's model
on one's own prices, `predict(h, level=[...])` its path; `cross_validation()` is every origin the
panel scores, its peers' bands read from the file the panel wrote (only tools/ computes them)."""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cryptopredict.artifact.schema import LEVELS, ModelConfig
from cryptopredict.artifact.write import install_artifact
from cryptopredict.assets import ASSETS, asset_for_symbol, slug_for_binance
from cryptopredict.candles import Interval
from cryptopredict.config import TrainingSettings
from cryptopredict.data.csvfile import bar_interval
from cryptopredict.data.frame import Bars, check_frame, make_frame
from cryptopredict.data.history import History
from cryptopredict.data.validation import validate
from cryptopredict.model.panel_choice import INTERVAL
from cryptopredict.model.plan import HORIZONS, SERVED, SPLITS
from cryptopredict.table import forecasts
from cryptopredict.training import steps
from cryptopredict.training.cluster import training_client
from cryptopredict.training.tasks import Fetch, FetchSettings, PairJob

ROOT = Path(__file__).parents[1]
PAIRS_CSV = ROOT / "data/binance-spot-16pairs-1h-full.csv.gz"
PEERS = ROOT / "docs/panel_peers.parquet"
PEER_UNIT = 1e-5  # the peers' band edges in that file: log offsets from the close, in these
BTC = "BTC/USD"  # its own history beside the spot pairs': scored by the panel, never pooled
# The backtest's columns as a model's own (statsforecast's names: `served`, `served-lo-80`).
SIDES = {"lower": "lo", "upper": "hi"}
NAMES = {"yhat": "", **{f"{w}_{n}": f"-{side}-{n}" for n in LEVELS for w, side in SIDES.items()}}


@dataclass(frozen=True)
class Fitted:
    directory: tempfile.TemporaryDirectory  # the model's artifact, removed with it
    interval: Interval

    def predict(self, h: int | str, level: Sequence[int] = LEVELS) -> pd.DataFrame:
        """The path `h` bars (or a span, e.g. "7d") past the data's end, a row per bar, with the
        band at each `level` (1 to 99): `cryptopredict.forecasts()`'s columns."""
        span = h if isinstance(h, str) else f"{h * self.interval.amount}{self.interval.unit}"
        return forecasts(horizon=span, level=level, model_dir=Path(self.directory.name))


def fit(frame: pd.DataFrame, pair: str = "own-usd") -> Fitted:
    """The model of `frame`'s bars (their time in `ds` or `timestamp`, their close in `y` or
    `close`, their open, high, low and volume where known), named `pair`, at their interval.
    ValueError where the times are unsorted, repeat or skip a bar, a price is not positive or
    the history is too short, naming the first such row."""
    settings = TrainingSettings.from_env()
    rules = dataclasses.replace(FetchSettings.of(settings), require_fresh_hours=None).settings()
    asset, raw = asset_for_symbol(pair), frame.rename(columns={"ds": "timestamp", "y": "close"})
    prices = {name: raw.get(name, raw.get("close")) for name in ("open", "high", "low")}
    try:
        bars = make_frame(raw.assign(**prices, volume=raw.get("volume", 0.0)))
        check_frame(bars)  # sorted, none repeated
        interval = bar_interval(bars) or Interval(1, "h")
        history = History(*validate(Bars(bars, asset.symbol, interval, "frame"), rules), ())
        gaps = history.report.gaps
        if gaps.count:
            raise ValueError(f"{gaps.count} gaps, the largest after {gaps.largest_after}")
        files = steps.train(PairJob(asset, history, settings, settings.max_horizon_days)).files
    except steps.FINAL as error:
        raise ValueError(f"{pair}: {error}") from None
    directory = tempfile.TemporaryDirectory(prefix="cryptopredict-")
    install_artifact(Path(directory.name), asset.slug, files)
    return Fitted(directory, interval)


def cross_validation(pairs: Sequence[str] = ()) -> pd.DataFrame:
    """A row per origin of `pairs` (default: every pair of docs/panel.json) that the panel scores
    and horizon it scores: `unique_id`, `cutoff` (the close it starts from), `ds` (`horizon`
    later), the origin's `split` (`SPLITS`), `y` (the close at `ds`), the served band's and
    naive's point and 50, 80 and 95% bands, each peer's 80% band and point (the close; at 1h, 1d
    and 7d on the evaluation origins and the final test). It reads a checkout's data/."""
    if not PEERS.exists():  # an installed copy, without docs/ and data/
        raise ValueError(
            "cross_validation() reads the panel's data/*.csv.gz and docs/panel_peers.parquet, "
            f"which {ROOT} lacks: run it in a clone of the repository (pip install -e '.[train]')"
        )
    peers = pd.read_parquet(PEERS).rename(columns={"pair": "unique_id"})
    known = [*peers["unique_id"].unique(), BTC]
    if not set(pairs) <= set(known):
        raise ValueError(f"{', '.join(pairs)}: the panel scores {', '.join(known)}")
    settings = TrainingSettings.from_env()
    with training_client(settings) as client:
        done = client.map(pair_origins, list(pairs) or known, settings=settings, pure=False)
        frame = pd.concat(client.gather(done), ignore_index=True)
    peers["cutoff"] = pd.to_datetime(peers.pop("origin"), unit="s", utc=True) + INTERVAL
    frame = frame.merge(peers, "left", on=["unique_id", "cutoff", "horizon"])
    edges = [column for column in peers if column.endswith("-80")]
    frame[edges] = np.exp(frame[edges].astype(float) * PEER_UNIT).mul(frame["naive"], axis=0)
    lows = edges[::2]  # each peer's point, where it has a band: the close
    points = {low.removesuffix("-lo-80"): frame["naive"].where(frame[low].notna()) for low in lows}
    return frame.assign(**points)


def pair_origins(name: str, settings: TrainingSettings) -> pd.DataFrame:
    """The pair's backtest at the product's configuration (the panel's damping) and the panel's
    band: a row per origin of its `SPLITS` and horizon, each model's columns beside the others."""
    tested = steps.backtest(dataclasses.replace(panel_job(name, settings), config=None))
    rows = tested.scores.replace({"model": {SERVED: "served"}})
    times = rows["origin"].to_numpy()
    rows["split"] = np.select(tested.dense.plan.splits(times, tested.dense.market.t), SPLITS, "")
    rows["cutoff"] = pd.to_datetime(rows["origin"], unit="s", utc=True) + INTERVAL
    rows["ds"] = rows["cutoff"] + rows["horizon"].map(HORIZONS)
    rows = rows[rows["split"] != ""].assign(unique_id=name)
    index = ["unique_id", "cutoff", "ds", "horizon", "split", "actual"]
    wide = rows.pivot(index=index, columns="model", values=list(NAMES))
    wide = wide.swaplevel(axis=1)[["served", "naive"]]
    wide.columns = [f"{model}{NAMES[column]}" for model, column in wide.columns]
    return wide.reset_index().rename(columns={"actual": "y"})


def panel_job(name: str, settings: TrainingSettings, csv: Path = PAIRS_CSV) -> PairJob:
    """One of the panel's pairs (a symbol of `csv`, or BTC/USD) read as training reads it, with
    the product's plan (Plan()), its damping left to the panel (tau unset)."""
    asset = ASSETS["btc-usd"] if name == BTC else asset_for_symbol(slug_for_binance(name))
    path = ROOT / "data/btc-usd-1h.csv.gz" if name == BTC else csv.absolute()
    bars = Fetch("1h", "2017-01-01", "auto", path, FetchSettings.of(settings))  # every bar
    return PairJob(asset, bars, settings, settings.max_horizon_days, config=ModelConfig())
