"""The contract between training and serving: write, read and verify a model artifact.

An artifact is a directory `<out>/<asset>/` holding:

- `model.pkl`: the fitted Prophet model, pickled: the product's model, for anyone who wants to
  load it with Prophet (`Artifact.load_model`); serving never unpickles it;
- `grid.npy`: the served forecast from the first stored bar to the last bar + the horizon
  (`MAX_HORIZON_DAYS`): every date the API answers. Each knot holds the point forecast, its
  central band at every level of `LEVELS`, and how long before it the last bar it had seen
  came: inside the history a hindcast, past it the forecast. Knots run at the data's interval
  to 30 days past the last bar, then daily (`cryptopredict.arrays` describes the layout);
- `history.npy`: every validated bar the training run had (`BarHistory`), which the API serves
  as the actual price and aggregates into candles;
- `backtest.json`: the backtest report;
- `manifest.json`: what the model is, what it was trained on, and a sha256 for every other file
  (`Manifest`).

Beside the artifacts, `index.json` lists them (`cryptopredict.artifact_index`).

`open_artifact` checks the manifest and the digests of the arrays, and memory-maps them without
reading them; `load_artifact` also checks every value and the other files. Anything wrong is an
ArtifactError naming the file and the field. This module imports neither Prophet nor pandas:
serving reads artifacts with numpy and msgspec alone.
"""

from __future__ import annotations

import errno
import hashlib
import importlib.metadata
import io
import json
import logging
import math
import os
import pickle
import shutil
import stat
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from dataclasses import MISSING, dataclass, field, fields, replace
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import msgspec

from cryptopredict.arrays import (
    DEFAULT_LEVEL,
    GRID_ARRAYS,
    HISTORY_ARRAYS,
    LEVELS,
    ArtifactError,
    BarHistory,
    Grid,
    StoredGrid,
    check_grid,
    check_history,
    encode_grid,
    encode_history,
    history_of,
    open_table,
    stored_grid,
)
from cryptopredict.artifact_index import INDEX, IndexEntry, artifact_dirs, read_index, record
from cryptopredict.atomic import fsync
from cryptopredict.candles import PATTERN as INTERVAL_PATTERN
from cryptopredict.candles import Interval, IntervalError
from cryptopredict.postprocess import Postprocess

__all__ = [
    "DEFAULT_LEVEL",
    "GRID_ARRAYS",
    "HISTORY_ARRAYS",
    "LEVELS",
    "Artifact",
    "ArtifactError",
    "ArtifactStore",
    "BacktestReport",
    "BacktestSummary",
    "BandCandidate",
    "BandChoice",
    "BandSetting",
    "BarHistory",
    "Boundary",
    "Comparison",
    "DampingCandidate",
    "DampingChoice",
    "DataSummary",
    "Gaps",
    "Grid",
    "HindcastCoverage",
    "Horizon",
    "HorizonScores",
    "IndexEntry",
    "Manifest",
    "MixChoice",
    "MixScores",
    "ModelParams",
    "ModelScores",
    "NaiveBand",
    "PastForecast",
    "PerHorizon",
    "PoolChoice",
    "PoolScores",
    "Record",
    "Repair",
    "ServedBand",
    "ServedParts",
    "Settled",
    "TrainingWindow",
    "ValidationReport",
    "WidthFifth",
    "index_artifacts",
    "load_artifact",
    "load_artifacts",
    "open_artifact",
    "open_artifacts",
    "write_artifact",
]

# 2: history.npz holds every bar's OHLCV and VWAP, not the close alone.
# 3: the grid holds each row's origin and a band at every level of LEVELS; manifest `levels`.
# 4: grid.npy and history.npy, memory-mapped: the grid at the data's interval to 30 days past
#    the last bar, then daily; bands as float32 log offsets; each knot's lead, not its origin.
SCHEMA_VERSION = 4
MANIFEST = "manifest.json"
MODEL = "model.pkl"
GRID = "grid.npy"
HISTORY = "history.npy"
BACKTEST = "backtest.json"

log = logging.getLogger(__name__)

UtcTime = Annotated[datetime, msgspec.Meta(tz=True)]
Text = Annotated[str, msgspec.Meta(min_length=1)]


# The typed contract: what training writes into manifest.json and backtest.json, and what the
# gate, the report, the model card and the tests read. JSON keys are the field names (or the
# `name=` given); optional fields are left out while unset, as training always wrote them.


class Record(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A JSON object of the contract."""

    def to_builtins(self) -> dict[str, Any]:
        return msgspec.to_builtins(self, order="sorted")


class PerHorizon(Record, frozen=True):
    """A value at each standard horizon the data reaches."""

    h1: float | None = msgspec.field(default=None, name="1h")
    d1: float | None = msgspec.field(default=None, name="1d")
    d7: float | None = msgspec.field(default=None, name="7d")
    d30: float | None = msgspec.field(default=None, name="30d")


class WidthFifth(Record, frozen=True):
    """A band's coverage within one fifth of the origins by band width (log upper minus log
    lower), with its Newey-West standard error, and the widths the fifth spans."""

    coverage: float
    se: float
    n: int
    width_from: float
    width_to: float


class ModelScores(Record, frozen=True):
    """One model's scores over the evaluation origins at one horizon; the band's only for a
    model with a band. Levels are keyed by their percent as text ("50", "80", "95")."""

    n: int
    mape: float
    mae: float
    rmse: float
    coverage: float | None = None  # of the DEFAULT_LEVEL band
    coverage_by_level: dict[str, float] | None = None
    coverage_se_by_level: dict[str, float] | None = None
    # Per level, each fifth of the origins by band width, narrowest first.
    coverage_by_width_quintile: dict[str, tuple[WidthFifth, ...]] | None = None
    interval_score: float | None = None  # of the DEFAULT_LEVEL band
    interval_score_by_level: dict[str, float] | None = None
    quantile_score: float | None = None


class Comparison(Record, frozen=True):
    """The served model minus the naive one per origin, averaged, with Newey-West standard
    errors over `lags` overlapping origins (scores of a band only when both have one)."""

    n: int
    lags: int
    mape_diff: float
    mape_se: float
    interval_score_diff: float | None = None
    interval_score_se: float | None = None
    quantile_score_diff: float | None = None
    quantile_score_se: float | None = None

    def verdict(self) -> str | None:
        """The served band against naive's by the interval score: "better" or "worse" when
        the difference is beyond two standard errors, else "tie"; None when not scored."""
        diff, se = self.interval_score_diff, self.interval_score_se
        if diff is None or se is None:
            return None
        if abs(diff) <= 2 * se:
            return "tie"
        return "better" if diff < 0 else "worse"


class HorizonScores(Record, frozen=True):
    prophet: ModelScores | None = None  # the served model
    naive: ModelScores | None = None
    drift: ModelScores | None = None
    prophet_vs_naive: Comparison | None = None


class Boundary(Record, frozen=True):
    """Where validation ends and evaluation starts: every choice was made on outcomes known by
    `last_validation_outcome`, before the first evaluation origin."""

    first_validation_origin: UtcTime
    last_validation_outcome: UtcTime
    first_evaluation_origin: UtcTime


class BacktestSummary(Record, frozen=True):
    """The evaluation scores of the served model and the baselines, per horizon."""

    origins: int
    origin_step_hours: float
    refits: int
    interval_width: float
    levels: tuple[int, ...]
    boundary: Boundary
    h1: HorizonScores | None = msgspec.field(default=None, name="1h")
    d1: HorizonScores | None = msgspec.field(default=None, name="1d")
    d7: HorizonScores | None = msgspec.field(default=None, name="7d")
    d30: HorizonScores | None = msgspec.field(default=None, name="30d")

    def horizons(self) -> dict[str, HorizonScores]:
        """The horizons scored, by label ("1h", "1d", "7d", "30d"), shortest first."""
        found = {"1h": self.h1, "1d": self.d1, "7d": self.d7, "30d": self.d30}
        return {label: scores for label, scores in found.items() if scores is not None}


class DampingCandidate(Record, frozen=True):
    """A damping's MAPE per horizon of a day and more, and `ratio`, the mean over them of its
    MAPE relative to naive's."""

    tau: float | None  # hours; None: undamped
    ratio: float
    mape_1d: float | None = None
    mape_7d: float | None = None
    mape_30d: float | None = None


class DampingChoice(Record, frozen=True):
    chosen: float | None
    validation_origins: int
    candidates: tuple[DampingCandidate, ...]


class BandSetting(Record, frozen=True):
    """A band (cryptopredict.model.bands.BandSpec as written): every field, and its name."""

    kind: str
    window_days: float | None
    half_life_hours: float | None
    profile: bool
    drift: bool
    pool_days: int | None
    horizon_pools: tuple[tuple[int, int | None], ...]
    horizon_mix: tuple[tuple[int, float], ...]
    width_bins: int
    floor: float | None
    name: str


class ServedBand(BandSetting, kw_only=True, frozen=True):
    """The manifest's band: the setting served, and how the hindcast inside the history is made."""

    hindcast: str


class Settled(Record, frozen=True):
    """How one part of the served forecast was settled: `chosen` on the backtest's validation
    origins, `forced` (no choice could be made; nothing was compared), or `fixed` (set
    beforehand, with no comparison in this training); `why` says how, plainly."""

    how: Literal["chosen", "forced", "fixed"]
    why: str


class ServedParts(Record, frozen=True):
    """What is served, named for what it is: the point forecast (`point_forecast`), the band's
    method (`band_method`), and how the damping and the band were settled."""

    point_forecast: str
    band_method: str
    damping: Settled
    band: Settled


class BandCandidate(BandSetting, kw_only=True, frozen=True):
    """A band's scores on the validation origins, per horizon: its mean 80% interval score
    (`score_<h>`), that score relative to the naive band's within each fifth of the origins by
    the day before's volatility, averaged over the fifths (`calm_score_<h>`), and coverage
    (`coverage_<h>`); `score` is the mean of the calm scores over the horizons."""

    score: float
    score_1h: float | None = None
    score_1d: float | None = None
    score_7d: float | None = None
    score_30d: float | None = None
    calm_score_1h: float | None = None
    calm_score_1d: float | None = None
    calm_score_7d: float | None = None
    calm_score_30d: float | None = None
    coverage_1h: float | None = None
    coverage_1d: float | None = None
    coverage_7d: float | None = None
    coverage_30d: float | None = None


class PoolScores(PerHorizon, kw_only=True, frozen=True):
    days: int | None  # how far back calibration reaches (None: all past errors)


class MixScores(PerHorizon, kw_only=True, frozen=True):
    weight: float  # the empirical band's weight


class PoolChoice(Record, frozen=True):
    score: str  # what the candidates are scored by
    candidates: tuple[PoolScores, ...]
    chosen: dict[str, int | None]  # days, by horizon label


class MixChoice(Record, frozen=True):
    score: str
    candidates: tuple[MixScores, ...]
    chosen: dict[str, float]  # weight, by horizon label


class BandChoice(Record, frozen=True):
    chosen: BandSetting
    validation_origins: int
    candidates: tuple[BandCandidate, ...]
    pools: PoolChoice | None = None  # a scaled band's calibration pool per horizon
    mix: MixChoice | None = None  # a scaled band's weight of the empirical band per horizon


class HindcastCoverage(Record, frozen=True):
    """How often each level's served hindcast band held the close over the last `days`."""

    days: int
    bars: int
    coverage_by_level: dict[str, float]


class NaiveBand(Record, frozen=True):
    """The naive forecast made at the last bar, as the backtest scores naive's (the live
    scorecard scores it beside the served one): the last price, and per level (keyed by percent
    as text) the log offsets of its band's lower and upper bounds at the calibrated horizons
    `hours`; in between linear from 0 at lead 0, past the last as sqrt(lead), never narrowing
    along lead (`cryptopredict.postprocess.empirical_offsets`)."""

    price: float
    hours: tuple[float, ...]
    lower: dict[str, tuple[float, ...]]
    upper: dict[str, tuple[float, ...]]


class PastForecast(Record, frozen=True):
    """A served forecast from a past origin against the prices that followed (80% band)."""

    origin: str
    ds: tuple[int, ...]
    yhat: tuple[float, ...]
    yhat_lower: tuple[float, ...]
    yhat_upper: tuple[float, ...]
    actual: tuple[float | None, ...]


class BacktestReport(Record, omit_defaults=False, frozen=True):
    """`backtest.json`: the summary, the choices it rests on, the hindcast's coverage and the
    past forecasts; all but the hindcast are null for a model trained without a backtest."""

    summary: BacktestSummary | None
    damping: DampingChoice | None
    band: BandChoice | None
    hindcast: HindcastCoverage | None
    paths: tuple[PastForecast, ...] = ()


class ModelParams(Record, frozen=True):
    """The training configuration (cryptopredict.model.config.ModelConfig) and the price."""

    name: str
    target: str
    growth: str
    seasonality_mode: str
    changepoint_prior_scale: float
    changepoint_range: float
    window_days: int | None
    interval_width: float
    anchored: bool
    damping_hours: float | None
    damping_grid: tuple[float | None, ...]
    calibrated: bool
    price: str


@dataclass(frozen=True)
class Repair:
    count: int = 0
    first: str | None = None  # ISO timestamp of the first affected bar


@dataclass(frozen=True)
class Gaps:
    count: int = 0
    missing_bars: int = 0
    largest_after: str | None = None  # the bar before the largest gap
    largest_missing_bars: int = 0


@dataclass(frozen=True)
class ValidationReport:
    """What validation repaired and found in the bars (cryptopredict.data.validation)."""

    rows: int
    first: str
    last: str
    exact_duplicates_dropped: int
    was_unsorted: bool
    conflicting_duplicates: Repair
    ohlc_repaired: Repair
    gaps: Gaps
    # Lows or highs beyond MAX_BAR_JUMP of the previous close, open and close within it: kept.
    wicks: Repair = Repair()

    def summary(self) -> str:
        parts = [f"{self.rows} bars from {self.first} to {self.last}"]
        if self.exact_duplicates_dropped:
            parts.append(f"{self.exact_duplicates_dropped} exact duplicates dropped")
        if self.conflicting_duplicates.count:
            parts.append(
                f"{self.conflicting_duplicates.count} conflicting duplicates resolved to the "
                f"latest fetched (first {self.conflicting_duplicates.first})"
            )
        if self.ohlc_repaired.count:
            parts.append(
                f"{self.ohlc_repaired.count} bars with inconsistent OHLC repaired "
                f"(first {self.ohlc_repaired.first})"
            )
        if self.wicks.count:
            parts.append(
                f"{self.wicks.count} bars with a low or high beyond the jump limit kept as "
                f"wicks (first {self.wicks.first})"
            )
        if self.gaps.count:
            parts.append(
                f"{self.gaps.count} gaps, {self.gaps.missing_bars} bars missing "
                f"(largest {self.gaps.largest_missing_bars} after {self.gaps.largest_after})"
            )
        return "; ".join(parts)


@dataclass(frozen=True)
class TrainingWindow:
    first: UtcTime
    last: UtcTime
    rows: int


@dataclass(frozen=True)
class DataSummary:
    """The bars the model was trained on: where from, their range, and the validation report."""

    source: Text
    failed_sources: tuple[str, ...]
    first: UtcTime
    last: UtcTime
    rows: int
    sha256: str
    validation: ValidationReport
    training_window: TrainingWindow


@dataclass(frozen=True)
class Horizon:
    days: float
    grid_first: UtcTime
    grid_last: UtcTime


@dataclass(frozen=True)
class Manifest:
    """`manifest.json`: what the model is, what it was trained on, how its output is served,
    its backtest summary and where its validation ended (None: trained without a backtest),
    and each file's sha256 (`files` and `schema_version` are filled in by `write_artifact`)."""

    schema_version: int
    asset: Text
    symbol: Text
    interval: Annotated[str, msgspec.Meta(pattern=INTERVAL_PATTERN)]
    model_version: Text
    created_at: UtcTime
    git_sha: str | None
    data: DataSummary
    versions: dict[str, str]
    params: ModelParams
    postprocess: Postprocess
    band: ServedBand
    served: ServedParts  # the point forecast and the band, named, and how each was settled
    metrics: BacktestSummary | None
    # The band and damping were chosen on outcomes up to `last_validation_outcome`; the
    # backtest's figures come from origins on and after `first_evaluation_origin`.
    backtest_boundary: Boundary | None
    horizon: Horizon
    levels: tuple[int, ...]
    files: dict[str, str]
    # The naive forecast at the last bar (None: an artifact written before it was kept).
    naive: NaiveBand | None = None

    @property
    def interval_width(self) -> float:
        """Share of outcomes the served band should hold, e.g. 0.8 (checked at load)."""
        return self.postprocess.interval_width

    def to_builtins(self) -> dict[str, Any]:
        return msgspec.to_builtins(self, order="sorted")


REQUIRED_KEYS = tuple(spec.name for spec in fields(Manifest) if spec.default is MISSING)


@dataclass(frozen=True, eq=False)
class Artifact:
    """An opened artifact: its manifest, and its arrays memory-mapped (read as they are used)."""

    path: Path
    manifest: Manifest
    grid_file: StoredGrid  # the grid as stored, at its knots
    history: BarHistory
    # The manifest as written, for the model card: it shows every field, also those this code
    # does not read.
    manifest_json: dict[str, Any] = field(repr=False)
    manifest_sha256: str = field(repr=False)

    @property
    def asset(self) -> str:
        return self.manifest.asset

    @cached_property
    def grid(self) -> Grid:
        """The grid at every step as the API serves it, read whole into memory (for tools and
        tests; the API reads `grid_file`)."""
        return self.grid_file.expand()

    @cached_property
    def backtest(self) -> BacktestReport:
        """`backtest.json`, read and checked against the manifest on first use."""
        file = self.path / BACKTEST
        data = _read_bytes(file)
        _check_digest(file, hashlib.sha256(data).hexdigest(), self.manifest.files.get(BACKTEST))
        return _typed(file, _json_object(file, data), BacktestReport)

    @property
    def entry(self) -> IndexEntry:
        """What the index says of this artifact."""
        return entry_of(self.manifest, self.manifest_sha256)

    def load_model(self) -> Any:
        """Unpickle the model (importing Prophet), after checking its bytes against the manifest
        once more and the installed Prophet against the one it was pickled with."""
        file = self.path / MODEL
        data = _read_bytes(file)
        _check_digest(file, hashlib.sha256(data).hexdigest(), self.manifest.files.get(MODEL))
        trained = self.manifest.versions.get("prophet")
        try:
            installed: str | None = importlib.metadata.version("prophet")
        except importlib.metadata.PackageNotFoundError:
            installed = None
        _require(
            trained == installed,
            file,
            f"was pickled with Prophet {trained} but Prophet {installed} is installed; "
            "retrain or install the matching version",
        )
        return pickle.loads(data)


def entry_of(manifest: Manifest, manifest_sha256: str) -> IndexEntry:
    return IndexEntry(
        asset=manifest.asset,
        symbol=manifest.symbol,
        interval=manifest.interval,
        schema_version=manifest.schema_version,
        model_version=manifest.model_version,
        created_at=_epoch(manifest.created_at),
        source=manifest.data.source,
        first_bar=_epoch(manifest.data.first),
        last_bar=_epoch(manifest.data.last),
        grid_first=_epoch(manifest.horizon.grid_first),
        grid_last=_epoch(manifest.horizon.grid_last),
        interval_width=manifest.interval_width,
        manifest_sha256=manifest_sha256,
    )


def write_artifact(
    out_dir: Path,
    *,
    model: Any,
    grid: Grid,
    history: BarHistory,
    backtest: BacktestReport,
    manifest: Manifest,
) -> Path:
    """Write an artifact to `<out_dir>/<manifest.asset>` atomically, enter it in
    `<out_dir>/index.json`, and return its path (`manifest.files` and `schema_version` are set
    here)."""
    files = encode_artifact(
        model=model, grid=grid, history=history, backtest=backtest, manifest=manifest
    )
    return install_artifact(out_dir, manifest.asset, files)


def encode_artifact(
    *,
    model: Any,
    grid: Grid,
    history: BarHistory,
    backtest: BacktestReport,
    manifest: Manifest,
) -> dict[str, bytes]:
    """An artifact's files by name, as bytes (where training runs: a worker); ArtifactError
    when a manifest or an array breaks the contract."""
    where = Path(manifest.asset)
    check_history(where / HISTORY, history)  # before the grid is read against it
    files = {
        MODEL: pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL),
        GRID: encode_grid(where / GRID, grid, last_bar=int(history.ds[-1])),
        HISTORY: encode_history(history),
        BACKTEST: _finite_json(BACKTEST, backtest.to_builtins()),
    }
    digests = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    full = replace(manifest, schema_version=SCHEMA_VERSION, files=digests)
    return {**files, MANIFEST: _finite_json(MANIFEST, full.to_builtins())}


def install_artifact(out_dir: Path, asset: str, files: Mapping[str, bytes]) -> Path:
    """Write `files` (encode_artifact's) as `<out_dir>/<asset>` and enter it in the index.

    Everything is written to a temporary directory beside the target, verified by reading it
    back, and only then swapped into place: a failure at any point leaves the previous artifact
    untouched.
    """
    unknown = set(files) - {MANIFEST, MODEL, GRID, HISTORY, BACKTEST}
    if unknown or "/" in asset or asset.startswith("."):
        raise ArtifactError(f"not an artifact of {asset!r}: {sorted(files)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / asset
    staging = Path(tempfile.mkdtemp(prefix=f".tmp-{asset}-", dir=out_dir))
    staging.chmod(0o755)  # mkdtemp's 0700 would hide the artifact from a non-root server
    try:
        for name, data in files.items():
            (staging / name).write_bytes(data)
            (staging / name).chmod(0o644)
        entry = load_artifact(staging).entry
        _require(entry.asset == asset, staging / MANIFEST, f"the manifest is not {asset}'s")
        _sync_tree(staging)
        _swap_into_place(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    record(out_dir, entry, describe)
    return target


def open_artifact(path: Path, *, every_value: bool = False) -> Artifact:
    """An artifact, its manifest checked and its arrays' sha256 with it, the arrays
    memory-mapped (with `every_value`, read and checked); ArtifactError names the first problem
    found.

    Its files are opened through one handle on the directory, so an artifact swapped in
    meanwhile (`write_artifact`) is read whole, old or new.
    """
    path = Path(path)
    with ExitStack() as stack:
        directory = _open_directory(path)
        stack.callback(os.close, directory)
        written = _read_all(
            stack.enter_context(_open_in(directory, path, MANIFEST)), path / MANIFEST
        )
        document = _json_object(path / MANIFEST, written)
        manifest = _manifest(path / MANIFEST, document)
        tables = {}
        for name in (GRID, HISTORY):
            opened = stack.enter_context(_open_in(directory, path, name))
            digest = hashlib.file_digest(opened, "sha256").hexdigest()
            _check_digest(path / name, digest, manifest.files.get(name))
            tables[name] = open_table(path / name, opened)
    grid = stored_grid(path / GRID, tables[GRID])
    history = history_of(path / HISTORY, tables[HISTORY])
    if every_value:
        check_history(path / HISTORY, history)
        check_grid(path / GRID, grid, first_bar=int(history.ds[0]), last_bar=int(history.ds[-1]))
    ends = (int(history.ds[0]), int(history.ds[-1]), grid.first, grid.last)
    data, horizon = manifest.data, manifest.horizon
    said = (data.first, data.last, horizon.grid_first, horizon.grid_last)
    _require(
        ends == tuple(_epoch(when) for when in said),
        path / MANIFEST,
        "data.first, data.last, horizon.grid_first or horizon.grid_last do not match the "
        "history and the grid",
    )
    try:
        step = Interval.parse(manifest.interval).seconds
    except IntervalError as error:
        raise ArtifactError(f"{path / MANIFEST}: the interval: {error}") from None
    _require(
        grid.step == step,
        path / GRID,
        f"its knots are {grid.step} s apart, not the manifest's {manifest.interval}",
    )
    digest = hashlib.sha256(written).hexdigest()
    return Artifact(path, manifest, grid, history, document, digest)


def load_artifact(path: Path) -> Artifact:
    """`open_artifact`, then every value checked, and the backtest and the model's bytes;
    ArtifactError names the first problem found."""
    artifact = open_artifact(path, every_value=True)
    _ = artifact.backtest
    model = artifact.path / MODEL
    _check_digest(model, _file_sha256(model), artifact.manifest.files.get(MODEL))
    return artifact


def load_artifacts(model_dir: Path) -> dict[str, Artifact]:
    """Every artifact under `model_dir`, by asset, each checked whole (`load_artifact`);
    ArtifactError if there is none or any is bad."""
    found = artifact_dirs(_model_dir(model_dir))
    if not found:
        raise ArtifactError(f"{model_dir}: holds no artifact; run `python train.py` first")
    artifacts = [load_artifact(path) for path in found]
    return {artifact.asset: artifact for artifact in artifacts}


def describe(path: Path) -> IndexEntry:
    """The index entry of the artifact at `path`, from its manifest alone."""
    data = _read_bytes(path / MANIFEST)
    manifest = _manifest(path / MANIFEST, _json_object(path / MANIFEST, data))
    return entry_of(manifest, hashlib.sha256(data).hexdigest())


def index_artifacts(model_dir: Path) -> int:
    """Write `<model_dir>/index.json` afresh from every artifact's manifest (after artifacts
    were copied in by hand, say); the number of artifacts it lists."""
    record(_model_dir(model_dir), None, describe, afresh=True)
    return len(read_index(model_dir) or {})


class ArtifactStore(Mapping[str, Artifact]):
    """The artifacts of a model directory, listed at once and opened when first asked for.

    `entries` says what each is before it is opened (from `index.json`). Looking one up opens
    it (`open_artifact`: manifest and sha256 checked, arrays memory-mapped) the first time; one
    that cannot be opened raises ArtifactError, then and on every later look-up, and is listed
    in `failures`. Safe to use from several threads.
    """

    def __init__(
        self,
        model_dir: Path | None,
        entries: Mapping[str, IndexEntry],
        failures: Mapping[str, str] | None = None,
        opened: Mapping[str, Artifact] | None = None,
    ) -> None:
        self.model_dir = model_dir
        self._entries = dict(entries)
        self._failures = dict(failures or {})
        self._opened = dict(opened or {})
        self._lock = threading.Lock()

    @classmethod
    def of(cls, artifacts: Mapping[str, Artifact]) -> ArtifactStore:
        """A store of artifacts opened already."""
        entries = {slug: artifact.entry for slug, artifact in artifacts.items()}
        return cls(None, entries, opened=artifacts)

    def entry(self, slug: str) -> IndexEntry:
        """What is known of `slug`: its own manifest's summary once opened, else the index's."""
        opened = self._opened.get(slug)
        return opened.entry if opened is not None else self._entries[slug]

    @property
    def failures(self) -> dict[str, str]:
        """The artifacts that could not be opened, with why."""
        return dict(self._failures)

    def __getitem__(self, slug: str) -> Artifact:
        opened = self._opened.get(slug)
        if opened is not None:
            return opened
        with self._lock:
            if slug in self._failures:
                raise ArtifactError(self._failures[slug])
            if slug not in self._opened:
                self._opened[slug] = self._open(slug)
            return self._opened[slug]

    def _open(self, slug: str) -> Artifact:
        if slug not in self._entries or self.model_dir is None:
            raise KeyError(slug)
        try:
            artifact = open_artifact(self.model_dir / slug)
            _require(
                artifact.asset == slug, artifact.path / MANIFEST, f"is that of {artifact.asset}"
            )
        except ArtifactError as error:
            self._failures[slug] = str(error)
            log.error("cannot serve %s: %s", slug, error)
            raise
        if artifact.manifest_sha256 != self._entries[slug].manifest_sha256:
            log.warning(
                "%s: index.json describes another manifest (written since, or the index was not "
                "updated); serving the artifact as its manifest describes it",
                artifact.path,
            )
        log.info("opened %s model %s", slug, artifact.manifest.model_version)
        return artifact

    def __contains__(self, slug: object) -> bool:
        return slug in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))

    def __len__(self) -> int:
        return len(self._entries)


def open_artifacts(model_dir: Path) -> ArtifactStore:
    """The artifacts under `model_dir`, listed from its `index.json`, none opened yet.

    An artifact directory the index lacks is listed from its manifest, an entry without its
    directory is left out, and an artifact of another schema is listed in `failures` with what
    to do. ArtifactError when no artifact can be served.
    """
    model_dir = _model_dir(model_dir)
    try:
        indexed = read_index(model_dir)
    except ArtifactError as error:
        log.warning("listing the artifacts from their manifests: %s", error)
        indexed = None
    present = {path.name: path for path in artifact_dirs(model_dir)}
    gone = sorted(set(indexed or {}) - set(present))
    if gone:
        log.warning("%s lists %s, which %s does not hold", INDEX, ", ".join(gone), model_dir)
    entries, failures = {}, {}
    for name, path in present.items():
        found = (indexed or {}).get(name)
        try:
            entry = found if found is not None else describe(path)
            _require(
                entry.schema_version == SCHEMA_VERSION,
                path / MANIFEST,
                _schema_problem(entry.schema_version),
            )
        except ArtifactError as error:
            log.error("cannot serve %s: %s", name, error)
            failures[name] = str(error)
            continue
        entries[name] = entry
    if not present:
        raise ArtifactError(f"{model_dir}: holds no artifact; run `python train.py` first")
    if not entries:
        first = next(iter(failures.values()))
        raise ArtifactError(f"none of the {len(failures)} artifacts can be served; {first}")
    return ArtifactStore(model_dir, entries, failures)


def _model_dir(model_dir: Path) -> Path:
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ArtifactError(f"{model_dir}: no such directory; run `python train.py` first")
    return model_dir


def _open_directory(path: Path) -> int:
    """The artifact directory `path`, which may be a symlink to a directory beside it (in its
    model directory), never to one elsewhere."""
    real, within = os.path.realpath(path), os.path.realpath(path.parent)
    _require(
        os.path.commonpath([real, within]) == within,
        path,
        "is a symbolic link out of its model directory; copy the artifact in instead",
    )
    try:
        return os.open(real, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        raise ArtifactError(f"{path}: missing") from None
    except OSError as error:
        raise ArtifactError(f"{path}: unreadable ({error.strerror})") from None


# An artifact's files are regular files the writer made: a symbolic link is never followed (it
# could lead anywhere, its digest into answers), and nothing else is opened (a FIFO would block).
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK


def _open_in(directory: int | None, path: Path, name: str) -> io.BufferedReader:
    """`path / name`, opened in the directory `directory` (a descriptor; None: `path`)."""
    file = path / name
    try:
        if directory is None:
            descriptor = os.open(file, _FILE_FLAGS)
        else:
            descriptor = os.open(name, _FILE_FLAGS, dir_fd=directory)
    except FileNotFoundError:
        raise ArtifactError(f"{file}: missing") from None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise ArtifactError(
                f"{file}: is a symbolic link; an artifact's files must be the regular files "
                "training wrote"
            ) from None
        raise ArtifactError(f"{file}: unreadable ({error.strerror})") from None
    opened = os.fdopen(descriptor, "rb")
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        opened.close()
        raise ArtifactError(f"{file}: is not a regular file")
    return opened


def _file_sha256(file: Path) -> str:
    with _open_in(None, file.parent, file.name) as opened:
        try:
            return hashlib.file_digest(opened, "sha256").hexdigest()
        except OSError as error:
            raise ArtifactError(f"{file}: unreadable ({error.strerror})") from None


def _read_all(opened: io.BufferedReader, file: Path) -> bytes:
    try:
        return opened.read()
    except OSError as error:
        raise ArtifactError(f"{file}: unreadable ({error.strerror})") from None


def _epoch(when: datetime) -> int:
    return int(when.timestamp())


def _json_object(file: Path, data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError as error:
        raise ArtifactError(f"{file}: not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise ArtifactError(f"{file}: is not a JSON object")
    return value


def _schema_problem(version: int) -> str:
    if version > SCHEMA_VERSION:
        return (
            f"schema_version {version} is newer than this code understands ({SCHEMA_VERSION}); "
            "upgrade cryptopredict"
        )
    return (
        f"schema_version {version} is no longer supported (schema {SCHEMA_VERSION} stores the "
        "grid compact and memory-mapped: grid.npy and history.npy); retrain with "
        "`python train.py`"
    )


def _manifest(file: Path, document: dict[str, Any]) -> Manifest:
    version = document.get("schema_version")
    if not isinstance(version, int):
        raise ArtifactError(f"{file}: has no integer schema_version")
    _require(version == SCHEMA_VERSION, file, _schema_problem(version))
    missing = [key for key in REQUIRED_KEYS if key not in document]
    _require(not missing, file, f"lacks {', '.join(missing)}")
    manifest = _typed(file, document, Manifest)
    width = manifest.postprocess.interval_width
    _require(
        isinstance(width, float) and 0 < width < 1,
        file,
        f"postprocess.interval_width is {width!r}, not a share between 0 and 1 - at "
        "`$.postprocess.interval_width`",
    )
    _require(
        manifest.levels == LEVELS,
        file,
        f"levels are {list(manifest.levels)}, not the grid's {list(LEVELS)} - at `$.levels`",
    )
    return manifest


T = TypeVar("T")


def _typed(file: Path, document: dict[str, Any], kind: type[T]) -> T:
    try:
        return msgspec.convert(document, kind)
    except msgspec.ValidationError as error:
        raise ArtifactError(f"{file}: {error}") from None


def _check_digest(file: Path, actual: str, expected: str | None) -> None:
    if expected is None:
        raise ArtifactError(f"{file}: is not listed in the manifest")
    _require(
        actual == expected,
        file,
        f"sha256 {actual[:12]}... does not match the manifest's {expected[:12]}... "
        "(corrupt or edited)",
    )


def _read_bytes(file: Path) -> bytes:
    with _open_in(None, file.parent, file.name) as opened:
        return _read_all(opened, file)


def _require(condition: bool, file: Path, problem: str) -> None:
    if not condition:
        raise ArtifactError(f"{file}: {problem}")


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=2, sort_keys=True, allow_nan=False).encode() + b"\n"


def _finite_json(name: str, value: Any) -> bytes:
    """`value` as the JSON of file `name`; ArtifactError naming the first value that is not a
    finite number (NaN or infinite: no JSON holds it, and no client could read it)."""
    where = _not_finite(value, "")
    if where is not None:
        raise ArtifactError(f"{name}: {where.lstrip('.')} is not a finite number; nothing written")
    return _json(value)


def _not_finite(value: Any, path: str) -> str | None:
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{path} ({value})"
    if isinstance(value, dict):
        found = (_not_finite(item, f"{path}.{key}") for key, item in value.items())
    elif isinstance(value, list | tuple):
        found = (_not_finite(item, f"{path}[{i}]") for i, item in enumerate(value))
    else:
        return None
    return next((where for where in found if where is not None), None)


def _sync_tree(directory: Path) -> None:
    for file in directory.iterdir():
        fsync(file)
    fsync(directory)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _swap_into_place(staging: Path, target: Path) -> None:
    """Make `staging` the new `target`; the old content ends up in `staging` (or is removed).

    A new target is a plain rename. An existing one is exchanged atomically with Linux's
    renameat2(RENAME_EXCHANGE), so at every instant `target` is either the old or the new
    artifact. Without it, the old one is moved aside first and a crash in between leaves it
    under `.previous-<asset>`, never deleted.
    """
    if not target.exists():
        staging.rename(target)
        fsync(target.parent)
        return
    if not _exchange(staging, target):
        aside = target.parent / f".previous-{target.name}"
        shutil.rmtree(aside, ignore_errors=True)
        target.rename(aside)
        staging.rename(target)
        shutil.rmtree(aside)
    fsync(target.parent)


def _exchange(first: Path, second: Path) -> bool:
    # Imported here: only writing needs them, and the server never writes.
    import ctypes  # noqa: PLC0415
    import ctypes.util  # noqa: PLC0415

    libc_name = ctypes.util.find_library("c")
    renameat2 = getattr(ctypes.CDLL(libc_name, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    result = renameat2(
        _AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE
    )
    return result == 0
