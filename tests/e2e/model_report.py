"""The model report as `make report` writes it from the model `make e2e` trains, and how it
differs from the committed one (`docs/model-report/`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.e2e.training import ROOT
from tools.report import REPORT_DIR, REPORTED, exported

COMMITTED = ROOT / REPORT_DIR
# Recorded, not reproduced: the commit the report was written at.
NOT_COMPARED = ("commit",)
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
    the fields of NOT_COMPARED at the top."""
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
    elif committed != trained or type(committed) is not type(trained):
        yield f"{where}: committed {committed!r}, trained {trained!r}"
