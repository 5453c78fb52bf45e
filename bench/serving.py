"""What the comparison servers share: the forecast range size, and being served stock.

Neither comparison takes anything from the API's serving settings: each is started with
`waitress.serve(app, host=..., port=...)`, Waitress's defaults for everything else, and Python's
default GIL switch interval. A reference that took the API's settings would move with them, and
hide what they cost (issue 21). This module imports nothing from `cryptopredict`.
"""

from __future__ import annotations

import os

from flask import Flask
from waitress import serve

FORECAST_POINTS = 30 * 24 + 1  # a 30-day hourly range, like the benchmark's /bitcoin/forecast


def listen_address(environ: dict[str, str] | None = None) -> dict[str, object]:
    """Where to listen, from `HOST` and `PORT`: the only arguments a stock server is given."""
    environ = dict(os.environ) if environ is None else environ
    return {"host": environ.get("HOST", "127.0.0.1"), "port": int(environ.get("PORT", "8080"))}


def serve_stock(app: Flask) -> None:
    """Serve `app` as its README would: `waitress.serve` with nothing but the address."""
    serve(app, **listen_address())
