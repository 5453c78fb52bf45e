"""The variance candidates `make panel` scores against the served band on the pairs' validation
origins, each an 80% band calibrated the band's way (docs/model.md, "Variance candidates"); before
a candidate has its history to fit on (`HISTORY`), the served spread stands in."""

from __future__ import annotations

import numpy as np
import pandas as pd
from distributed import Client, Future
from prophet import Prophet
from prophet.utilities import regressor_coefficients
from scipy.stats import norm

from cryptopredict.artifact.schema import DEFAULT_LEVEL, BandSpec
from cryptopredict.model.band_spec import named
from cryptopredict.model.bands import Band, Calibrated, spreads
from cryptopredict.model.forecasters import quiet_stan
from cryptopredict.model.market import DAY, HOUR, WEEK, Market
from cryptopredict.model.plan import HORIZONS
from cryptopredict.standard_error import tails
from tools.panel_search import SCORED, PairOrigins
from tools.peer_bands import HAR_HOURS, Profiled
from tools.peers import CALIBRATED, LEADS, PeerBands, peer_pools, peer_rows, versus

CANDIDATES = ("closes", "har-closes", "har-ranges", "har-ranges-btc", "prophet-log-rv", "blend")
REFIT_WEEKS = 13  # every candidate refitted each quarter (the panel's budget; HAR-RV weekly)
PROPHET_DAYS = 90  # Prophet's fit: on the 90 days before
HISTORY = PROPHET_DAYS * DAY + max(HAR_HOURS) * HOUR  # Prophet's, and a month for its terms
BTC = "BTCUSDT"  # whose range variance joins the alts' HAR terms (`har-ranges-btc`)


def candidate_bands(pair: PairOrigins, spec: BandSpec, btc: PairOrigins) -> PeerBands:
    """Each candidate's 80% band at the pair's origins to its last validation origin, at the
    peers' leads, and what each adds to the pools it shares with the other pairs."""
    dense = pair.dense
    market, hours = dense.market, dense.hours(LEADS)
    pos = dense.pos[: np.flatnonzero(pair.validation)[-1] + 1]
    steps = np.asarray(hours) * HOUR // market.interval
    served = spreads(market, spec, pos, steps)[0]
    found = {"closes": spreads(market, named(spec, range_variance=False), pos, steps)[0]}
    theirs = btc.dense.market  # BTC/USDT's range variance at the pair's bars, NaN where none
    at = np.maximum(theirs.position(market.t), 0)
    other = np.where(theirs.t[at] == market.t, theirs.ranged.sizes[at] ** 2, np.nan)
    found |= _refitted(market, spec, pos, hours, [] if pair.name == BTC else [other])
    found["blend"] = np.sqrt(served * found["har-ranges"])  # quantiles averaged in logs
    level = norm.ppf(tails(DEFAULT_LEVEL)[1])
    widths = {name: level * np.where(np.isfinite(s), s, served) for name, s in found.items()}
    offsets = {name: (-width, width) for name, width in widths.items()}
    errors = {h: error[: len(pos)] for h, error in pair.errors(hours).items()}
    return PeerBands.of(market, spec, pos, offsets, errors, names=CANDIDATES)


def _refitted(
    market: Market, spec: BandSpec, pos: np.ndarray, hours: list[int], others: list[np.ndarray]
) -> dict[str, np.ndarray]:
    """The HAR candidates (`peer_bands.Profiled.har_spread`, on up to a year: on the closes'
    squared returns, on the ranges' (HAR-RV's), and on the ranges' with `others`) and Prophet's
    (`_prophet`), refitted every `REFIT_WEEKS` once the pair has its `HISTORY`."""
    reads: dict[str, tuple] = {"har-closes": (market.sizes**2, []), "har-ranges": (None, [])}
    reads["har-ranges-btc"] = (None, others)
    out = {name: np.full((len(pos), len(hours)), np.nan) for name in (*reads, "prophet-log-rv")}
    every = REFIT_WEEKS * WEEK
    starts = market.t[pos] // every * every
    for start in np.unique(starts[starts >= market.t[0] + HISTORY]).tolist():
        rows, week = np.flatnonzero(starts == start), Profiled(market, start, spec)
        for name, (variance, extra) in reads.items():
            out[name][rows] = week.har_spread(pos[rows], hours, start, variance, extra)
        out["prophet-log-rv"][rows] = _prophet(market, start, pos[rows], hours)
    return out


def _prophet(market: Market, start: int, pos: np.ndarray, hours: list[int]) -> np.ndarray:
    """Prophet on each hour's log range variance, with its daily and weekly seasonality and the
    HAR terms (the logs of the means over the last day, week and month) as extra regressors,
    fitted on the `PROPHET_DAYS` before `start`; per origin and lead, its forecast's lognormal
    mean summed over the lead's hours, the regressors held at the origin's."""
    variance = market.ranged.sizes**2
    begin, end = market.position(np.array([start - PROPHET_DAYS * DAY, start - 1]))
    fit = np.arange(begin + 1, end + 1)
    fit = fit[np.isfinite(variance[fit])]
    floor = 0.01 * variance[fit].mean()
    means = [pd.Series(variance).rolling(w, min_periods=1).mean().to_numpy() for w in HAR_HOURS]
    terms = {f"har_{w}": np.log(mean + floor) for w, mean in zip(HAR_HOURS, means, strict=True)}
    frame = pd.DataFrame(
        {"ds": pd.to_datetime(market.t[fit], unit="s"), "y": np.log(variance[fit] + floor)}
        | {name: term[fit - 1] for name, term in terms.items()}  # known before the hour
    ).dropna()
    quiet_stan()
    model = Prophet(growth="flat", yearly_seasonality=False, uncertainty_samples=0)
    for name in terms:
        model.add_regressor(name)
    model.fit(frame)
    residual = np.var(frame["y"].to_numpy() - model.predict(frame)["yhat"].to_numpy())
    at = (market.t[pos] - start) // HOUR  # each origin's hour on the forecast's grid
    grid = start + np.arange(at.max() + max(hours) + 1) * HOUR
    future = pd.DataFrame({"ds": pd.to_datetime(grid, unit="s")} | dict.fromkeys(terms, 0.0))
    total = np.cumsum(np.exp(model.predict(future)["yhat"].to_numpy() + residual / 2))
    coefficients = regressor_coefficients(model).set_index("regressor")["coef"]
    level = np.exp(sum(coefficients[name] * term[pos] for name, term in terms.items()))
    return np.column_stack([np.sqrt(level * (total[at + h] - total[at])) for h in hours])


def scored(
    client: Client, pairs: dict[str, Future], spec: BandSpec, shared: Future | None
) -> dict[str, dict]:
    """Per peers' lead, the served band (`spec` calibrated as the search scores it, with the
    pairs' `shared` pools) against each candidate calibrated the band's way, pooled over the
    pairs' validation origins (`peers.versus`)."""
    bands = [
        client.submit(candidate_bands, pair, spec, pairs[BTC], pure=False)
        for pair in pairs.values()
    ]
    pools = {name: client.submit(peer_pools, bands, spec, name, pure=False) for name in CANDIDATES}
    rows = [
        client.submit(_rows, pair, spec, shared, each, pools, pure=False)
        for pair, each in zip(pairs.values(), bands, strict=True)
    ]
    every = pd.concat(client.gather(rows), ignore_index=True)
    return {
        label: versus(found, HORIZONS[label], "served", [n + CALIBRATED for n in CANDIDATES])
        for label, found in every.groupby("horizon", sort=False)
    }


def _rows(
    pair: PairOrigins,
    spec: BandSpec,
    shared: dict[int, Calibrated] | None,
    bands: PeerBands,
    pools: dict[str, dict[int, Calibrated]],
) -> pd.DataFrame:
    dense = pair.dense
    band = Band(spec, dense.market, dense.pos, pair.errors(dense.hours(SCORED)), shared)
    return peer_rows(pair, band, bands, pools, pair.validation).assign(pair=pair.name)
