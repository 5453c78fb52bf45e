"""`python -m cryptopredict.model.compare`: the configuration comparison behind the default.

Backtests the reference idea, each change on its own, and the served configuration on the same
rolling origins of the embedded hourly data (spread over the evaluation span), and writes the
table to `docs/model-report/comparison.json`. Full-history fits take about a minute each, so this
runs for tens of minutes; it is not part of `train.py`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cryptopredict import logs
from cryptopredict.assets import ASSETS
from cryptopredict.config import Settings
from cryptopredict.data import load_history
from cryptopredict.model.backtest import (
    HORIZONS,
    Plan,
    attach_actuals,
    default_baselines,
    fit_and_predict,
    horizon_metrics,
    predict_in_process,
)
from cryptopredict.model.config import DEFAULT, candidates

log = logging.getLogger("compare")
REPORT_DIR = Path("docs/model-report")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m cryptopredict.model.compare")
    parser.add_argument("--origins", type=int, default=24, help="rolling origins to compare on")
    parser.add_argument(
        "--artifact",
        type=Path,
        default=Path("artifacts/btc-usd"),
        help="the trained artifact whose chosen damping the last row uses",
    )
    parser.add_argument("--out", type=Path, default=REPORT_DIR / "comparison.json")
    parser.add_argument("--jobs", type=int)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = Settings.from_env()
    logs.configure(settings.log_level)
    started = time.monotonic()
    manifest = json.loads((args.artifact / "manifest.json").read_text())
    tau = manifest["params"]["damping_hours"]
    since = pd.Timestamp("2021-01-01", tz="UTC")
    history = load_history(ASSETS["btc-usd"], "1h", since, settings, source="snapshot")
    frame = pd.DataFrame(
        {
            "ds": history.bars.frame["timestamp"].dt.tz_localize(None),
            "y": history.bars.frame["close"],
        }
    )
    plan = Plan()
    origins = spread(plan, frame, args.origins)
    leads = pd.timedelta_range(pd.Timedelta(0), plan.horizon, freq=history.bars.interval.delta)
    configs = {config.name: config for config in candidates(tau)}
    log.info("comparing %d configurations on %d origins", len(configs), len(origins))
    frames = fit_and_predict(configs, frame, origins, leads, args.jobs)
    frames += [
        predict_in_process(make, frame, origins, leads) for make in default_baselines(DEFAULT)
    ]
    forecasts = attach_actuals(pd.concat(frames, ignore_index=True), frame)
    metrics = horizon_metrics(forecasts, origins)
    report = {
        "data": f"{history.bars.source}: {history.report.summary()}",
        "origins": [at.strftime("%Y-%m-%dT%H:%M:%SZ") for at in origins],
        "interval_width": DEFAULT.interval_width,
        "rows": table_rows(metrics, [*configs, "naive", "drift"]),
        "seconds": round(time.monotonic() - started),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    log.info("wrote %s in %d s", args.out, report["seconds"])
    return 0


def spread(plan: Plan, frame: pd.DataFrame, count: int) -> list[pd.Timestamp]:
    """`count` origins evenly spread over the evaluation span."""
    origins = plan.origins(frame["ds"])
    evaluated = [at for at in origins if at >= origins[-1] - plan.evaluation_span]
    picks = np.unique(np.linspace(0, len(evaluated) - 1, count).round().astype(int))
    return [evaluated[i] for i in picks]


def table_rows(metrics: pd.DataFrame, order: list[str]) -> list[dict]:
    rows = []
    for model in order:
        mine = metrics[metrics["model"] == model].set_index("horizon")
        row: dict[str, Any] = {"configuration": model}
        for label in HORIZONS:
            for key in ("mape", "coverage"):
                value = mine[key].get(label) if key in mine else None
                row[f"{key}_{label}"] = None if value is None or pd.isna(value) else float(value)
        rows.append(row)
    return rows


if __name__ == "__main__":
    sys.exit(main())
