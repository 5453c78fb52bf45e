"""The contract between training and serving: write, read and verify a model artifact.

An artifact is a directory `<out>/<asset>/` holding:

- `model.pkl`: the fitted Prophet model, pickled: the product's model, for anyone who wants to
  load it with Prophet (`Artifact.load_model`); serving never unpickles it;
- `grid.npz`: the served forecast (`Grid`) at the data interval, from the first stored bar to
  the last bar + the horizon (`MAX_HORIZON_DAYS`): every date the API answers. Each row holds
  the point forecast, its central band at every level of `LEVELS`, and the time of the last
  bar it had seen (`origin`): inside the history a hindcast, past it the forecast;
- `history.npz`: every validated bar the training run had (`BarHistory`), which the API serves as
  the actual price and aggregates into candles;
- `backtest.json`: the backtest report;
- `manifest.json`: what the model is, what it was trained on, and a sha256 for every other file
  (`Manifest`).

Reading checks every digest and validates every file into frozen dataclasses; anything wrong is
an ArtifactError naming the file and the field. This module imports neither Prophet nor pandas:
serving reads artifacts with numpy and msgspec alone.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import json
import os
import pickle
import shutil
import tempfile
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Self, TypeVar

import msgspec
import numpy as np

from cryptopredict.atomic import fsync
from cryptopredict.candles import PATTERN as INTERVAL_PATTERN
from cryptopredict.postprocess import Postprocess

# 2: history.npz holds every bar's OHLCV and VWAP, not the close alone.
# 3: the grid holds each row's origin and a band at every level of LEVELS; manifest `levels`.
SCHEMA_VERSION = 3
LEVELS = (50, 80, 95)  # the central bands the grid holds, in percent
DEFAULT_LEVEL = 80  # the band answers give unless asked for another
MANIFEST = "manifest.json"
MODEL = "model.pkl"
GRID = "grid.npz"
HISTORY = "history.npz"
BACKTEST = "backtest.json"

# What an array's values must be: int64 epoch seconds, finite positive floats, finite floats
# at least 0.
TIME, PRICE, AMOUNT = "time", "price", "amount"


class ArtifactError(Exception):
    """An artifact cannot be used; the message names the file and the problem."""


def _array(kind: str) -> Any:
    return field(metadata={"kind": kind})


@dataclass(frozen=True, eq=False)
class Arrays:
    """Named arrays of one length on one time axis, `ds` (epoch seconds UTC, strictly
    increasing); a subclass declares one field per array, with the kind of its values."""

    ds: np.ndarray = _array(TIME)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(spec.name for spec in fields(cls))

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, name: str) -> np.ndarray:
        """The array `name`, for code that handles every array alike."""
        return getattr(self, name)

    def rows(self, start: int, stop: int) -> Self:
        return type(self)(**{name: self[name][start:stop] for name in self.names()})


@dataclass(frozen=True, eq=False)
class Grid(Arrays):
    """The served forecast at every grid time: the point forecast and its central band at each
    level of `LEVELS`, in price, and `origin`, the time of the last bar the row had seen.

    A row is a hindcast when `ds` is at or before the last stored bar (its origin is then
    before `ds`, except where no earlier bar exists), else a forecast (made at the last bar).
    """

    origin: np.ndarray = _array(TIME)
    yhat: np.ndarray = _array(PRICE)
    yhat_lower_50: np.ndarray = _array(PRICE)
    yhat_upper_50: np.ndarray = _array(PRICE)
    yhat_lower_80: np.ndarray = _array(PRICE)
    yhat_upper_80: np.ndarray = _array(PRICE)
    yhat_lower_95: np.ndarray = _array(PRICE)
    yhat_upper_95: np.ndarray = _array(PRICE)

    def lower(self, level: int) -> np.ndarray:
        return self[f"yhat_lower_{level}"]

    def upper(self, level: int) -> np.ndarray:
        return self[f"yhat_upper_{level}"]


@dataclass(frozen=True, eq=False)
class BarHistory(Arrays):
    """Every validated bar: OHLCV, and the bar's VWAP (the source's, else the typical price)."""

    open: np.ndarray = _array(PRICE)
    high: np.ndarray = _array(PRICE)
    low: np.ndarray = _array(PRICE)
    close: np.ndarray = _array(PRICE)
    volume: np.ndarray = _array(AMOUNT)
    vwap: np.ndarray = _array(PRICE)


GRID_ARRAYS = Grid.names()
HISTORY_ARRAYS = BarHistory.names()

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


class HorizonScores(Record, frozen=True):
    prophet: ModelScores | None = None  # the served model
    naive: ModelScores | None = None
    drift: ModelScores | None = None
    prophet_vs_naive: Comparison | None = None


class BacktestSummary(Record, frozen=True):
    """The evaluation scores of the served model and the baselines, per horizon."""

    origins: int
    origin_step_hours: float
    refits: int
    interval_width: float
    levels: tuple[int, ...]
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
    name: str


class ServedBand(BandSetting, kw_only=True, frozen=True):
    """The manifest's band: the setting served, and how the hindcast inside the history is made."""

    hindcast: str


class BandCandidate(BandSetting, kw_only=True, frozen=True):
    """A band's scores on the validation origins: its mean 80% interval score (`score_<h>`) and
    coverage (`coverage_<h>`) per horizon, and `score`, relative to the naive band's."""

    score: float
    score_1h: float | None = None
    score_1d: float | None = None
    score_7d: float | None = None
    score_30d: float | None = None
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
    its backtest summary (None: trained without a backtest), and each file's sha256
    (`files` and `schema_version` are filled in by `write_artifact`)."""

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
    metrics: BacktestSummary | None
    horizon: Horizon
    levels: tuple[int, ...]
    files: dict[str, str]

    @property
    def interval_width(self) -> float:
        """Share of outcomes the served band should hold, e.g. 0.8 (checked at load)."""
        return self.postprocess.interval_width

    def to_builtins(self) -> dict[str, Any]:
        return msgspec.to_builtins(self, order="sorted")


REQUIRED_KEYS = tuple(spec.name for spec in fields(Manifest))


@dataclass(frozen=True)
class Artifact:
    path: Path
    manifest: Manifest
    grid: Grid
    history: BarHistory
    backtest: BacktestReport = field(repr=False)
    # The manifest as written, for the model card: it shows every field, also those this code
    # does not read.
    manifest_json: dict[str, Any] = field(repr=False)

    @property
    def asset(self) -> str:
        return self.manifest.asset

    def load_model(self) -> Any:
        """Unpickle the model (importing Prophet), after checking its bytes against the manifest
        once more and the installed Prophet against the one it was pickled with."""
        file = self.path / MODEL
        data = _read_bytes(file)
        _check_digest(file, data, self.manifest.files.get(MODEL))
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


def write_artifact(
    out_dir: Path,
    *,
    model: Any,
    grid: Grid,
    history: BarHistory,
    backtest: BacktestReport,
    manifest: Manifest,
) -> Path:
    """Write an artifact to `<out_dir>/<manifest.asset>` atomically and return its path
    (`manifest.files` and `schema_version` are set here).

    Everything is written to a temporary directory beside the target, verified by reading it
    back, and only then swapped into place: a failure at any point (a manifest or an array that
    breaks the contract included) leaves the previous artifact untouched.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / manifest.asset
    staging = Path(tempfile.mkdtemp(prefix=f".tmp-{manifest.asset}-", dir=out_dir))
    staging.chmod(0o755)  # mkdtemp's 0700 would hide the artifact from a non-root server
    try:
        files = {
            MODEL: pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL),
            GRID: _npz(grid),
            HISTORY: _npz(history),
            BACKTEST: _json(backtest.to_builtins()),
        }
        for name, data in files.items():
            (staging / name).write_bytes(data)
            (staging / name).chmod(0o644)
        digests = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
        full = replace(manifest, schema_version=SCHEMA_VERSION, files=digests)
        (staging / MANIFEST).write_bytes(_json(full.to_builtins()))
        (staging / MANIFEST).chmod(0o644)
        load_artifact(staging)
        _sync_tree(staging)
        _swap_into_place(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def load_artifact(path: Path) -> Artifact:
    """Read and verify an artifact; ArtifactError names the first problem found."""
    path = Path(path)
    document = _read_json(path / MANIFEST)
    manifest = _manifest(path / MANIFEST, document)
    contents = {}
    for name in (GRID, HISTORY, BACKTEST, MODEL):
        contents[name] = _read_bytes(path / name)
        _check_digest(path / name, contents[name], manifest.files.get(name))
    grid = _arrays(path / GRID, contents[GRID], Grid)
    history = _arrays(path / HISTORY, contents[HISTORY], BarHistory)
    _check_grid(path / GRID, grid, last_bar=int(history.ds[-1]))
    backtest = _typed(
        path / BACKTEST, _json_object(path / BACKTEST, contents[BACKTEST]), BacktestReport
    )
    return Artifact(path, manifest, grid, history, backtest, document)


def load_artifacts(model_dir: Path) -> dict[str, Artifact]:
    """Every artifact under `model_dir`, by asset; ArtifactError if there is none or any is bad."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ArtifactError(f"{model_dir}: no such directory; run `python train.py` first")
    found = sorted(p.parent for p in model_dir.glob(f"*/{MANIFEST}") if not _is_temporary(p))
    if not found:
        raise ArtifactError(f"{model_dir}: holds no artifact; run `python train.py` first")
    artifacts = [load_artifact(path) for path in found]
    return {artifact.asset: artifact for artifact in artifacts}


def _read_json(file: Path) -> dict[str, Any]:
    return _json_object(file, _read_bytes(file))


def _json_object(file: Path, data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError as error:
        raise ArtifactError(f"{file}: not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise ArtifactError(f"{file}: is not a JSON object")
    return value


def _manifest(file: Path, document: dict[str, Any]) -> Manifest:
    version = document.get("schema_version")
    if not isinstance(version, int):
        raise ArtifactError(f"{file}: has no integer schema_version")
    _require(
        version <= SCHEMA_VERSION,
        file,
        f"schema_version {version} is newer than this code understands ({SCHEMA_VERSION}); "
        "upgrade cryptopredict",
    )
    _require(
        version == SCHEMA_VERSION,
        file,
        f"schema_version {version} is no longer supported (schema {SCHEMA_VERSION} adds bands "
        f"at {', '.join(map(str, LEVELS))}% and a hindcast over the whole history); retrain "
        "with `python train.py`",
    )
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


A = TypeVar("A", bound=Arrays)


def _arrays(file: Path, data: bytes, kind: type[A]) -> A:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in kind.names()}
    except KeyError as error:
        raise ArtifactError(f"{file}: lacks the array {error}") from None
    except (OSError, ValueError) as error:
        raise ArtifactError(f"{file}: unreadable ({error})") from None
    ds = arrays["ds"]
    _require(ds.ndim == 1 and len(ds) > 1, file, "ds is not a list of at least two times")
    for spec in fields(kind):
        name, values, what = spec.name, arrays[spec.name], spec.metadata["kind"]
        _require(values.shape == ds.shape, file, f"{name} does not match ds in length")
        if what == TIME:
            _require(values.dtype == np.int64, file, f"{name} is {values.dtype}, not int64")
            continue
        _require(values.dtype == np.float64, file, f"{name} is {values.dtype}, not float64")
        _require(bool(np.all(np.isfinite(values))), file, f"{name} holds non-finite values")
        if what == PRICE:
            _require(bool(np.all(values > 0)), file, f"{name} holds non-positive values")
        else:
            _require(bool(np.all(values >= 0)), file, f"{name} holds negative values")
    _require(bool(np.all(np.diff(ds) > 0)), file, "ds is not strictly increasing")
    return kind(**arrays)


def _check_grid(file: Path, grid: Grid, *, last_bar: int) -> None:
    """Every band holds the point forecast and lies inside the wider ones; no row has seen a
    bar later than its own time, and every row past the last stored bar was made there."""
    low, high, inner = grid.yhat, grid.yhat, "yhat"
    for level in LEVELS:
        lower, upper = grid.lower(level), grid.upper(level)
        _ordered(file, grid.ds, lower, low, f"yhat_lower_{level} is above {inner}")
        _ordered(file, grid.ds, high, upper, f"yhat_upper_{level} is below {inner}")
        low, high, inner = lower, upper, f"the {level}% band"
    _ordered(
        file,
        grid.ds,
        grid.origin,
        np.minimum(grid.ds, last_bar),
        "origin is after ds or after the last stored bar",
    )
    future = grid.ds > last_bar
    _ordered(
        file,
        grid.ds[future],
        np.full(int(future.sum()), last_bar),
        grid.origin[future],
        "origin is before the last stored bar in a forecast row",
    )


def _ordered(
    file: Path, ds: np.ndarray, first: np.ndarray, second: np.ndarray, problem: str
) -> None:
    """ArtifactError with `problem`, where and how often, unless `first <= second` everywhere."""
    bad = np.flatnonzero(first > second)
    if len(bad):
        when = datetime.fromtimestamp(int(ds[bad[0]]), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        raise ArtifactError(f"{file}: {problem} at {when} ({len(bad)} rows in all)")


def _check_digest(file: Path, data: bytes, expected: str | None) -> None:
    if expected is None:
        raise ArtifactError(f"{file}: is not listed in the manifest")
    actual = hashlib.sha256(data).hexdigest()
    _require(
        actual == expected,
        file,
        f"sha256 {actual[:12]}... does not match the manifest's {expected[:12]}... "
        "(corrupt or edited)",
    )


def _read_bytes(file: Path) -> bytes:
    try:
        return file.read_bytes()
    except FileNotFoundError:
        raise ArtifactError(f"{file}: missing") from None
    except OSError as error:
        raise ArtifactError(f"{file}: unreadable ({error.strerror})") from None


def _require(condition: bool, file: Path, problem: str) -> None:
    if not condition:
        raise ArtifactError(f"{file}: {problem}")


def _npz(arrays: Arrays) -> bytes:
    buffer = io.BytesIO()
    named: dict[str, Any] = {name: arrays[name] for name in arrays.names()}
    np.savez(buffer, **named)
    return buffer.getvalue()


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=2, sort_keys=True, allow_nan=False).encode() + b"\n"


def _is_temporary(manifest: Path) -> bool:
    return manifest.parent.name.startswith(".")


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
