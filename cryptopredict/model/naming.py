"""What a trained model serves, named for what it is (the manifest's `served`): the point
forecast, the band's method, and whether the damping and the band were chosen on the
validation origins, forced, or fixed beforehand, and why. Nothing here claims a comparison
that was not made."""

from __future__ import annotations

from cryptopredict.artifact.schema import BandChoice, DampingChoice, ServedParts, Settled
from cryptopredict.model.band_spec import BandSpec
from cryptopredict.model.config import ModelConfig

NO_REFIT = (
    "no Prophet refit fits before the validation outcomes end (each needs a year of bars "
    "before its origin), so no damping could be compared and tau 0 (the last close) is served"
)
QUICK = (
    "the quick model, written before the backtest (`train.py --serve`, `make run`, and a run "
    "with a budget: `train.py --budget`, the release): the last close (tau 0) until a backtest "
    "chooses the damping and its model replaces this one"
)
PANEL = (
    "the panel's settings (cryptopredict/model/panel_band.json): chosen by `make panel` per "
    "horizon on the pooled validation origins of the hourly spot pairs, the same for every "
    "pair, calibrated on this pair's own recent errors"
)


def point_forecast(config: ModelConfig) -> str:
    """The served point forecast, in a phrase."""
    tau = config.damping_hours
    if not config.anchored:
        return "Prophet's path"
    if tau == 0:
        return "the last close (tau 0: Prophet's path is not served)"
    if tau is None:
        return "Prophet's path, shifted to start at the last close (undamped)"
    return (
        f"Prophet damped by tau: the last close plus Prophet's move from it times "
        f"tau / (tau + h) at h hours ahead, tau {tau:g} h"
    )


def damping_settled(
    config: ModelConfig, choice: DampingChoice | None, *, backtested: bool, quick: bool = False
) -> Settled:
    if quick:
        return Settled(how="fixed", why=QUICK)
    if choice is not None:
        among = ", ".join("none" if c.tau is None else f"{c.tau:g} h" for c in choice.candidates)
        return Settled(
            how="chosen",
            why=f"the lowest MAPE relative to the naive forecast's, over the horizons of a day "
            f"and more, on {choice.validation_origins} validation refits, among tau {among}",
        )
    if backtested and config.damping_grid:
        return Settled(how="forced", why=NO_REFIT)
    if backtested:
        return Settled(how="fixed", why="the configuration's damping: no grid to choose from")
    return Settled(how="fixed", why="trained without a backtest: the configuration's damping")


def band_settled(choice: BandChoice | None, *, panel: bool) -> Settled:
    if panel:
        scored = (
            f"; scored on this pair's {choice.validation_origins} validation origins for the record"
            if choice is not None and choice.validation_origins
            else ""
        )
        return Settled(how="fixed", why=f"{PANEL}{scored}")
    if choice is None:
        return Settled(
            how="fixed",
            why="trained without a backtest: the default band, calibrated on the naive "
            "forecast's errors",
        )
    return Settled(
        how="chosen",
        why=f"the lowest 80% interval score relative to the naive band's (within fifths of "
        f"the day before's volatility, averaged over the horizons) on "
        f"{choice.validation_origins} validation origins, among {len(choice.candidates)} "
        "candidates"
        + (
            "; then, per horizon, its calibration pool and its weight of the empirical band"
            if choice.pools is not None
            else ""
        ),
    )


def served_parts(
    config: ModelConfig,
    band: BandSpec,
    *,
    damping: DampingChoice | None,
    band_choice: BandChoice | None,
    backtested: bool,
    panel: bool = False,
    quick: bool = False,
) -> ServedParts:
    """`panel`: the band is the panel's (`panel_band.json`), not chosen for this pair; `quick`:
    the quick model served while the backtest runs."""
    return ServedParts(
        point_forecast=point_forecast(config),
        band_method=band.name,
        damping=damping_settled(config, damping, backtested=backtested, quick=quick),
        band=band_settled(band_choice, panel=panel),
    )
