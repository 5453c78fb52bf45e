"""The model report as `make report` writes it from the model `make e2e` trains, and how it
differs from the committed one (`docs/model-report/`) in what matters.

Training is bit-reproducible on one machine, not across CPUs: Prophet's fits (Stan's BFGS)
take each CPU's own floating-point paths (a 1-day damping MAPE 7e-5 of itself apart), and an
origin whose band width ties another's to the 15th digit may fall in the other fifth. So:

- exact: every choice and chosen setting (`CHOICES`), every verdict against naive (as training
  settled it from its figures, `NaiveComparison.verdict`), every string, boolean, whole number (the
  counts) and missing value, and the document's shape (its keys, its lists' lengths);
- each figure (any other number) within `SHARE` of its own sampling error (`sampling_error`,
  from the count of origins it is over: the nearest `n`, `validation_origins` or `bars` at or
  above it), and a coverage by at least one origin of its n; never below `FLOOR`, rounding.
  docs/development.md says why each figure's error is what it is.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.e2e.training import ROOT
from tools.report import REPORT_DIR, REPORTED, exported

COMMITTED = ROOT / REPORT_DIR
# Recorded, not reproduced: the commit the report was written at.
NOT_COMPARED = ("commit",)
# Keys whose values are choices or settings, compared exactly at any depth below them. Not
# "drift": as a setting it is a boolean (exact anyway), and in the summary it names the drift
# baseline, whose scores are figures like any model's.
CHOICES = frozenset(
    {
        "chosen",
        "tau",
        "floor",
        "half_life_hours",
        "window_days",
        "pool_days",
        "horizon_mix",
        "horizon_har",
        "horizon_pools",
        "width_bins",
        "profile",
        "kind",
        "name",
        "lags",
        "levels",
        "interval_width",
        "origin_step_hours",
        "verdict",
        "weight",
        "days",
    }
)
# The counts a figure is over, nearest first: a model's or a fifth's `n`, the band and damping
# choices' `validation_origins`, the hindcast's `bars`.
COUNTS = ("n", "validation_origins", "bars")
SHARE = 0.2
FLOOR = 1e-12
REGENERATE = (
    "run `make report` (it writes the report from the model `make e2e` trains) and commit "
    "docs/model-report/ and docs/model.md with the change"
)


@dataclass(frozen=True)
class Sample:
    """What a figure is estimated from: `n` origins (None: unknown), whose outcomes overlap
    over `lags` neighbours (the horizon's HAC lags, 0 where the report names none)."""

    n: int | None = None
    lags: int = 0

    def within(self, document: Mapping[str, Any]) -> Sample:
        """This sample as seen inside `document`: its own count and lags where it has them
        (a horizon's lags are its `prophet_vs_naive.lags`)."""
        n = next((document[key] for key in COUNTS if _count(document.get(key))), self.n)
        lags = [document.get("lags")] + [
            child.get("lags") for child in document.values() if isinstance(child, Mapping)
        ]
        return Sample(n, next((lag for lag in lags if _count(lag)), self.lags))


def trained_reports(model_dir: Path) -> dict[str, dict[str, Any]]:
    """File name (`backtest.json`, `eth-usd-backtest.json`) -> the report written from the
    artifacts under `model_dir`."""
    reports = {}
    for asset in REPORTED:
        name, text = exported(model_dir / asset, commit="not recorded")
        reports[name] = json.loads(text)
    return reports


def differences(committed: Any, trained: Any, where: str = "") -> Iterator[str]:
    """Each place the two reports differ in what matters (see the module's doc), as
    `path: committed X, trained Y`, leaving out the fields of NOT_COMPARED at the top."""
    yield from _differences(committed, trained, where, _Figure(), Sample())


def tolerances(report: Any) -> Iterator[tuple[str, float]]:
    """Every figure of `report` compared within a tolerance, and that tolerance (NaN: the
    report gives no count of origins for it)."""
    yield from _figures(report, "", _Figure(), Sample())


def sampling_error(key: str, value: float, sample: Sample, *, se: float | None) -> float:
    """How far a figure named `key` would move between two samples like this one: `se`, the
    standard error the report gives beside it, where it gives one; else, with `n` origins,
    for a standard error its own error, SE sqrt((lags + 1) / 2n) (SE / sqrt(2n) for
    independent outcomes; a Newey-West estimate's variance grows with its bandwidth); for a
    coverage the binomial sqrt(p(1 - p) / n) (overlapping outcomes only widen it); for any
    other figure, a mean (or a ratio of means) of n scores, |value| / sqrt(n)."""
    if se is not None:
        return se
    if sample.n is None:
        return math.nan
    n = sample.n
    if _is_se(key):
        return abs(value) * math.sqrt((sample.lags + 1) / (2 * n))
    if _is_coverage(key):
        return math.sqrt(max(value * (1 - value), 0.0) / n)
    return abs(value) / math.sqrt(n)


def tolerance(
    key: str,
    value: float,
    sample: Sample,
    *,
    se: float | None = None,
    coverage: float | None = None,
) -> float:
    """How far a figure named `key` (a mapping's key, or the mapping's own for its entries)
    may move: SHARE of its sampling error; a coverage at least one origin of its n, and the
    standard error of a `coverage` at least what one origin moves it by; never below FLOOR."""
    allowed = SHARE * sampling_error(key, value, sample, se=se)
    if sample.n and _is_coverage(key):
        allowed = max(allowed, 1 / sample.n)
    if sample.n and _is_se(key) and coverage is not None and 0 < coverage < 1:
        # d ln sqrt(p(1 - p)) / dp, times the 1/n one origin moves p by.
        one_origin = abs(1 - 2 * coverage) / (2 * coverage * (1 - coverage) * sample.n)
        allowed = max(allowed, abs(value) * one_origin)
    return max(allowed, FLOOR)


@dataclass(frozen=True)
class _Figure:
    """Where a value sits: the key naming what it is, its standard error (or a mapping of the
    SEs of those below), whether it is a choice, for a fifth's edge its cell's span, and for
    the standard error of a coverage that coverage (or the mapping of those below)."""

    key: str = ""
    se: Any = None
    exact: bool = False
    span: float | None = None
    coverage: Any = None

    def below(self, document: Mapping[str, Any], key: str) -> _Figure:
        se = _se_of(document, key)
        if se is None and isinstance(self.se, Mapping):
            se = self.se.get(key)
        name = self.key if key.isdigit() else key  # `coverage_by_level.80` is a coverage
        span = None
        if key in ("width_from", "width_to") and _figure(document.get("width_from")):
            span = abs(document["width_to"] - document["width_from"])
        if isinstance(self.coverage, Mapping):
            coverage = self.coverage.get(key)
        elif key == "se":
            coverage = document.get("coverage")
        else:
            coverage = document.get(key.replace("_se_by_", "_by_")) if "_se_by_" in key else None
        return _Figure(name, se, self.exact or key in CHOICES, span, coverage)

    def allowed(self, value: float, sample: Sample) -> float:
        if self.span is not None and sample.n:
            # A fifth's edge is a quantile of the widths: its error is about the cell's span
            # over sqrt(n) (the widths' density there is a fifth over that span).
            return max(SHARE * self.span / math.sqrt(sample.n), FLOOR)
        return tolerance(
            self.key,
            value,
            sample,
            se=self.se if _figure(self.se) else None,
            coverage=self.coverage if _figure(self.coverage) else None,
        )


def _differences(
    committed: Any, trained: Any, where: str, figure: _Figure, sample: Sample
) -> Iterator[str]:
    if isinstance(committed, dict) and isinstance(trained, dict):
        yield from _mapping_differences(committed, trained, where, figure, sample)
    elif isinstance(committed, list) and isinstance(trained, list):
        if len(committed) != len(trained):
            yield f"{where}: {len(committed)} items committed, {len(trained)} trained"
        for index, (left, right) in enumerate(zip(committed, trained, strict=False)):
            yield from _differences(left, right, f"{where}[{index}]", figure, sample)
    elif _figure(committed) and _figure(trained) and not figure.exact:
        if committed == trained:
            return
        allowed = figure.allowed(committed, sample)
        if math.isnan(allowed):
            yield f"{where}: {_UNCOUNTED}"
        elif not abs(committed - trained) <= allowed:
            yield f"{where}: committed {committed!r}, trained {trained!r} (tolerance {allowed:.3g})"
    elif committed != trained or type(committed) is not type(trained):
        yield f"{where}: committed {committed!r}, trained {trained!r}"


def _mapping_differences(
    committed: dict[str, Any], trained: dict[str, Any], where: str, figure: _Figure, sample: Sample
) -> Iterator[str]:
    inner = sample.within(committed)
    for key in sorted(set(committed) | set(trained)):
        if not where and key in NOT_COMPARED:
            continue
        path = f"{where}.{key}" if where else key
        if key not in committed or key not in trained:
            yield f"{path}: only in the {'trained' if key in trained else 'committed'} report"
            continue
        below = figure.below(committed, key)
        yield from _differences(committed[key], trained[key], path, below, inner)


_UNCOUNTED = (
    f"a figure with no count of origins at or above it ({', '.join(COUNTS)}): its tolerance "
    "follows from that count, so the report must give it"
)


def _figures(
    value: Any, where: str, figure: _Figure, sample: Sample
) -> Iterator[tuple[str, float]]:
    if isinstance(value, dict):
        inner = sample.within(value)
        for key, below in value.items():
            path = f"{where}.{key}" if where else key
            if where or key not in NOT_COMPARED:
                yield from _figures(below, path, figure.below(value, key), inner)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _figures(item, f"{where}[{index}]", figure, sample)
    elif _figure(value) and not figure.exact:
        yield where, figure.allowed(value, sample)


def _is_se(key: str) -> bool:
    return key == "se" or key.endswith("_se") or "_se_by_" in key


def _is_coverage(key: str) -> bool:
    return key.startswith("coverage") and not _is_se(key)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _figure(value: Any) -> bool:
    return isinstance(value, float) and math.isfinite(value)


def _se_of(document: Mapping[str, Any], key: str) -> Any:
    """The standard error the report gives beside `document[key]`: `<key>_se` (a paired
    difference `<name>_diff` has `<name>_se`, and a bound `<name>_bound` moves with `<name>`),
    `se` beside `coverage`, or for a `*_by_level` mapping its `*_se_by_level` mapping; None
    without one."""
    name = key.removesuffix("_diff").removesuffix("_bound")
    for found in (
        document.get(f"{name}_se"),
        document.get("se") if key == "coverage" else None,
        document.get(key.replace("_by_level", "_se_by_level"))
        if key.endswith("_by_level")
        else None,
    ):
        if _figure(found) or isinstance(found, Mapping):
            return found
    return None
