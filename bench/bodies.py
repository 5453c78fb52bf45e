"""Issue 83, bar 3: a fixed list of requests against one served synthetic model directory (BTC/USD
hourly with a baked track record and minute bars that re-anchor its forecast, ETH/USD daily,
DOGE/USDT below one dollar: `tests/api/synthetic.py`), each answer's status, headers and body
hashed.

- `python -m bench.bodies`: the answers now against `bench/data/bodies.json`, each difference
  named (status, headers or body); exit 1 if any.
- `python -m bench.bodies --record`: write them there (a change that moves an answer lists and
  justifies it in its commit).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

from cryptopredict.api.app import create_app
from cryptopredict.artifact.store import open_artifacts
from cryptopredict.config import ApiSettings
from cryptopredict.minutes.bars import MinuteBar
from cryptopredict.minutes.store import MinuteStore
from tests.api.records import baked
from tests.api.synthetic import BTC, DOGE, ETH, write_synthetic

RECORDED = Path(__file__).parent / "data" / "bodies.json"
HOUR = 3600
END = BTC.last_bar + HOUR  # the BTC/USD data's end, 2026-07-26T17:00Z
MINUTES_END = END + 2 * HOUR  # the newest minute bar closes then: later answers re-anchor
REQUESTS = (
    "/bitcoin?date=2026-06-01T10:30:00Z",  # a hindcast between grid points
    "/bitcoin?date=2026-07-19T18:00:00Z&level=50",  # the missing bar: actual null
    "/bitcoin?date=2026-07-26T17:00:00Z",  # the data's end
    "/bitcoin?date=2026-07-26T18:00:00Z",  # 1 h ahead, before the newest minute
    "/bitcoin?date=2026-07-26T19:30:00Z",  # re-anchored from here on
    "/bitcoin?date=2026-07-27",
    "/bitcoin?date=2026-08-26T05:00%2B02:00&level=95",
    "/bitcoin?date=2027-07-26T12:00&level=50",
    "/bitcoin?date=2029-07-26T17:00:00Z",  # the horizon's end
    "/bitcoin?date=2029-07-26T18:00:00Z",
    "/bitcoin?date=1999-01-01",
    "/bitcoin?date=nonsense",
    "/bitcoin?date=2026-07-27&date=2026-07-28",
    "/bitcoin?date=2026-07-27&level=90",
    "/bitcoin?date=2026-07-27&level=",
    "/bitcoin/forecast",
    "/bitcoin/forecast?start=2026-07-20&end=2026-07-28&level=95",
    "/bitcoin/forecast?start=2026-07-25&format=csv",
    "/bitcoin/forecast.csv?start=2026-07-01&step=1d",
    "/bitcoin/forecast?step=7m",
    "/bitcoin/forecast?format=xml",
    "/forecast/eth-usd?date=2026-08-01",
    "/forecast/ETH%2FUSD?date=2026-05-01&level=95",
    "/forecast/btc-usd?date=2026-07-27",
    "/forecast/doge-usdt?date=2026-07-27T12:00:00Z",
    "/forecast/eth-usd/range?step=1w",
    "/forecast/btc-usd/range?start=2026-07-26&end=2026-07-27",
    "/forecast/doge-usdt/range.csv?start=2026-07-25",
    "/forecast/no-such-asset?date=2026-07-27",
    "/assets",
    "/assets?q=eth",
    "/candles/btc-usd?interval=4h&start=2026-07-20",
    "/candles/eth-usd?interval=1w&format=csv",
    "/model",
    "/model/eth-usd",
    "/model/backtest",
    "/model/doge-usdt/backtest",
    "/model/btc-usd/track-record",
    "/model/eth-usd/track-record",
    "/openapi.json",
    "/no-such-route",
)


def served(out: Path) -> object:
    """The app over the synthetic model directory written under `out`, its latest BTC/USD
    price read."""
    models = out / "models"
    for seed, pair in enumerate((BTC, ETH, DOGE)):
        write_synthetic(out / "plain", pair, seed=seed)
    closes = {END + k * HOUR: 65_000.0 + 10 * k for k in range(1, 25)}
    baked(out / "plain", models, closes)
    database = f"sqlite:///{out / 'market.db'}"
    bars = [
        MinuteBar(
            "btc-usd", at, 60_300.0, 60_500.0, 60_200.0, 60_300.0 + i, 2.0, 60_300.0, "binance"
        )
        for i, at in enumerate(range(END, MINUTES_END, 60))
    ]
    with MinuteStore.open(database) as store:
        store.write(bars)
    # A note on a forecast from an old price says its age, which moves with the clock.
    settings = ApiSettings(model_dir=models, database_url=database, note_after_hours=1e9)
    app = create_app(open_artifacts(models), settings)
    latest = app.extensions["cryptopredict"]["latest"]
    deadline = time.monotonic() + 30
    while latest.of("btc-usd") is None:
        if time.monotonic() > deadline:
            raise RuntimeError("the minute bars' latest price was never read")
        time.sleep(0.05)
    return app


def answers() -> dict[str, dict[str, str | int]]:
    with tempfile.TemporaryDirectory() as out:
        client = served(Path(out)).test_client()  # type: ignore[attr-defined]
        found = {}
        for url in REQUESTS:
            response = client.get(url)
            headers = "\n".join(sorted(f"{name}: {value}" for name, value in response.headers))
            found[url] = {
                "status": response.status_code,
                "headers": hashlib.sha256(headers.encode()).hexdigest()[:16],
                "body": hashlib.sha256(response.data).hexdigest()[:16],
            }
        found["POST /bitcoin"] = {"status": client.post("/bitcoin").status_code}
        return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bodies", description=__doc__)
    parser.add_argument("--record", action="store_true", help=f"write {RECORDED}")
    now = answers()
    if parser.parse_args(argv).record:
        RECORDED.write_text(json.dumps(now, indent=1) + "\n")
        print(f"{len(now)} answers recorded in {RECORDED}")
        return 0
    before = json.loads(RECORDED.read_text())
    moved = [
        f"{url}: " + ", ".join(part for part in was if was[part] != now.get(url, {}).get(part))
        for url, was in before.items()
        if was != now.get(url)
    ]
    moved += [f"{url}: new" for url in now.keys() - before.keys()]
    print("\n".join(moved) or f"all {len(now)} answers the same")
    return 1 if moved else 0


if __name__ == "__main__":
    sys.exit(main())
