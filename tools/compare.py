"""`python -m tools.compare`: the served forecast against its variants and peers (docs/model.md)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from pathlib import Path

import msgspec
import numpy as np
import pandas as pd
from distributed import Client, as_completed
from statsforecast import StatsForecast
from statsforecast.models import AutoETS, Naive
from statsforecast.utils import ConformalIntervals
from tqdm import tqdm

from cryptopredict import logs, postprocess
from cryptopredict.artifact.schema import DEFAULT_LEVEL, LEVELS, BandSpec, ModelConfig
from cryptopredict.assets import ASSETS
from cryptopredict.config import HistorySettings, TrainingSettings
from cryptopredict.data.history import History, load_history
from cryptopredict.data.validation import summarize
from cryptopredict.model.backtest import BacktestResult, market_of
from cryptopredict.model.band_spec import named
from cryptopredict.model.bands import bounds
from cryptopredict.model.build import model_frame
from cryptopredict.model.forecasters import ProphetForecaster, quiet_stan, window
from cryptopredict.model.market import Market
from cryptopredict.model.plan import HORIZON_HOURS, HORIZONS, HOUR, SERVED, Plan, epoch_seconds
from cryptopredict.model.refits import actual_at, drift_centre
from cryptopredict.model.scoring import naive_band
from cryptopredict.standard_error import (
    inside,
    interval_score,
    overlap_lags,
    paired,
    quantile_score,
)
from cryptopredict.training.cluster import training_client
from cryptopredict.training.graph import backtest_pair
from cryptopredict.training.tasks import PairJob
from cryptopredict.utc import iso_moment

log = logging.getLogger("compare")
REPORT_DIR = Path("docs/model-report")
HOURS = np.array(list(HORIZON_HOURS.values()))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.compare")
    parser.add_argument("--part", choices=("configurations", "peers", "all"), default="all")
    parser.add_argument("--origins", type=int, default=24, help="origins for the configurations")
    parser.add_argument(
        "--peer-origins", type=int, default=12, help="origins for the peers (all refits: 0)"
    )
    parser.add_argument(
        "--artifact",
        type=Path,
        default=Path("artifacts/btc-usd"),
        help="the trained artifact whose damping and band the comparison uses",
    )
    parser.add_argument("--out", type=Path, default=REPORT_DIR)
    parser.add_argument(
        "--jobs", type=int, help="workers of the local Dask cluster (default: TRAIN_WORKERS)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = TrainingSettings.from_env()
    logs.configure(settings.log_level)
    manifest = json.loads((args.artifact / "manifest.json").read_text())
    since = pd.Timestamp("2021-01-01", tz="UTC")
    history = load_history(
        ASSETS["btc-usd"], "1h", since, HistorySettings.from_env(), source="snapshot"
    )
    frame = model_frame(history.bars.frame, "close")
    data = f"{history.bars.source}: {summarize(history.report)}"
    args.out.mkdir(parents=True, exist_ok=True)
    if args.jobs:
        settings = dataclasses.replace(settings, train_workers=args.jobs)
    # Prophet's fits on training's Dask cluster (TRAIN_WORKERS or DASK_SCHEDULER_ADDRESS).
    with training_client(settings) as client:
        if args.part in ("configurations", "all"):
            report = configurations(client, frame, manifest["params"]["damping_hours"], args, data)
            _write(args.out / "comparison.json", report)
        if args.part in ("peers", "all"):
            report = peers(client, history, manifest, args, settings)
            _write(args.out / "peers.json", {"data": data, **report})
    return 0


def _write(path: Path, report: dict) -> None:
    path.write_text(json.dumps(report, indent=2) + "\n")
    log.info("wrote %s in %d s", path, report["seconds"])


def configurations(client: Client, frame: pd.DataFrame, tau: float | None, args, data: str) -> dict:
    started = time.monotonic()
    plan = Plan()
    origins = spread(plan, frame, args.origins)
    leads = pd.timedelta_range(pd.Timedelta(0), plan.horizon, freq="1h")
    configs = {config.name: config for config in candidates(tau)}
    log.info("comparing %d configurations on %d origins", len(configs), len(origins))
    frames = fit_and_predict(client, configs, frame, origins, leads)
    market, anchor = market_of(frame, pd.Timedelta(hours=1))
    times, hours = epoch_seconds(pd.Series(origins)), HOURS
    for model, found in baselines(market, anchor, times, hours).items():
        ds = pd.to_datetime((times[:, None] + hours[None, :] * HOUR).ravel(), unit="s")
        rows = {"ds": ds, "yhat": found["yhat"].ravel(), "model": model}
        if DEFAULT_LEVEL in found:
            rows["yhat_lower"], rows["yhat_upper"] = (b.ravel() for b in found[DEFAULT_LEVEL])
        frames.append(pd.DataFrame(rows).assign(cutoff=np.repeat(origins, len(hours))))
    forecasts = pd.concat(frames, ignore_index=True)
    forecasts["y"] = frame.set_index("ds")["y"].reindex(forecasts["ds"]).to_numpy()
    return {
        "data": data,
        "origins": [iso_moment(at) for at in origins],
        "interval_width": ModelConfig().interval_width,
        "rows": table_rows(forecasts, [*configs, "naive", "drift"]),
        "seconds": round(time.monotonic() - started),
    }


def candidates(chosen_damping: float | None) -> list[ModelConfig]:
    """The reference idea, each change on its own, and the default, with Prophet's intervals."""
    plain = ModelConfig(name="", anchored=False, calibrated=False)
    changes: dict[str, dict] = {
        "reference: Prophet defaults, raw price, all history": {
            "target": "price",
            "window_days": None,
        },
        "log price, all history": {"window_days": None},
        "log price, last 365 days": {},
        "raw price, multiplicative seasonality, last 365 days": {
            "target": "price",
            "seasonality_mode": "multiplicative",
        },
        "log price, changepoint_prior_scale 0.01": {"changepoint_prior_scale": 0.01},
        "log price, changepoint_prior_scale 0.5": {"changepoint_prior_scale": 0.5},
        "log price, changepoint_range 0.98, changepoint_prior_scale 0.5": {
            "changepoint_prior_scale": 0.5,
            "changepoint_range": 0.98,
        },
        "log price, anchored to the last close": {"anchored": True},
        f"log price, anchored, damped (tau {chosen_damping} h)": {
            "anchored": True,
            "damping_hours": chosen_damping,
        },
    }
    return [plain.with_changes(name=name, **each) for name, each in changes.items()]


def spread(plan: Plan, frame: pd.DataFrame, count: int) -> list[pd.Timestamp]:
    """`count` refit origins evenly spread over the evaluation span (all of them when 0)."""
    origins = plan.origins(frame["ds"])
    evaluated = [at for at in origins if at >= origins[-1] - plan.evaluation_span]
    if count <= 0 or count >= len(evaluated):
        return evaluated
    picks = np.unique(np.linspace(0, len(evaluated) - 1, count).round().astype(int))
    return [evaluated[i] for i in picks]


def fit_and_predict(
    client: Client,
    configs: dict[str, ModelConfig],
    history: pd.DataFrame,
    origins: list[pd.Timestamp],
    leads: pd.TimedeltaIndex,
) -> list[pd.DataFrame]:
    """One Prophet fit per configuration and origin, each a task on the cluster, in order."""
    shared = client.scatter(history, broadcast=True)
    tasks = [
        (name, config, origin, origin + leads)
        for name, config in configs.items()
        for origin in origins
    ]
    futures = [client.submit(_prophet_task, shared, task, pure=False) for task in tasks]
    with progress(len(tasks), "compare: Prophet fits", "fit") as bar:
        for _ in as_completed(futures):
            bar.update(1)
    return client.gather(futures)


def progress(total: int, description: str, unit: str) -> tqdm:
    """A plain tqdm bar for a long loop of one process (the Prophet fits, the peers' origins)."""
    terminal = sys.stderr.isatty()
    return tqdm(
        total=total,
        desc=description,
        unit=unit,
        file=sys.stderr,
        mininterval=0.5 if terminal else 30.0,
        dynamic_ncols=terminal,
    )


class ProphetForecast(ProphetForecaster):
    """Prophet as training fits it, post-processed as served (its interval if uncalibrated)."""

    def predict(self, ds: pd.Series) -> pd.DataFrame:
        raw = self.raw(ds)
        hours = postprocess.hours_ahead(self.rules, epoch_seconds(raw["ds"]))
        point = postprocess.centre(self.rules, raw["yhat"].to_numpy(), hours)
        out = pd.DataFrame({"ds": raw["ds"], "yhat": point})
        if not self.config.calibrated:  # Prophet's bounds, moved with its centre
            for bound in ("yhat_lower", "yhat_upper"):
                offset = (raw[bound] - raw["yhat"]).to_numpy()
                out[bound] = (
                    point * np.exp(offset) if self.config.target == "log" else point + offset
                )
        return out


def _prophet_task(history: pd.DataFrame, task: tuple) -> pd.DataFrame:
    name, config, origin, ds = task
    quiet_stan()  # on a Dask worker
    train = history[history["ds"] <= origin]
    forecaster = ProphetForecast(config).fit(train)
    return forecaster.predict(pd.Series(ds)).assign(model=name, cutoff=train["ds"].iloc[-1])


def table_rows(forecasts: pd.DataFrame, order: list[str]) -> list[dict]:
    """MAPE and coverage of each model's own 80% interval at each horizon."""
    lead = forecasts["ds"] - forecasts["cutoff"]
    rows = []
    for model in order:
        row: dict = {"configuration": model}
        mine = forecasts[forecasts["model"] == model]
        for label, horizon in HORIZONS.items():
            at = mine[(lead[mine.index] == horizon) & mine["y"].notna()]
            row[f"mape_{label}"] = float((at["yhat"] / at["y"] - 1).abs().mean())
            covered = None
            if "yhat_lower" in at and at["yhat_lower"].notna().all():
                covered = float(at["y"].between(at["yhat_lower"], at["yhat_upper"]).mean())
            row[f"coverage_{label}"] = covered
        rows.append(row)
    return rows


def peers(
    client: Client, history: History, manifest: dict, args, settings: TrainingSettings
) -> dict:
    """The served forecast, naive and statsforecast's models on the same origins, scored alike."""
    started = time.monotonic()
    frame = model_frame(history.bars.frame, "close")
    plan = Plan()
    spec = named(msgspec.convert(manifest["band"], BandSpec))
    # The backtest as training runs it, with the artifact's damping and band (fixed: served).
    job = PairJob(
        asset=ASSETS["btc-usd"],
        bars=history,
        gate=settings,
        horizon_days=settings.max_horizon_days,
        config=ModelConfig().with_changes(damping_hours=manifest["params"]["damping_hours"]),
        plan=plan,
        band=spec,
    )
    backtest = backtest_pair(client, job)
    origins = spread(plan, frame, args.peer_origins)
    times, hours = epoch_seconds(pd.Series(origins)), HOURS
    forecasts = {**ours(backtest, times, hours), **statsforecast_rows(frame, origins, hours)}
    actual = actual_at(backtest.dense.market, times[:, None] + hours[None, :] * HOUR)
    rows = []
    for j, label in enumerate(HORIZONS):
        lags = overlap_lags(float(hours[j]), plan.step / pd.Timedelta(hours=1))
        known = np.isfinite(actual[:, j])
        served = _interval(forecasts[SERVED], actual, j)
        for model, result in forecasts.items():
            row = {"horizon": label, "model": model, **_scores(result, actual[:, j], j, known)}
            if model != SERVED:
                versus = paired(served, _interval(result, actual, j), lags)
                row["served_minus_this"], row["served_minus_this_se"] = versus.mean, versus.se
            rows.append(row)
    return {
        "origins": [iso_moment(at) for at in origins],
        "band": spec.name,
        "rows": rows,
        "seconds": round(time.monotonic() - started),
    }


def _scores(result: dict, actual: np.ndarray, j: int, known: np.ndarray) -> dict:
    centre = result["yhat"][known, j]
    bounds = {level: (result[level][0][known, j], result[level][1][known, j]) for level in LEVELS}
    y = actual[known]
    return {
        "mape": float(np.mean(np.abs(centre / y - 1))),
        "coverage_by_level": {
            str(level): float(inside(y, *bounds[level]).mean()) for level in LEVELS
        },
        "interval_score": float(np.mean(interval_score(y, *bounds[DEFAULT_LEVEL], DEFAULT_LEVEL))),
        "quantile_score": float(np.mean(quantile_score(y, centre, bounds))),
    }


def _interval(result: dict, actual: np.ndarray, j: int) -> np.ndarray:
    lower, upper = result[DEFAULT_LEVEL]
    return interval_score(actual[:, j], lower[:, j], upper[:, j], DEFAULT_LEVEL)


def ours(backtest: BacktestResult, times: np.ndarray, hours: np.ndarray) -> dict[str, dict]:
    """The served forecast in its band, and the naive one, at `times`, as the backtest has them."""
    dense = backtest.dense
    pos = dense.market.position(times)
    served = dense.refits.centre(dense.config, dense.anchor[pos], times, hours)
    naive = baselines(dense.market, dense.anchor, times, hours)["naive"]
    return {SERVED: _banded(served, backtest.served_band.offsets(pos, hours)), "naive": naive}


def baselines(
    market: Market, anchor: np.ndarray, times: np.ndarray, hours: np.ndarray
) -> dict[str, dict]:
    """The naive forecast with the naive band, and the drift forecast, as the backtest makes
    them (`scoring.DenseOrigins.scores`), at `times`."""
    pos = market.position(times)
    naive = np.repeat(anchor[pos][:, None], len(hours), axis=1)
    band = naive_band(market, pos, list(hours)).offsets(pos, hours, calibrated_at=times)
    drift = drift_centre(market, anchor, pos, hours, ModelConfig().window_days)
    return {"naive": _banded(naive, band), "drift": {"yhat": drift}}


def _banded(centre: np.ndarray, offsets: dict) -> dict:
    """`centre` with its band at each level, from log offsets at each tail."""
    return {"yhat": centre, **{level: bounds(centre, offsets, level) for level in LEVELS}}


def statsforecast_rows(
    frame: pd.DataFrame, origins: list[pd.Timestamp], hours: np.ndarray
) -> dict[str, dict]:
    """Naive and AutoETS on the last year's log close, with conformal intervals, as prices."""
    steps = int(hours.max())
    intervals = ConformalIntervals(h=steps, n_windows=2)
    forecasts = []
    with progress(len(origins), "compare: statsforecast", "origin") as bar:
        for origin in origins:
            train = window(frame[frame["ds"] <= origin], ModelConfig().window_days)
            data = pd.DataFrame({"unique_id": "btc", "ds": train["ds"], "y": np.log(train["y"])})
            models = [
                Naive(prediction_intervals=intervals),
                AutoETS(season_length=24, prediction_intervals=intervals),
            ]
            forecast = StatsForecast(models=models, freq="h", n_jobs=1).forecast(
                df=data, h=steps, level=list(LEVELS)
            )
            forecasts.append(forecast.iloc[hours - 1])
            bar.update(1)

    def price(column: str) -> np.ndarray:
        return np.exp(np.stack([rows[column].to_numpy() for rows in forecasts]))

    return {
        f"statsforecast {model}": {
            "yhat": price(model),
            **{
                level: (price(f"{model}-lo-{level}"), price(f"{model}-hi-{level}"))
                for level in LEVELS
            },
        }
        for model in ("Naive", "AutoETS")
    }


if __name__ == "__main__":
    sys.exit(main())
