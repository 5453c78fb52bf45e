"""The peers and re-anchored bands `make panel` scores (issue 70) on its pairs' evaluation
origins, beside the served band (`tools/panel.py` writes their figures to `docs/panel.json`):

- **re-anchored bands**: the band issued at an origin, answered `s` hours later (s = 0 to 6)
  as the API answers it from the close then (`api/serving/forecast.py`): centred on that close,
  the band the model issued for the lead that remains (a user asking `h` ahead gets the
  origin's band at lead h), against the fresh band issued at origin + s for the same lead, and
  the naive band issued then; `cycle`: s = 0 to 5 alike, what a six-hourly release is
  answered with until the next one deploys;
- **peers** (`tools/peer_bands.py`): GARCH(1,1)-t on deseasonalised returns refitted weekly,
  an EWMA and filtered historical simulation, against the served band at each origin, each
  reading the served band's own seasonal profile (`peers`) and, as a sensitivity, the
  hour-of-week one (`peers_hour_of_week`).

Every figure is the panel's score: the 80% interval score on log prices relative to the naive
band's, (sum of scores - sum of naive's) / sum of naive's, and 80% coverage; differences are
in points of naive (served minus peer: below zero, the served band is better), each with its
standard error clustered by time over the pairs (`panel_figures.Times`: Driscoll-Kraay).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from cryptopredict.artifact.schema import DEFAULT_LEVEL, BandSpec
from cryptopredict.model.bands import BAND_HOURS, Band, Calibrated
from cryptopredict.model.market import HOUR
from cryptopredict.model.plan import HORIZONS, horizon_label
from cryptopredict.model.refits import outcome
from cryptopredict.model.scores import inside, interval_score, tails
from cryptopredict.model.scoring import naive_band
from tools.panel_figures import Times
from tools.panel_search import SCORED, PairOrigins
from tools.peer_bands import PEERS, band_profile, hour_of_week, peer_offsets

SHOWN = (1, 3, 6)  # hours after the origin a band is re-anchored at, shown each
# A release every six hours (`.github/workflows/release.yml`'s schedule) is answered from 0 to 5
# hours after its data's end, each alike: its band's score over the cycle.
CYCLE_HOURS = 6
SHIFTS = tuple(sorted({*SHOWN, *range(CYCLE_HOURS)}))  # every shift scored
HOUR_OF_WEEK = "/hour-of-week"  # a peer's name with it: the peer on the hour-of-week profile


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
    band, the naive band and each peer on the served band's profile and on the hour-of-week one
    (named with `HOUR_OF_WEEK`), all around the last close (the served point forecast at the
    panel's damping, tau 0)."""
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
    for profile, suffix in ((band_profile(spec), ""), (hour_of_week, HOUR_OF_WEEK)):
        for name, (lower, upper) in peer_offsets(market, pos, hours, profile).items():
            bands[name + suffix] = (close[:, None], lower, upper)
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


def figures(peers: pd.DataFrame, reanchored: pd.DataFrame, shown: tuple[int, ...] = SHOWN) -> dict:
    """Pooled over the pairs, per horizon: the served band against each peer on its profile
    (`peers`) and on the hour-of-week one (`peers_hour_of_week`), the band re-anchored `s`
    hours later against the fresh one at each shift `shown` (`reanchored`) and over a
    release's cycle (`cycle`)."""
    out: dict = {"peers": {}, "peers_hour_of_week": {}, "reanchored": {}, "cycle": {}}
    sensitivity = {f"{kind}_{name}{HOUR_OF_WEEK}": f"{kind}_{name}" for name in PEERS
                   for kind in ("score", "held")}  # fmt: skip
    for label, horizon in HORIZONS.items():
        rows = peers[peers["horizon"] == label]
        if not rows.empty:
            out["peers"][label] = versus(rows, horizon, "served", list(PEERS))
            other = rows.drop(columns=list(sensitivity.values())).rename(columns=sensitivity)
            out["peers_hour_of_week"][label] = versus(other, horizon, "served", list(PEERS))
    for s in shown:
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
