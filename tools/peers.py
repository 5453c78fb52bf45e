"""The peers and re-anchored bands `make panel` scores on its pairs' evaluation origins and final
test beside the served band (docs/model.md, "Peers on the band's own footing" and "Bands answered
hours later"): the peers (`tools/peer_bands.py`) as issued and each calibrated the band's way
(named with `CALIBRATED`), their model confidence set, and the band answered `s` hours after its
origin, re-anchored at the close then, against the fresh one. Every figure is the panel's score
relative to naive's, pooled with standard errors clustered by time (`panel_figures.Times`).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from arch.bootstrap import MCS
from scipy.stats import norm

from cryptopredict.artifact.schema import DEFAULT_LEVEL, BandSpec
from cryptopredict.model.bands import BAND_HOURS, Band, Calibrated, Spreads, pool_inputs, spreads
from cryptopredict.model.calibration import Stored
from cryptopredict.model.market import DAY, HOUR, WEEK, YEAR_DAYS, Market
from cryptopredict.model.plan import HORIZONS, horizon_label
from cryptopredict.model.refits import outcome
from cryptopredict.model.scoring import naive_band
from cryptopredict.standard_error import tails
from tools.panel_figures import Times
from tools.panel_search import SCORED, PairOrigins, banded, outcomes, shared_calibrations
from tools.peer_bands import HALVES, PEERS, Offsets, Settings, paths_at, peer_offsets

SHOWN = (1, 3, 6)  # hours after the origin a band is re-anchored at, shown each
# A release every six hours (`.github/workflows/release.yml`'s schedule) is answered from 0 to 5
# hours after its data's end, each alike: its band's score over the cycle.
CYCLE_HOURS = 6
SHIFTS = tuple(sorted({*SHOWN, *range(CYCLE_HOURS)}))  # every shift scored
CALIBRATED = "/calibrated"  # a peer's name with it: its 80% band calibrated the band's way
ROWS = (*PEERS, *(name + CALIBRATED for name in PEERS))  # every peer's row, in the table's order
SEED = 85  # with the pair's name and the week: GARCH-t's simulated paths; the MCS's bootstrap
MCS_SIZE, MCS_REPS = 0.05, 1000  # the model confidence set at 95%, from 1,000 bootstraps
# The leads the peers are scored at: the bars' (1 h, 1 d, 7 d), not 30 days, where the peers'
# standard errors are several points of naive's and GARCH-t's paths cost the most.
LEADS = [h for h in SCORED if h <= 7 * 24]
Outcomes = tuple[pd.DataFrame, dict[str, int]]  # `panel_search.outcomes`'


def served_band(pair: PairOrigins, spec: BandSpec, shared: Mapping[int, Calibrated] | None) -> Band:
    dense = pair.dense
    return Band(spec, dense.market, dense.pos, pair.errors(list(BAND_HOURS)), shared)


def reanchored_rows(
    pair: PairOrigins, band: Band, shifts: tuple[int, ...] = SHIFTS
) -> pd.DataFrame:
    """Per evaluation origin, shift s and scored horizon h: the interval score and hold of the
    origin's band at lead h around the close at origin + s (`reanchored`), of the band issued
    at origin + s (`fresh`) and of the naive band issued then (`naive`), for the close at
    origin + s + h. Origins whose bar at origin + s is missing, or whose window to the outcome
    crosses a gap, are left out."""
    dense = pair.dense
    market = dense.market
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
                frame[f"score_{name}"], frame[f"held_{name}"] = banded(
                    actual[:, j], now, offsets[low][:, j], offsets[high][:, j]
                )
            frames.append(pd.DataFrame(frame)[ok])
    return pd.concat(frames, ignore_index=True)


@dataclass
class PeerBands:
    """One pair's peers at its origins from a calibration pool's reach before its first
    evaluation origin to its last (`pos`), at the scored horizons: each one's 80% band
    (`offsets`), the spread the served band would expect were today's variance the year's
    (`calm`: the yardstick of the pools the pairs share) and the log moves from the last close
    (`errors`, NaN while unknown)."""

    pos: np.ndarray
    times: np.ndarray
    hours: list[int]
    offsets: Offsets
    calm: np.ndarray  # origins x hours
    errors: dict[int, np.ndarray]
    pools: dict[str, Mapping[int, tuple[np.ndarray, ...]]]  # what each peer adds to its pools

    @classmethod
    def of(
        cls,
        market: Market,
        spec: BandSpec,
        pos: np.ndarray,
        offsets: Offsets,
        errors: dict[int, np.ndarray],
        *,
        names: Sequence[str] = PEERS,
    ) -> PeerBands:
        """The peers' `offsets` at `pos` and horizons `errors`'s, and what each of `names` adds
        to the pools it shares with the other pairs (`panel_search.pair_pool_inputs`'s)."""
        hours = sorted(errors)
        spread, relative = spreads(market, spec, pos, np.asarray(hours) * HOUR // market.interval)
        found = cls(pos, market.t[pos], hours, offsets, spread / relative, errors, {})
        for name in names:
            found.pools[name] = pool_inputs(found.spread(name), market, pos, errors)
        return found

    def spread(self, name: str) -> Spreads:
        """The peer's 80% band's half-width in a normal's standard deviations, and that over
        `calm`, at the origins and knots the band asks for (`bands.Spreads`)."""
        lower, upper = self.offsets[name]
        width = (upper - lower) / (2 * norm.ppf(tails(DEFAULT_LEVEL)[1]))

        def at(pos: np.ndarray, knots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            rows = np.searchsorted(self.pos, pos)[:, None]
            columns = np.searchsorted(self.hours, knots)[None, :]  # hourly bars: knots are hours
            return width[rows, columns], (width / self.calm)[rows, columns]

        return at


def peer_bands(pair: PairOrigins, spec: BandSpec, settings: Settings) -> PeerBands:
    """Each peer's band (the full-strength ones at `settings`) at the pair's origins a
    calibration pool needs before its evaluation origins (those with a pool's reach of bars
    before them: a year and the longest lead) and at them and the final test's, its simulation
    seeded by the pair's name, and what each adds to the pools its calibrated row shares with
    the other pairs."""
    dense = pair.dense
    hours = dense.hours(LEADS)
    evaluation = np.flatnonzero(pair.evaluation | pair.final)
    reach = max(spec.pool_for(h) or YEAR_DAYS for h in hours) * DAY + max(hours) * HOUR
    first = dense.times[evaluation[0]]
    begin = min(first, max(first - reach, dense.market.t[0] + reach))
    span = (dense.times >= begin) & (np.arange(len(dense.pos)) <= evaluation[-1])
    pos = dense.pos[span]
    seed = (SEED, zlib.crc32(pair.name.encode()))
    offsets = peer_offsets(dense.market, pos, hours, spec, seed, settings=settings)
    errors = {h: error[span] for h, error in pair.errors(hours).items()}
    return PeerBands.of(dense.market, spec, pos, offsets, errors)


def peer_pools(bands: list[PeerBands], spec: BandSpec, name: str) -> dict[int, Stored]:
    """The pools the peer `name`'s calibrated row shares across the pairs, calibrated at every
    week start the pairs' origins span (`shared_calibrations`)."""
    first = min(int(each.times[0]) for each in bands) // WEEK * WEEK
    weeks = np.arange(first, max(int(each.times[-1]) for each in bands) + 1, WEEK)
    return shared_calibrations([each.pools[name] for each in bands], spec, weeks)


def compared(
    pair: PairOrigins,
    spec: BandSpec,
    shared: Mapping[int, Calibrated] | None,
    bands: PeerBands,
    pools: Mapping[str, Mapping[int, Calibrated]],
) -> tuple[Outcomes, Outcomes, pd.DataFrame, pd.DataFrame]:
    """The pair's outcomes (`panel_search.outcomes`) on its evaluation origins and its final
    test, its rows against the peers on both (`peer_rows`, `span` saying which) and re-anchored
    on its evaluation origins (`reanchored_rows`), from one served band."""
    band = served_band(pair, spec, shared)
    scored = peer_rows(pair, band, bands, pools, pair.evaluation | pair.final)
    final = np.isin(scored["origin"], pair.dense.times[pair.final])
    return (
        outcomes(pair, spec, shared, list(BAND_HOURS), band=band),
        outcomes(pair, spec, shared, list(BAND_HOURS), "final", band=band),
        scored.assign(span=np.where(final, "final", "evaluation")),
        reanchored_rows(pair, band),
    )


def peer_rows(
    pair: PairOrigins,
    band: Band,
    bands: PeerBands,
    pools: Mapping[str, Mapping[int, Calibrated]],
    origins: np.ndarray | None = None,
) -> pd.DataFrame:
    """Per evaluation origin (of `origins`, where given) and scored horizon: the interval score
    and hold of the served band, the naive band, each peer and each peer with pools calibrated
    the band's way (named with `CALIBRATED`), all around the last close (the served point
    forecast at the panel's damping, tau 0); and GARCH-t's from each half of its paths. Each
    band's edges too, as log offsets from its centre (`served-lo-80`)."""
    dense = pair.dense
    market = dense.market
    hours = dense.hours(LEADS)
    leads = np.asarray(hours, dtype=np.float64)
    origins = pair.evaluation if origins is None else origins
    pos, times = dense.pos[origins], dense.times[origins]
    actual = outcome(market, times, leads)
    centre = dense.centre(hours)[origins]
    close = np.exp(market.log_price[pos])
    low, high = tails(DEFAULT_LEVEL)
    served, naive = (
        band.offsets(pos, leads),
        naive_band(market, pos, hours).offsets(pos, leads, calibrated_at=times),
    )
    offsets = {
        "served": (served[low], served[high]),
        "naive": (naive[low], naive[high]),
    }
    rows = np.searchsorted(bands.pos, pos)
    for name, (lower, upper) in bands.offsets.items():
        offsets[name] = (lower[rows], upper[rows])
    for name in bands.pools:
        calibrated = Band(
            band.spec, market, bands.pos, bands.errors, pools[name], spread_of=bands.spread(name)
        ).offsets(pos, leads)
        offsets[name + CALIBRATED] = (calibrated[low], calibrated[high])
    frames = []
    for j, h in enumerate(hours):
        frame = {"horizon": horizon_label(h), "origin": times}
        for name, (lower, upper) in offsets.items():
            middle = centre[:, j] if name == "served" else close
            frame[f"score_{name}"], frame[f"held_{name}"] = banded(
                actual[:, j], middle, lower[:, j], upper[:, j]
            )
            frame[f"{name}-lo-80"], frame[f"{name}-hi-80"] = lower[:, j], upper[:, j]
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
    """Pooled over the pairs, per horizon, on the evaluation origins (`peers`) and the final
    test (`final_test`): the served band against each peer and each peer calibrated the band's
    way, and the model confidence set of them all (`mcs`); on the evaluation origins also each
    margin by calendar year (`years`), what the calibration alone is worth (calibrated minus
    raw, in points of naive's score) and GARCH-t's Monte Carlo error; the band re-anchored `s`
    hours later against the fresh one at each shift `shown` (`reanchored`) and over a release's
    cycle (`cycle`)."""
    out: dict = {"peers": {}, "final_test": {}, "reanchored": {}, "cycle": {}}
    for (label, span), rows in peers.groupby(["horizon", "span"], sort=False):
        horizon = HORIZONS[label]
        found = versus(rows, horizon, "served", list(ROWS))
        found["mcs"] = confidence_set(rows, horizon, ["served", *ROWS])
        out["peers" if span == "evaluation" else "final_test"][label] = found
        if span == "final":
            continue
        years = pd.to_datetime(rows["origin"], unit="s").dt.year
        by_year = {
            str(y): versus(them, horizon, "served", list(ROWS)) for y, them in rows.groupby(years)
        }
        times, naive = Times(rows, horizon), rows["score_naive"].to_numpy()
        for name in ROWS:
            found[name]["years"] = {
                year: {
                    key: each[name][key] for key in ("served_minus_this", "served_minus_this_se")
                }
                for year, each in by_year.items()
            }
        for name in PEERS:
            gain = times.ratio(_gap(rows, "score", name + CALIBRATED, name), naive)
            found[name + CALIBRATED] |= {
                "calibrated_minus_raw": gain.mean,
                "calibrated_minus_raw_se": gain.se,
            }
        # The two halves' figures differ by twice the whole's Monte Carlo error (each half's
        # variance twice the whole's): half the standard error of their difference.
        score = times.ratio(_gap(rows, "score", *HALVES), naive)
        held = times.ratio(_gap(rows, "held", *HALVES), np.ones(len(rows)))
        found["garch-t"]["monte_carlo"] = {
            "paths": paths_at(int(horizon / pd.Timedelta(hours=1))),
            "relative_se": score.se / 2,
            "coverage_80_se": held.se / 2,
        }
    for s in shown:
        out["reanchored"][f"{s}h"] = _reanchored(reanchored[reanchored["shift"] == s])
    out["cycle"] = _reanchored(reanchored[reanchored["shift"] < CYCLE_HOURS])
    return out


def confidence_set(rows: pd.DataFrame, horizon: pd.Timedelta, names: list[str]) -> dict[str, float]:
    """Each band's p-value in Hansen, Lunde and Nason's model confidence set (arch's `MCS`, its
    losses each origin time's interval scores summed over the pairs, a stationary bootstrap of
    the blocks the standard errors' lags span, seeded); the set at 95%: those of 0.05 and over."""
    times = Times(rows, horizon)
    losses = pd.DataFrame({name: times.sums(rows[f"score_{name}"].to_numpy()) for name in names})
    same = losses.T.drop_duplicates()  # a band identical to another (GARCH-t's two at 1 h) once
    found = MCS(same.T, MCS_SIZE, reps=MCS_REPS, block_size=times.lags + 1, seed=SEED)
    found.compute()
    first = {tuple(losses[name]): name for name in reversed(names)}
    return {name: float(found.pvalues.loc[first[tuple(losses[name])], "Pvalue"]) for name in names}


def _gap(rows: pd.DataFrame, kind: str, one: str, other: str) -> np.ndarray:
    return rows[f"{kind}_{one}"].to_numpy() - rows[f"{kind}_{other}"].to_numpy()


def _reanchored(rows: pd.DataFrame) -> dict:
    by_horizon = rows.groupby("horizon", sort=False)
    return {
        label: versus(mine, HORIZONS[label], "reanchored", ["fresh"]) for label, mine in by_horizon
    }
