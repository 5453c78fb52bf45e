"""Alpaca's and Binance's market data as a `BUILD=real` month's builds meet them, with the
exchange faults (month_world.KINDS): docs/release.md, "The release's own training"."""

from __future__ import annotations

import urllib.parse
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pandas as pd

from tests.data.http_shapes import alpaca_bars, binance_klines
from tests.loopback import reply
from tests.release.month_world import HOUR, World

DATA = Path(__file__).resolve().parents[2] / "data"
DAYS = 730  # the history each exchange holds: the month's builds fetch and fit this much
PAIRS = "btc-usd,eth-usdt"  # the release's pairs, cut to two (RELEASE_ASSETS): one a source each
PAGE = {"alpaca": 10_000, "binance": 1000}  # their largest pages


class Exchanges:
    def __init__(self, world: World, end: float) -> None:
        self.world = world
        btc = pd.read_csv(DATA / "btc-usd-1h.csv.gz", parse_dates=["timestamp"])
        usdt = pd.read_csv(DATA / "binance-spot-16pairs-1h.csv.gz", parse_dates=["time"])
        self.bars = {("alpaca", "BTC/USD"): btc}
        for symbol, rows in usdt.rename(columns={"time": "timestamp"}).groupby("symbol"):
            self.bars["binance", str(symbol)] = rows.reset_index(drop=True)
        newest = pd.Timestamp(end - HOUR, unit="s", tz="UTC")
        for key, bars in self.bars.items():
            shifted = bars["timestamp"] + (newest - bars["timestamp"].max())
            kept = shifted > newest - pd.Timedelta(days=DAYS)
            self.bars[key] = bars.assign(timestamp=shifted)[kept]
        self.url = world._serve(self._answer)

    def _answer(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        path, _, query = handler.path.partition("?")
        asked = dict(urllib.parse.parse_qsl(query))
        venue = "alpaca" if path.startswith("/v1beta3/") else "binance"
        fault = self.world.consume("exchange", f"{venue} {method} {handler.path}")
        kind = fault.kind if fault else ""
        if method == "CONNECT" or kind == "exchange-outage":  # a host it does not stand in for
            status, body = (403 if method == "CONNECT" else 503), {"message": "refused"}
        elif kind == "exchange-451":
            status, body = 451, {"code": 0, "msg": "Service unavailable from a restricted location"}
        else:
            status, body = self._bars(venue, asked, kind, fault.hour if fault else 0.0)
        reply(handler, status, body)

    def _bars(self, venue: str, asked: dict[str, str], kind: str, hour: float) -> tuple:
        symbol = asked.get("symbols" if venue == "alpaca" else "symbol", "")
        if asked.get("timeframe", asked.get("interval")) not in ("1Hour", "1h"):
            return 400, {"message": f"this stand-in holds hourly bars, not {asked}"}
        rows = self.bars.get((venue, symbol), self.bars["alpaca", "BTC/USD"].head(0))
        now = self.world.start + hour * HOUR if kind == "exchange-stale" else self.world.now
        closed = rows["timestamp"] + pd.Timedelta(hours=1) <= pd.Timestamp(now, unit="s", tz="UTC")
        if venue == "binance":
            start = pd.Timestamp(int(asked.get("startTime", 0)), unit="ms", tz="UTC")
            end = pd.Timestamp(int(asked.get("endTime", 2**42)), unit="ms", tz="UTC")
            chosen = rows[closed & (rows["timestamp"] >= start) & (rows["timestamp"] <= end)]
            klines = binance_klines(chosen.head(min(int(asked.get("limit", 500)), PAGE[venue])))
            return 200, [k[:6] for k in klines] if kind == "exchange-shape" else klines
        start, end = (pd.Timestamp(asked[key]) for key in ("start", "end"))
        chosen = rows[closed & (rows["timestamp"] >= start) & (rows["timestamp"] <= end)]
        skip = int(asked.get("page_token") or 0)
        limit = min(int(asked.get("limit") or PAGE[venue]), PAGE[venue])
        token = str(skip + limit) if len(chosen) > skip + limit else None
        answer = alpaca_bars(chosen.iloc[skip : skip + limit], symbol, token)
        if kind == "exchange-shape":  # the close's field renamed
            for bar in answer["bars"].get(symbol, []):
                bar["close_price"] = bar.pop("c")
        return 200, answer
