"""Every route's real answers against the published `/openapi.json` (issue 44, bar 3).

Each operation of the document is called as a client would: valid requests (every form: JSON and
CSV, each level, a hindcast beside a missing bar, minute candles and the live price from a
minute database) and failing ones (a malformed parameter, an unknown asset, a date out of range,
a corrupt artifact, an unreadable minute database, no BTC/USD served). Every answer must be one
the document declares for its operation, status and media type, with a JSON body valid against
its schema, formats included; and every status the document declares for an operation must be
met at least once, so that a declared error that never happens, or a route the table below does
not call, fails here.

On artifacts made from synthetic arrays by the real writer (`tests/api/synthetic.py`), in a
second; and on the models trained by training's own code (`tests/api/conftest.py`), for the
answers that need no broken artifact. `tests/e2e/test_routes.py` does it on the model `make run`
trains.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from flask.testing import FlaskClient

from cryptopredict.api.app import create_app
from cryptopredict.artifact import index
from cryptopredict.artifact.record import SUFFIX, read_record, record_dir, write_record
from cryptopredict.artifact.schema import GRID
from cryptopredict.artifact.store import open_artifacts
from cryptopredict.config import ApiSettings
from cryptopredict.minutes.bars import MinuteBar
from cryptopredict.minutes.store import MinuteStore
from tests.api.documented import check_conforms
from tests.api.records import baked
from tests.api.synthetic import BTC, DOGE, ETH, write_synthetic

MINUTES = 120


@dataclass
class Served:
    """An app, what it serves, and the answers met: (operation, status) pairs."""

    client: FlaskClient
    spec: dict[str, Any]
    met: set[tuple[str, int]] = field(default_factory=set)

    def call(self, operation: str, url: str, status: int) -> None:
        response = self.client.get(url)
        assert response.status_code == status, f"{url}: {response.status_code} {response.text}"
        check_conforms(self.spec, operation, response)
        self.met.add((operation, status))

    @property
    def assets(self) -> dict[str, dict[str, Any]]:
        return {entry["asset"]: entry for entry in self.client.get("/assets").json["assets"]}


def _app(model_dir: Path, database_url: str) -> Served:
    settings = ApiSettings(model_dir=model_dir, database_url=database_url)
    client = create_app(open_artifacts(model_dir), settings).test_client()
    return Served(client, client.get("/openapi.json").json)


def _minutes(url: str, slug: str, last_bar: str) -> None:
    """`MINUTES` minutes of `slug` ending a day after its last bar (inside its forecast)."""
    end = int(datetime.fromisoformat(last_bar).timestamp()) + 86_400
    bars = [
        MinuteBar(slug, ts, 100.0 + i, 101.0 + i, 99.0 + i, 100.5 + i, 2.0, 100.2 + i, "binance")
        for i, ts in enumerate(range(end - MINUTES * 60, end, 60))
    ]
    with MinuteStore.open(url) as store:
        store.write(bars)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _broken(path: Path) -> None:
    """A grid that is not the one the manifest's sha256 names: the asset answers 503."""
    (path / GRID).write_bytes(b"not a grid")


# What each operation is called with, on an app serving BTC/USD (with minutes) and other assets:
# (path and query, status). `{asset}` and `{other}` are a served asset with and without minutes;
# `{last}`, `{week_ago}`, `{gap}` times from `/assets`.
VALID: dict[str, list[tuple[str, int]]] = {
    "/bitcoin": [
        ("/bitcoin?date={last}", 200),
        ("/bitcoin?date={gap}&level=50", 200),
        ("/bitcoin?date=2026-08-01T14:00%2B02:00&level=95", 200),
        ("/bitcoin?date=nonsense", 400),
        ("/bitcoin?date=1990-01-01", 422),
    ],
    "/bitcoin/forecast": [
        ("/bitcoin/forecast", 200),
        ("/bitcoin/forecast?start={week_ago}&end={last}&level=95", 200),
        ("/bitcoin/forecast?start={week_ago}&format=csv", 200),
        ("/bitcoin/forecast?format=xml", 400),
        ("/bitcoin/forecast?start=1990-01-01", 422),
    ],
    "/bitcoin/forecast.csv": [
        ("/bitcoin/forecast.csv?start={week_ago}&step=1d", 200),
        ("/bitcoin/forecast.csv?step=1.5h", 400),
        ("/bitcoin/forecast.csv?step=7m", 422),
    ],
    "/forecast/{asset}": [
        ("/forecast/{asset}?date={last}", 200),
        ("/forecast/{other}?date={last}&level=50", 200),
        ("/forecast/{asset}?date={last}&level=eighty", 400),
        ("/forecast/no-such-asset?date={last}", 404),
        ("/forecast/{asset}?date=2999-01-01", 422),
    ],
    "/forecast/{asset}/range": [
        ("/forecast/{other}/range", 200),
        ("/forecast/{asset}/range?start={week_ago}&format=csv", 200),
        ("/forecast/{asset}/range?end=yesterday", 400),
        ("/forecast/no-such-asset/range", 404),
        ("/forecast/{asset}/range?end=2999-01-01", 422),
    ],
    "/forecast/{asset}/range.csv": [
        ("/forecast/{other}/range.csv?step=1w", 200),
        ("/forecast/{asset}/range.csv?level=7", 400),
        ("/forecast/no-such-asset/range.csv", 404),
        ("/forecast/{asset}/range.csv?start=1990-01-01", 422),
    ],
    "/assets": [("/assets", 200), ("/assets?q=btc", 200), ("/assets?q=", 400)],
    "/candles/{asset}": [
        ("/candles/{asset}", 200),
        ("/candles/{other}?interval=1w&format=csv", 200),
        ("/candles/{asset}?interval=5m", 200),  # from the minutes
        ("/candles/{asset}?interval=1y", 400),
        ("/candles/no-such-asset", 404),
        ("/candles/{asset}?start=1990-01-01&end=1990-02-01", 422),
    ],
    "/candles/{asset}.csv": [
        ("/candles/{asset}.csv?interval=1d", 200),
        ("/candles/{asset}.csv?interval=", 400),
        ("/candles/no-such-asset.csv", 404),
        ("/candles/{asset}.csv?end=1990-01-01", 422),
    ],
    "/price/{asset}": [
        ("/price/{asset}", 200),
        ("/price/{asset}?level=95", 200),
        ("/price/{asset}?level=x", 400),
        ("/price/{other}", 404),  # no minutes of it
    ],
    "/live": [("/live", 200)],
    "/model": [("/model", 200)],
    "/model/backtest": [("/model/backtest", 200)],
    "/model/{asset}": [
        ("/model/{asset}", 200),
        ("/model/{other}", 200),
        ("/model/no-such-asset", 404),
    ],
    "/model/{asset}/backtest": [
        ("/model/{asset}/backtest", 200),
        ("/model/{other}/backtest", 200),
        ("/model/no-such-asset/backtest", 404),
    ],
    "/model/{asset}/backtest/origins": [
        ("/model/{asset}/backtest/origins?limit=5&offset=3", 200),
        ("/model/{other}/backtest/origins", 200),
        ("/model/{asset}/backtest/origins?limit=0", 400),
        ("/model/no-such-asset/backtest/origins", 404),
    ],
    "/model/{asset}/track-record": [
        ("/model/{asset}/track-record", 200),  # baked, some leads scored
        ("/model/{other}/track-record", 200),  # none baked: `detail` says so
        ("/model/no-such-asset/track-record", 404),
    ],
    "/healthz": [("/healthz", 200)],
    "/metrics": [("/metrics", 200)],
}
# On an app whose BTC/USD artifact is corrupt (and the default asset, so `/model` too), whose
# minute database is no database, and one without BTC/USD.
BROKEN: dict[str, list[tuple[str, int]]] = {
    "/bitcoin": [("/bitcoin?date=2026-07-01", 503)],
    "/bitcoin/forecast": [("/bitcoin/forecast", 503)],
    "/bitcoin/forecast.csv": [("/bitcoin/forecast.csv", 503)],
    "/forecast/{asset}": [("/forecast/btc-usd?date=2026-07-01", 503)],
    "/forecast/{asset}/range": [("/forecast/btc-usd/range", 503)],
    "/forecast/{asset}/range.csv": [("/forecast/btc-usd/range.csv", 503)],
    "/candles/{asset}": [("/candles/btc-usd", 503), ("/candles/eth-usd?interval=1m", 503)],
    "/candles/{asset}.csv": [("/candles/btc-usd.csv", 503)],
    "/price/{asset}": [("/price/eth-usd", 503)],
    "/live": [("/live", 200)],  # always 200, saying why there are no minutes
    "/model": [("/model", 503)],
    "/model/backtest": [("/model/backtest", 503)],
    "/model/{asset}": [("/model/btc-usd", 503)],
    "/model/{asset}/backtest": [("/model/btc-usd/backtest", 503)],
    "/model/{asset}/backtest/origins": [("/model/btc-usd/backtest/origins", 503)],
    "/model/{asset}/track-record": [
        ("/model/btc-usd/track-record", 503),
        ("/model/eth-usd/track-record", 503),
    ],
    "/healthz": [("/healthz", 200)],  # degraded, naming the corrupt artifact
}
WITHOUT_BITCOIN: dict[str, list[tuple[str, int]]] = {
    "/bitcoin": [("/bitcoin?date=2026-07-01", 404)],
    "/bitcoin/forecast": [("/bitcoin/forecast", 404)],
    "/bitcoin/forecast.csv": [("/bitcoin/forecast.csv", 404)],
    "/model/{asset}/track-record": [("/model/bitcoin/track-record", 404)],  # not served
}


def _values(served: Served) -> dict[str, str]:
    """What the requests of `VALID` are filled with, from `/assets`."""
    btc = served.assets["btc-usd"]
    last = datetime.fromisoformat(btc["last_bar"])
    return {
        "asset": "btc-usd",
        "other": "eth-usd",
        "last": btc["last_bar"],
        "week_ago": _iso(last - timedelta(days=7)),
        # when the hour both kinds of artifact leave out would have closed
        "gap": _iso(last - timedelta(hours=166)),
    }


def _run(served: Served, calls: dict[str, list[tuple[str, int]]], **values: str) -> None:
    for operation, requests in calls.items():
        for url, status in requests:
            served.call(operation, url.format(**values), status)


def _declared(spec: dict[str, Any]) -> set[tuple[str, int]]:
    return {
        (path, int(status))
        for path, item in spec["paths"].items()
        for status in item["get"]["responses"]
    }


@pytest.fixture(scope="module")
def synthetic_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synthetic")
    write_synthetic(out, BTC)
    write_synthetic(out, ETH, seed=1)
    write_synthetic(out, DOGE, backtest=False, seed=2)
    return out


def _served(model_dir: Path, tmp_path: Path) -> Served:
    url = f"sqlite:///{tmp_path / 'market.db'}"
    served = _app(model_dir, url)
    _minutes(url, "btc-usd", served.assets["btc-usd"]["last_bar"])
    return served


def test_every_operation_is_called(spec):
    assert set(VALID) == set(spec["paths"])


def test_every_answer_on_synthetic_artifacts_is_one_the_document_declares(synthetic_dir, tmp_path):
    history = open_artifacts(synthetic_dir)["btc-usd"].history
    data_end = int(history.ds[-1]) + 3600
    closes = {data_end + hours * 3600: float(history["close"][-1]) for hours in (1, 2, 24)}
    served = _served(baked(synthetic_dir, tmp_path / "valid", closes), tmp_path)
    values = _values(served)
    _run(served, VALID, **values)
    gap = served.client.get(f"/bitcoin?date={values['gap']}").json
    assert (gap["kind"], gap["actual"]) == ("hindcast", None)  # a nullable field, met as null
    for slug in ("doge-usdt",):  # trained without a backtest; prices below 1
        for url in (f"/model/{slug}", f"/model/{slug}/backtest", f"/forecast/{slug}/range"):
            served.call(url.replace(slug, "{asset}"), url, 200)

    broken_dir = tmp_path / "broken"
    shutil.copytree(synthetic_dir, broken_dir)
    _broken(broken_dir / "btc-usd")
    record = read_record(tmp_path / "valid", "btc-usd")
    write_record(broken_dir, record, None)
    write_record(broken_dir, msgspec.structs.replace(record, asset="eth-usd"), None)
    (record_dir(broken_dir) / f"btc-usd{SUFFIX}").rename(  # ETH/USD's is BTC/USD's, which is
        record_dir(broken_dir) / f"eth-usd{SUFFIX}"  # missing
    )
    (tmp_path / "not-a-database").write_bytes(b"\x00" * 4096)
    broken = _app(broken_dir, f"sqlite:///{tmp_path / 'not-a-database'}")
    broken_assets = broken.client.get("/assets").json["assets"]
    assert "btc-usd" in {entry["asset"] for entry in broken_assets}
    _run(broken, BROKEN)
    assert broken.client.get("/healthz").json["status"] == "degraded"

    without = tmp_path / "without-bitcoin"
    shutil.copytree(synthetic_dir, without, ignore=shutil.ignore_patterns("btc-usd"))
    index.record(without, None, afresh=True)
    no_btc = _app(without, f"sqlite:///{tmp_path / 'none.db'}")
    _run(no_btc, WITHOUT_BITCOIN)

    met = served.met | broken.met | no_btc.met
    assert _declared(served.spec) - met == set(), "declared, never answered"


def test_every_answer_on_the_trained_models_is_one_the_document_declares(artifact_dir, tmp_path):
    served = _served(artifact_dir, tmp_path)
    _run(served, VALID, **_values(served))
