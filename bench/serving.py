"""What the two comparison servers share: the forecast range size, and serving like the API."""

from __future__ import annotations

import logging
import sys

from flask import Flask
from waitress import serve

from cryptopredict.config import Settings

# cryptopredict.api.server.SWITCH_INTERVAL, without importing the API. The ceiling runs with it,
# as the API does; the per-request server keeps Python's default, which serves it better (it
# computes for 40 ms a request and loses throughput to more frequent switches).
SWITCH_INTERVAL = 0.001
PYTHON_DEFAULT_SWITCH_INTERVAL = 0.005
FORECAST_POINTS = 30 * 24 + 1  # a 30-day hourly range, like the benchmark's /bitcoin/forecast


def serve_like_the_api(app: Flask, settings: Settings, *, switch_interval: float) -> None:
    """Waitress with the API's adjustments (`Settings.waitress_options`: host, port, threads,
    connection limit, timeout, poll) and no queue warnings, at the GIL switch interval that
    suits `app`."""
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    sys.setswitchinterval(switch_interval)
    serve(app, **settings.waitress_options())
