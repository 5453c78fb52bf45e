"""The full-strength peers' settings (`peer_bands.Settings`), chosen on the pairs' validation
origins before any peer is scored on the evaluation origins or the final test (docs/model.md,
"Peers at full strength"): each setting's peer as issued and calibrated the band's way (its own
pools shared by the pairs), beside the served band as the search scores it; per peer, the
setting with the lowest mean relative score over the peers' leads, calibrated. Each is refitted
every `REFIT_WEEKS` here (the panel's budget; weekly where the peers are scored), and before a
pair's `HISTORY` the served spread stands in."""

from __future__ import annotations

import numpy as np
import pandas as pd
from distributed import Client, Future
from scipy.stats import norm

from cryptopredict.artifact.schema import DEFAULT_LEVEL, BandSpec
from cryptopredict.model.bands import Band, Calibrated, spreads
from cryptopredict.model.market import DAY, HOUR, WEEK
from cryptopredict.model.plan import HORIZONS
from cryptopredict.standard_error import tails
from tools.panel_search import SCORED, PairOrigins
from tools.peer_bands import Profiled, Settings, har_bands, range_garch_bands
from tools.peers import CALIBRATED, LEADS, PeerBands, peer_pools, peer_rows, versus

DAY_WEEK_MONTH = (24, 168, 720)
SETTINGS = {
    "har-rv": {
        "ranges, with the intraday cascade": Settings(),
        "ranges, day, week and month": Settings(har_windows=DAY_WEEK_MONTH),
        "closes, with the intraday cascade": Settings(har_ranges=False),
        "closes, day, week and month": Settings(har_ranges=False, har_windows=DAY_WEEK_MONTH),
    },
    "range-garch": {
        "the range": Settings(),
        "the range and the return": Settings(garch_returns=True),
    },
}
NAMES = [f"{peer}: {said}" for peer, settings in SETTINGS.items() for said in settings]
REFIT_WEEKS = 4
HISTORY = 90 * DAY


def setting_bands(pair: PairOrigins, spec: BandSpec) -> PeerBands:
    """Each setting's peer's 80% band (HAR-RV's with normal quantiles, range-GARCH's with
    empirical ones) at the pair's origins to its last validation origin, at the peers' leads,
    and what each adds to the pools it shares with the other pairs."""
    dense = pair.dense
    market, hours = dense.market, dense.hours(LEADS)
    pos = dense.pos[: np.flatnonzero(pair.validation)[-1] + 1]
    z = norm.ppf(tails(DEFAULT_LEVEL)[1])
    served = z * spreads(market, spec, pos, np.asarray(hours) * HOUR // market.interval)[0]
    found = {name: np.stack([-served, served]) for name in NAMES}
    every = REFIT_WEEKS * WEEK
    starts = market.t[pos] // every * every
    guesses: dict[str, np.ndarray | None] = {}
    for start in np.unique(starts[starts >= market.t[0] + HISTORY]).tolist():
        rows, week = np.flatnonzero(starts == start), Profiled(market, start, spec)
        for said, settings in SETTINGS["har-rv"].items():
            name, band = f"har-rv: {said}", har_bands(week, pos[rows], hours, settings)["har-rv"]
            found[name][:, rows] = np.where(np.isfinite(band), band, found[name][:, rows])
        for said, settings in SETTINGS["range-garch"].items():
            name = f"range-garch: {said}"
            found[name][:, rows], guesses[name] = range_garch_bands(
                week, pos[rows], hours, settings.garch_returns, guesses.get(name)
            )
    errors = {h: error[: len(pos)] for h, error in pair.errors(hours).items()}
    offsets = {name: (band[0], band[1]) for name, band in found.items()}
    return PeerBands.of(market, spec, pos, offsets, errors, names=NAMES)


def chosen(
    client: Client, pairs: dict[str, Future], spec: BandSpec, shared: Future | None
) -> tuple[Settings, dict]:
    """The settings chosen (`Settings`) and the evidence: per peers' lead, the served band
    (`spec` calibrated as the search scores it, with the pairs' `shared` pools) against each
    setting's peer as issued and calibrated the band's way, pooled over the pairs' validation
    origins (`peers.versus`), and each peer's setting chosen."""
    bands = [client.submit(setting_bands, pair, spec, pure=False) for pair in pairs.values()]
    pools = {name: client.submit(peer_pools, bands, spec, name, pure=False) for name in NAMES}
    rows = [
        client.submit(_rows, pair, spec, shared, each, pools, pure=False)
        for pair, each in zip(pairs.values(), bands, strict=True)
    ]
    every = pd.concat(client.gather(rows), ignore_index=True)
    named = [*NAMES, *(name + CALIBRATED for name in NAMES)]
    scored = {
        label: versus(found, HORIZONS[label], "served", named)
        for label, found in every.groupby("horizon", sort=False)
    }
    picks = {
        peer: min(
            said,
            key=lambda s: np.mean(
                [f[f"{peer}: {s}{CALIBRATED}"]["relative"] for f in scored.values()]
            ),
        )
        for peer, said in SETTINGS.items()
    }
    har, garch = (SETTINGS[peer][picks[peer]] for peer in SETTINGS)
    settings = Settings(har.har_ranges, har.har_windows, garch.garch_returns)
    return settings, {"chosen": picks, "scores": scored}


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
