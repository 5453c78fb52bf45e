"""The served band never narrows as the lead grows, on the real model.

`/forecast/{asset}/range` in daily steps from the last bar to a year ahead: at every level, the
band's upper and lower distances from the point forecast, in log terms, never shrink from one
day to the next (issue 26, bar 5).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from cryptopredict.utc import iso_moment

# Prices are answered to the cent: at BTC's price that moves a log distance by about 1e-7.
ROUNDING = 1e-6


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.mark.parametrize("level", [50, 80, 95])
def test_the_band_never_narrows_along_the_lead(served, level):
    asset = next(asset for asset in served.assets if asset["asset"] == "btc-usd")
    last_bar = _time(asset["last_bar"])
    end = min(_time(asset["valid_until"]), last_bar + timedelta(days=365))
    answer = served.get(
        "/forecast/btc-usd/range",
        params={
            "start": iso_moment(last_bar + timedelta(days=1)),
            "end": iso_moment(end),
            "step": "1d",
            "level": str(level),
        },
    )
    assert answer.status_code == 200, answer.text
    points = answer.json()
    assert points["count"] >= 360
    prediction = np.array(points["prediction"])
    above = np.log(np.array(points["prediction_high"]) / prediction)
    below = np.log(prediction / np.array(points["prediction_low"]))
    for side, distance in (("upper", above), ("lower", below)):
        steps = np.diff(distance)
        worst = int(np.argmin(steps))
        assert steps[worst] >= -ROUNDING, (
            f"the {level}% band's {side} distance shrinks from {points['date'][worst]} to "
            f"{points['date'][worst + 1]}: {distance[worst]:.6f} -> {distance[worst + 1]:.6f}"
        )
