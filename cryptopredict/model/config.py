"""Model configurations (`ModelConfig`, as the manifest records them): the served default, the
reference idea, and what the comparison tries."""

from __future__ import annotations

from cryptopredict.artifact.schema import ModelConfig

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
