"""The manifest's `served`: the point forecast and the band named, and how each was settled."""

from __future__ import annotations

from cryptopredict.artifact.schema import BandSearch, BandSpec, ModelConfig, ServedNames, Settlement

PANEL_DAMPING = (
    "the panel's damping (cryptopredict/model/panel_choice.json): chosen by `make panel` for "
    "every pair on the pooled validation refits of the hourly spot pairs, where no damping "
    "that keeps some of Prophet's move beat the last close (tau 0) beyond two standard errors"
)
PANEL = (
    "the panel's settings (cryptopredict/model/panel_choice.json): chosen by `make panel` per "
    "horizon on the pooled validation origins of the hourly spot pairs, the same for every "
    "pair, calibrated on this pair's own recent errors"
)


def point_forecast(config: ModelConfig) -> str:
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


def band_settled(choice: BandSearch | None, *, panel: bool) -> Settlement:
    if panel:
        scored = (
            f"; scored on this pair's {choice.validation_origins} validation origins for the record"
            if choice is not None and choice.validation_origins
            else ""
        )
        return Settlement(how="fixed", why=f"{PANEL}{scored}")
    if choice is None:
        return Settlement(
            how="fixed",
            why="trained without a backtest: the default band, calibrated on the naive "
            "forecast's errors",
        )
    return Settlement(
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
    band_choice: BandSearch | None,
    panel_damping: bool,
    panel_band: bool,
) -> ServedNames:
    return ServedNames(
        point_forecast=point_forecast(config),
        band_method=band.name,
        damping=Settlement(
            how="fixed",
            why=PANEL_DAMPING if panel_damping else "the configuration's damping, not the panel's",
        ),
        band=band_settled(band_choice, panel=panel_band),
    )
