"""Model configurations: the served default, the reference idea, and what the comparison tries."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace


@dataclass(frozen=True)
class ModelConfig:
    """A Prophet configuration plus how its output is turned into the served forecast."""

    name: str
    target: str = "log"  # fit Prophet on "log" close (exponentiate back) or on "price"
    growth: str = "linear"
    seasonality_mode: str = "additive"
    changepoint_prior_scale: float = 0.05
    changepoint_range: float = 0.8
    window_days: int | None = 365  # train on the most recent days only; None: all history
    interval_width: float = 0.8
    anchored: bool = True  # start the forecast at the last close
    # Damp the model's move away from the anchor (tau, hours; None: undamped, 0: none of the
    # model's move is kept). The served one is the panel's (`panel_choice.served_config`).
    damping_hours: float | None = None
    # Bands calibrated on backtest errors (cryptopredict.model.bands) instead of Prophet's own.
    calibrated: bool = True

    def prophet_kwargs(self) -> dict:
        return {
            "growth": self.growth,
            "seasonality_mode": self.seasonality_mode,
            "changepoint_prior_scale": self.changepoint_prior_scale,
            "changepoint_range": self.changepoint_range,
            "interval_width": self.interval_width,
        }

    def to_dict(self) -> dict:
        return asdict(self)

    def with_changes(self, **changes) -> ModelConfig:
        return replace(self, **changes)


REFERENCE = ModelConfig(
    name="reference: Prophet defaults, raw price, all history",
    target="price",
    window_days=None,
    anchored=False,
    calibrated=False,
)

# The served configuration but its damping, which the panel chooses (`panel_choice.py`).
DEFAULT = ModelConfig(name="default")


def candidates(chosen_damping: float | None) -> list[ModelConfig]:
    """What the comparison measures: the reference idea, each change on its own, and the default.

    Each is scored with Prophet's own intervals, so their coverage shows what calibration fixes.
    """
    plain = ModelConfig(name="", anchored=False, calibrated=False)
    return [
        REFERENCE,
        plain.with_changes(name="log price, all history", window_days=None),
        plain.with_changes(name="log price, last 365 days"),
        plain.with_changes(
            name="raw price, multiplicative seasonality, last 365 days",
            target="price",
            seasonality_mode="multiplicative",
        ),
        plain.with_changes(
            name="log price, changepoint_prior_scale 0.01", changepoint_prior_scale=0.01
        ),
        plain.with_changes(
            name="log price, changepoint_prior_scale 0.5", changepoint_prior_scale=0.5
        ),
        plain.with_changes(
            name="log price, changepoint_range 0.98, changepoint_prior_scale 0.5",
            changepoint_prior_scale=0.5,
            changepoint_range=0.98,
        ),
        plain.with_changes(name="log price, anchored to the last close", anchored=True),
        plain.with_changes(
            name=f"log price, anchored, damped (tau {chosen_damping} h)",
            anchored=True,
            damping_hours=chosen_damping,
        ),
    ]
