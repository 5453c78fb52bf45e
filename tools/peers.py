"""`python -m tools.peers`: what `make panel` does not score yet (issue 70), on the panel's pairs
and evaluation origins with the recorded damping and band (`panel_choice.json`,
`panel_pool.npz`: nothing is chosen), written to `docs/panel-peers.json`:

- **re-anchored bands**: the band issued at an origin, answered `s` hours later (s = 1, 3, 6)
  as the API answers it from the close then (`api/serving/anchor.py`): centred on that close,
  the band the model issued for the lead that remains (a user asking `h` ahead gets the
  origin's band at lead h), against the fresh band issued at origin + s for the same lead, and
  the naive band issued then;
- **peers** (`tools/peer_bands.py`): GARCH(1,1)-t on deseasonalised returns refitted weekly,
  an EWMA and filtered historical simulation, against the served band at each origin.

Every figure is the panel's score: the 80% interval score on log prices relative to the naive
band's, (sum of scores - sum of naive's) / sum of naive's, and 80% coverage; differences are
in points of naive (served minus peer: below zero, the served band is better), each with its
standard error clustered by time over the pairs (`panel_figures.Times`: Driscoll-Kraay).

    python -m tools.peers [--out docs/panel-peers.json] [--pairs ADAUSDT,...]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from cryptopredict.artifact.schema import DEFAULT_LEVEL, BandSpec
from cryptopredict.config import TrainingSettings
from cryptopredict.model import panel_choice as chooser
from cryptopredict.model.bands import BAND_HOURS, Band, Calibrated
from cryptopredict.model.market import HOUR
from cryptopredict.model.panel_pool import PANEL_POOL, stored_pools
from cryptopredict.model.plan import HORIZONS, horizon_label
from cryptopredict.model.refits import outcome
from cryptopredict.model.scores import inside, interval_score, tails
from cryptopredict.model.scoring import naive_band
from cryptopredict.training.cluster import training_client
from tools.panel import PAIRS_CSV, Task, _finite, band_origins, setups
from tools.panel_figures import Times
from tools.panel_search import SCORED, PairOrigins
from tools.peer_bands import PEERS, peer_offsets

log = logging.getLogger("peers")

SHIFTS = (1, 3, 6)  # hours after the origin a band is re-anchored at
# A release every six hours (`.github/workflows/release.yml`'s schedule) is answered from 0 to 5
# hours after its data's end, each alike: its band's score over the cycle.
CYCLE_HOURS = 6


def _score(
    actual: np.ndarray, centre: np.ndarray, lower: np.ndarray, upper: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The 80% interval score and whether the band held, around log-offsets from `centre`."""
    low, high = centre * np.exp(lower), centre * np.exp(upper)
    return interval_score(actual, low, high, DEFAULT_LEVEL), inside(actual, low, high)


def served_band(pair: PairOrigins, spec: BandSpec, shared: Mapping[int, Calibrated] | None) -> Band:
    dense = pair.dense
    return Band(spec, dense.market, dense.pos, pair.errors(list(BAND_HOURS)), shared)


def reanchored_rows(
    pair: PairOrigins,
    spec: BandSpec,
    shared: Mapping[int, Calibrated] | None,
    shifts: tuple[int, ...] = SHIFTS,
) -> pd.DataFrame:
    """Per evaluation origin, shift s and scored horizon h: the interval score and hold of the
    origin's band at lead h around the close at origin + s (`reanchored`), of the band issued
    at origin + s (`fresh`) and of the naive band issued then (`naive`), for the close at
    origin + s + h. Origins whose bar at origin + s is missing, or whose window to the outcome
    crosses a gap, are left out."""
    dense = pair.dense
    market, band = dense.market, served_band(pair, spec, shared)
    hours = dense.hours(SCORED)
    leads = np.asarray(hours, dtype=np.float64)
    pos, times = dense.pos[pair.evaluation], dense.times[pair.evaluation]
    issued = band.offsets(pos, leads)
    low, high = tails(DEFAULT_LEVEL)
    frames = []
    for s in shifts:
        later = times + s * HOUR
        now = outcome(market, times, np.array([float(s)]))[:, 0]  # the close at origin + s
        there = market.position(later)
        fresh = band.offsets(there, leads)
        naive = naive_band(market, there, hours).offsets(there, leads, calibrated_at=later)
        actual = outcome(market, later, leads)
        for j, h in enumerate(hours):
            ok = np.isfinite(now) & np.isfinite(actual[:, j])
            frame = {"shift": s, "horizon": horizon_label(h), "origin": times}
            for name, offsets in (("reanchored", issued), ("fresh", fresh), ("naive", naive)):
                score, held = _score(actual[:, j], now, offsets[low][:, j], offsets[high][:, j])
                frame[f"score_{name}"], frame[f"held_{name}"] = score, held.astype(np.float64)
            frames.append(pd.DataFrame(frame)[ok])
    return pd.concat(frames, ignore_index=True)


def peer_rows(
    pair: PairOrigins, spec: BandSpec, shared: Mapping[int, Calibrated] | None
) -> pd.DataFrame:
    """Per evaluation origin and scored horizon: the interval score and hold of the served
    band, the naive band and each peer, all around the last close (the served point forecast
    at the panel's damping, tau 0)."""
    dense = pair.dense
    market, band = dense.market, served_band(pair, spec, shared)
    hours = dense.hours(SCORED)
    leads = np.asarray(hours, dtype=np.float64)
    pos, times = dense.pos[pair.evaluation], dense.times[pair.evaluation]
    actual = outcome(market, times, leads)
    centre = dense.centre(hours)[pair.evaluation]
    close = np.exp(market.log_price[pos])
    low, high = tails(DEFAULT_LEVEL)
    served, naive = (
        band.offsets(pos, leads),
        naive_band(market, pos, hours).offsets(pos, leads, calibrated_at=times),
    )
    bands = {
        "served": (centre, served[low], served[high]),
        "naive": (close[:, None], naive[low], naive[high]),
    }
    for name, (lower, upper) in peer_offsets(market, pos, hours).items():
        bands[name] = (close[:, None], lower, upper)
    frames = []
    for j, h in enumerate(hours):
        frame = {"horizon": horizon_label(h), "origin": times}
        for name, (middle, lower, upper) in bands.items():
            c = middle[:, min(j, middle.shape[1] - 1)]
            score, held = _score(actual[:, j], c, lower[:, j], upper[:, j])
            frame[f"score_{name}"], frame[f"held_{name}"] = score, held.astype(np.float64)
        frames.append(pd.DataFrame(frame)[np.isfinite(actual[:, j])])
    return pd.concat(frames, ignore_index=True)


def versus(rows: pd.DataFrame, horizon: pd.Timedelta, mine: str, theirs: list[str]) -> dict:
    """`mine` and each of `theirs` at one horizon, every pair's forecasts pooled: each one's
    interval score relative to naive and 80% coverage, and `mine` minus each (in points of
    naive's score), with standard errors clustered by time."""
    times = Times(rows, horizon)
    naive, ones = rows["score_naive"].to_numpy(), np.ones(len(rows))

    def own(name: str) -> dict:
        relative = times.ratio(rows[f"score_{name}"].to_numpy() - naive, naive)
        coverage = times.ratio(rows[f"held_{name}"].to_numpy(), ones)
        return {
            "relative": relative.mean,
            "relative_se": relative.se,
            "coverage_80": coverage.mean,
            "coverage_80_se": coverage.se,
        }

    out = {
        "origins": len(times.times),
        "forecasts": len(rows),
        "pairs": int(rows["pair"].nunique()),
        "lags": times.lags,
        mine: own(mine),
    }
    for name in theirs:
        diff = times.ratio(
            rows[f"score_{mine}"].to_numpy() - rows[f"score_{name}"].to_numpy(), naive
        )
        ratio = times.ratio(rows[f"score_{mine}"].to_numpy(), rows[f"score_{name}"].to_numpy())
        out[name] = {
            **own(name),
            f"{mine}_minus_this": diff.mean,
            f"{mine}_minus_this_se": diff.se,
            "verdict": diff.verdict(),
            f"{mine}_over_this": ratio.mean,
            f"{mine}_over_this_se": ratio.se,
        }
    return out


def figures(
    peers: pd.DataFrame, reanchored: pd.DataFrame, shifts: tuple[int, ...] = SHIFTS
) -> dict:
    out: dict = {"peers": {}, "reanchored": {}, "cycle": {}}
    for label, horizon in HORIZONS.items():
        rows = peers[peers["horizon"] == label]
        if not rows.empty:
            out["peers"][label] = versus(rows, horizon, "served", list(PEERS))
    for s in shifts:
        out["reanchored"][f"{s}h"] = _reanchored(reanchored[reanchored["shift"] == s])
    out["cycle"] = _reanchored(reanchored[reanchored["shift"] < CYCLE_HOURS])
    return out


def _reanchored(rows: pd.DataFrame) -> dict:
    found = {}
    for label, horizon in HORIZONS.items():
        mine = rows[rows["horizon"] == label]
        if not mine.empty:
            found[label] = versus(mine, horizon, "reanchored", ["fresh"])
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.peers", description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("docs/panel-peers.json"))
    parser.add_argument("--pairs", help="comma-separated symbols (default: every pair)")
    parser.add_argument("--csv", type=Path, default=PAIRS_CSV, help="the hourly pairs (long CSV)")
    parser.add_argument("--choice-file", type=Path, default=chooser.PANEL_CHOICE)
    parser.add_argument("--pool-file", type=Path, default=PANEL_POOL)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    started = time.monotonic()
    symbols = args.pairs.split(",") if args.pairs else sorted(
        pd.read_csv(args.csv, usecols=["symbol"])["symbol"].unique()
    )  # fmt: skip
    tasks: list[Task] = [(symbol, args.csv, symbol) for symbol in symbols]
    tau = json.loads(args.choice_file.read_text())["damping"]["chosen"]
    spec = chooser.panel_band(path=args.choice_file)
    if spec is None:
        raise SystemExit(f"peers: {args.choice_file} holds no band: run `make panel`")
    shared = stored_pools(args.pool_file)
    shifts = tuple(sorted({*SHIFTS, *range(CYCLE_HOURS)}))
    settings = TrainingSettings.from_env()
    with training_client(settings) as client:
        pairs = band_origins(client, setups(client, tasks, settings), tau)
        names = list(pairs)
        scored = client.gather(
            [client.submit(peer_rows, pairs[name], spec, shared, pure=False) for name in names]
            + [client.submit(reanchored_rows, pairs[name], spec, shared, shifts, pure=False)
               for name in names]
        )  # fmt: skip
    peers = pd.concat([rows.assign(pair=n) for n, rows in zip(names, scored, strict=False)])
    later = scored[len(names) :]
    reanchored = pd.concat([rows.assign(pair=n) for n, rows in zip(names, later, strict=True)])
    result = _finite(
        {
            "about": "Generated by `python -m tools.peers`; do not edit.",
            "band": spec.name,
            "damping_hours": tau,
            "pairs": names,
            **figures(peers, reanchored),
            "seconds": round(time.monotonic() - started),
        }
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    log.info("wrote %s in %.0f s", args.out, time.monotonic() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
