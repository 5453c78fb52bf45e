"""The model report as `make report` writes it from the model `make e2e` trains, and how it
differs from the committed one (`docs/model-report/`) in what matters.

Training is bit-reproducible on one machine, not across CPUs: Prophet's fits (Stan's L-BFGS)
take each CPU's own floating-point paths, and a 1-day damping MAPE of 0.0188467 came out
0.0188480 on an AMD EPYC (7e-5 of it; band scores moved in the 16th digit). So the check is:

- exact: every choice, verdict and chosen setting (`CHOICES`: the damping and band chosen, every
  candidate's settings, lags, levels, the data's rows and digest), every string, boolean,
  whole number and missing value, and the shape of the document (its keys, its lists' lengths);
- within a tolerance, each figure (any other number): a tenth of its own standard error where
  the report gives one beside it (`<name>_se`, `se`, `coverage_se_by_level`), else `RELATIVE`
  (0.1%) of its value. Either is far below the figure's standard error: the report's own SEs
  are 0.6% of their figures or more (coverage at 95%), and the figures without one are means
  over 100 origins or more, whose SE is 1% of the figure or more; the largest difference seen
  across CPUs is 0.007%. A difference a tenth of an SE changes no conclusion drawn from the
  report, and the verdicts are compared exactly anyway.
- `FLOOR` (1e-12) below which a difference is rounding: a paired difference of two forecasts
  that agree (`mape_diff` 1.4e-17 with an SE of 1.1e-17) is noise on every machine.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
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
    }
)
RELATIVE = 1e-3
SE_SHARE = 0.1
FLOOR = 1e-12
REGENERATE = (
    "run `make report` (it writes the report from the model `make e2e` trains) and commit "
    "docs/model-report/ and docs/model.md with the change"
)


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
    yield from _differences(committed, trained, where, se=None, exact=False)


def tolerance(value: float, se: float | None) -> float:
    """How far a figure of `value`, with standard error `se` if the report gives one, may move."""
    allowed = SE_SHARE * se if se is not None else RELATIVE * abs(value)
    return max(allowed, FLOOR)


def _differences(
    committed: Any, trained: Any, where: str, *, se: Any, exact: bool
) -> Iterator[str]:
    """`se`: the standard error of this figure, or a mapping of the SEs of those below."""
    if isinstance(committed, dict) and isinstance(trained, dict):
        for key in sorted(set(committed) | set(trained)):
            if not where and key in NOT_COMPARED:
                continue
            path = f"{where}.{key}" if where else key
            if key not in committed or key not in trained:
                yield f"{path}: only in the {'trained' if key in trained else 'committed'} report"
                continue
            below = _se_of(committed, key)
            if below is None and isinstance(se, Mapping):
                below = se.get(key)
            yield from _differences(
                committed[key], trained[key], path, se=below, exact=exact or key in CHOICES
            )
    elif isinstance(committed, list) and isinstance(trained, list):
        if len(committed) != len(trained):
            yield f"{where}: {len(committed)} items committed, {len(trained)} trained"
        for index, (left, right) in enumerate(zip(committed, trained, strict=False)):
            yield from _differences(left, right, f"{where}[{index}]", se=se, exact=exact)
    elif _figure(committed) and _figure(trained) and not exact:
        allowed = tolerance(committed, se if _figure(se) else None)
        if not abs(committed - trained) <= allowed:
            yield f"{where}: committed {committed!r}, trained {trained!r} (tolerance {allowed:.3g})"
    elif committed != trained or type(committed) is not type(trained):
        yield f"{where}: committed {committed!r}, trained {trained!r}"


def _figure(value: Any) -> bool:
    return isinstance(value, float) and math.isfinite(value)


def _se_of(document: Mapping[str, Any], key: str) -> Any:
    """The standard error the report gives beside `document[key]`: `<key>_se` (a paired
    difference `<name>_diff` has `<name>_se`), `se` beside `coverage`, or for a `*_by_level`
    mapping its `*_se_by_level` mapping; None without one."""
    name = key.removesuffix("_diff")
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
