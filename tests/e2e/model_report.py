"""The model report as `make report` writes it from the model `make e2e` trains, and how it
differs from the committed one (`docs/model-report/`)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.e2e.training import ROOT
from tools.report import REPORT_DIR, REPORTED, exported

COMMITTED = ROOT / REPORT_DIR
# Recorded, not reproduced: the commit the report was written at.
NOT_COMPARED = ("commit",)
# Training is deterministic on one machine, not across CPUs: Prophet's optimizer stops at a
# tolerance along a path that depends on the CPU's vector instructions, and numpy's sums are
# ordered by them. CI's machine trained damping MAPEs 1e-4 apart (relative) from this one's
# (0.0188467 against 0.0188481) and band scores in the 16th digit. Figures are compared to
# 1e-3 relative; everything else (choices, verdicts, counts, checksums, dates) exactly.
RELATIVE = 1e-3
ABSOLUTE = 1e-9
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
    """Each place the two JSON documents differ, as `path: committed X, trained Y`, leaving out
    the fields of NOT_COMPARED at the top; floats differ beyond RELATIVE."""
    if isinstance(committed, dict) and isinstance(trained, dict):
        for key in sorted(set(committed) | set(trained)):
            if not where and key in NOT_COMPARED:
                continue
            path = f"{where}.{key}" if where else key
            if key not in committed or key not in trained:
                yield f"{path}: only in the {'trained' if key in trained else 'committed'} report"
            else:
                yield from differences(committed[key], trained[key], path)
    elif isinstance(committed, list) and isinstance(trained, list):
        if len(committed) != len(trained):
            yield f"{where}: {len(committed)} items committed, {len(trained)} trained"
        for index, (left, right) in enumerate(zip(committed, trained, strict=False)):
            yield from differences(left, right, f"{where}[{index}]")
    elif type(committed) is not type(trained) or not _same(committed, trained):
        yield f"{where}: committed {committed!r}, trained {trained!r}"


def _same(committed: Any, trained: Any) -> bool:
    if isinstance(committed, float):
        return math.isclose(committed, trained, rel_tol=RELATIVE, abs_tol=ABSOLUTE)
    return bool(committed == trained)
