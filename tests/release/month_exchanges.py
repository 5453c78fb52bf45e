"""Alpaca's and Binance's market data as a `BUILD=real` month's builds meet them on GitHub's
runners, with the exchange faults (month_world.KINDS): Binance's API host answers HTTP 451
(not served in the runner's region), and its market-data host, reached through the proxy
(HTTPS_PROXY) over TLS with a certificate the build trusts (REQUESTS_CA_BUNDLE), serves the
klines and the market `top:N` ranks; docs/release.md, "The release's own training"."""

from __future__ import annotations

import ssl
import subprocess
import urllib.parse
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pandas as pd

from tests.data.http_shapes import alpaca_bars, binance_klines
from tests.loopback import reply
from tests.release.month_world import HOUR, World

DATA = Path(__file__).resolve().parents[2] / "data"
DAYS = 730  # the history each exchange holds: the month's builds fetch and fit this much
PAIRS = "top:1"  # the release's pairs (RELEASE_ASSETS): BTC/USD, ETH/USD and Binance's first
PAGE = {"alpaca": 10_000, "binance": 1000}  # their largest pages
MARKET_DATA = "data-api.binance.vision"
STEPS = {
    name: pd.Timedelta(hours=hours)
    for name, hours in (("1Hour", 1), ("1h", 1), ("1Day", 24), ("1d", 24))
}
REGION_BLOCKED = {"code": 0, "msg": "Service unavailable from a restricted location"}


class Exchanges:
    def __init__(self, world: World, end: float, tmp: Path) -> None:
        self.world = world
        self.calls: list[str] = []  # Binance's hosts and their answers, as a build met them
        self.ca, secret = tmp / "market-data.pem", tmp / "market-data.key"
        ask = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        ask += ["-nodes", "-days", "9", "-subj", f"/CN={MARKET_DATA}", "-keyout", str(secret)]
        ask += ["-addext", f"subjectAltName=DNS:{MARKET_DATA}", "-out", str(self.ca)]
        subprocess.run(ask, check=True, capture_output=True)
        self.tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.tls.load_cert_chain(self.ca, secret)
        btc = pd.read_csv(DATA / "btc-usd-1h.csv.gz", parse_dates=["timestamp"])
        usdt = pd.read_csv(DATA / "binance-spot-16pairs-1h.csv.gz", parse_dates=["time"])
        eth = pd.read_csv(DATA / "eth-usd-1d.csv.gz")  # top:N's, daily
        eth = eth.assign(timestamp=pd.to_datetime(eth.pop("date"), utc=True))
        self.bars = {("alpaca", "BTC/USD"): btc, ("alpaca", "ETH/USD"): eth}
        for symbol, rows in usdt.rename(columns={"time": "timestamp"}).groupby("symbol"):
            self.bars["binance", str(symbol)] = rows.reset_index(drop=True)
        self.step = {key: bars["timestamp"].diff().min() for key, bars in self.bars.items()}
        for key, bars in self.bars.items():  # the newest bar the last one closed before `end`
            newest = (pd.Timestamp(end, unit="s", tz="UTC") - self.step[key]).floor(self.step[key])
            shifted = bars["timestamp"] + (newest - bars["timestamp"].max())
            kept = shifted > newest - pd.Timedelta(days=DAYS)
            self.bars[key] = bars.assign(timestamp=shifted)[kept]
        self.url = world._serve(self._answer)

    def _answer(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        if method == "CONNECT" and handler.path.partition(":")[0] == MARKET_DATA:
            handler.send_response(200)  # the tunnel, then the host's own answers inside it
            handler.end_headers()
            secure = self.tls.wrap_socket(handler.connection, server_side=True)
            type(handler)(secure, handler.client_address, handler.server)
            handler.close_connection = True
            return
        path, _, query = handler.path.partition("?")
        asked = dict(urllib.parse.parse_qsl(query))
        venue = "alpaca" if path.startswith("/v1beta3/") else "binance"
        fault = self.world.consume("exchange", f"{venue} {method} {handler.path}")
        kind, host = fault.kind if fault else "", handler.headers.get("Host", "").split(":")[0]
        wait = [("Retry-After", str(fault.spec.get("seconds") or 2))] if fault else []
        if method == "CONNECT" or kind == "exchange-outage":  # a host it does not stand in for
            status, body = (403 if method == "CONNECT" else 503), {"message": "refused"}
        elif kind in ("exchange-429", "exchange-418"):  # too many requests; 418: banned a while
            status, body = int(kind[-3:]), {"code": -1003, "msg": "Too many requests"}
        elif kind == "exchange-delisted":  # the symbol no longer trades there
            status, body = 400, {"code": -1121, "msg": "Invalid symbol."}
        elif venue == "binance" and (host != MARKET_DATA or kind == "exchange-451"):
            status, body = 451, REGION_BLOCKED  # a runner's, from the API host (a fault: both)
        else:
            status, body = self._bars(venue, path, asked, kind, fault.hour if fault else 0.0)
        if venue == "binance":
            self.calls.append(f"{host} {status}")
        reply(handler, status, body, headers=wait if status in (418, 429) else [])

    def _bars(self, venue: str, path: str, asked: dict[str, str], kind: str, hour: float) -> tuple:
        now = self.world.start + hour * HOUR if kind == "exchange-stale" else self.world.now
        if path.endswith(("/exchangeInfo", "/ticker/24hr")):
            return 200, self._market(path, pd.Timestamp(now, unit="s", tz="UTC"))
        symbol = asked.get("symbols" if venue == "alpaca" else "symbol", "")
        step = STEPS.get(asked.get("timeframe", asked.get("interval", "")))
        if step is None or step != self.step.get((venue, symbol), step):
            return 400, {"message": f"this stand-in holds {symbol} at one interval, not {asked}"}
        rows = self.bars.get((venue, symbol), self.bars["alpaca", "BTC/USD"].head(0))
        closed = rows["timestamp"] + step <= pd.Timestamp(now, unit="s", tz="UTC")
        if venue == "binance":
            start = pd.Timestamp(int(asked.get("startTime", 0)), unit="ms", tz="UTC")
            end = pd.Timestamp(int(asked.get("endTime", 2**42)), unit="ms", tz="UTC")
            chosen = rows[closed & (rows["timestamp"] >= start) & (rows["timestamp"] <= end)]
            klines = binance_klines(chosen.head(min(int(asked.get("limit", 500)), PAGE[venue])))
            return 200, [k[:6] for k in klines] if kind == "exchange-shape" else klines
        start, end = (pd.Timestamp(asked[key]) for key in ("start", "end"))
        chosen = rows[closed & (rows["timestamp"] >= start) & (rows["timestamp"] <= end)]
        skip = int(asked.get("page_token") or 0)
        if kind == "exchange-empty-page":  # no bars, and a token to the same page
            return 200, {"bars": {}, "next_page_token": str(skip)}
        limit = min(int(asked.get("limit") or PAGE[venue]), PAGE[venue])
        token = str(skip + limit) if len(chosen) > skip + limit else None
        answer = alpaca_bars(chosen.iloc[skip : skip + limit], symbol, token)
        if kind == "exchange-shape":  # the close's field renamed
            for bar in answer["bars"].get(symbol, []):
                bar["close_price"] = bar.pop("c")
        return 200, answer

    def _market(self, path: str, now: pd.Timestamp) -> object:
        """Binance's spot listing, or each pair's last 24 closed hours, as `top:N` asks them."""
        hour = pd.Timedelta(hours=1)
        day = {
            s: r[r["timestamp"] + hour <= now].tail(24)
            for (v, s), r in self.bars.items()
            if v == "binance"
        }
        if path.endswith("/exchangeInfo"):
            base = {"quoteAsset": "USDT", "status": "TRADING"}
            return {"symbols": [{**base, "symbol": s, "baseAsset": s[:-4]} for s in day]}
        return [
            {
                "symbol": symbol,
                "quoteVolume": str((rows["close"] * rows["volume"]).sum()),
                "highPrice": str(rows["high"].max()),
                "lowPrice": str(rows["low"].min()),
                "closeTime": int(now.timestamp() * 1000),
            }
            for symbol, rows in day.items()
        ]
