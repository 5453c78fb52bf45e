"""For the archive's and the track record's tests: an app serving the fixture models against a
database, the issues it archived, and minutes written where the forecasts fall due."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from cryptopredict.api import create_app
from cryptopredict.artifact.store import open_artifacts
from cryptopredict.config import ApiSettings
from cryptopredict.minutes.bars import MinuteBar
from cryptopredict.minutes.store import MinuteStore
from cryptopredict.utc import iso_utc

MINUTE = 60
HOUR = 3600


@dataclass(frozen=True)
class Serving:
    app: Flask
    client: FlaskClient

    @property
    def archive(self):
        return self.app.extensions["cryptopredict"]["archive"]

    def serve(self, asset: str = "btc-usd") -> None:
        """Ask for the asset's forecast (so it is served), and wait for its archiving."""
        answer = self.client.get(f"/forecast/{asset}?date=2026-08-01")
        assert answer.status_code == 200, answer.get_json()
        assert self.archive.wait(30)


def serving(artifact_dir: Path, url: str) -> Serving:
    settings = ApiSettings(model_dir=artifact_dir, database_url=url, live_cache_seconds=0)
    app = create_app(open_artifacts(artifact_dir), settings)
    return Serving(app, app.test_client())


def bars_at(asset: str, instants: list[int], prices: list[float], source: str) -> list[MinuteBar]:
    """A minute ending at each of `instants` (the price then is its close) at each price."""
    return [
        MinuteBar(asset, at - MINUTE, price, price, price, price, 1.0, price, source)
        for at, price in zip(instants, prices, strict=True)
    ]


def write_minutes(url: str, bars: list[MinuteBar]) -> None:
    with MinuteStore.open(url) as store:
        store.write(bars)


def point_at(client: FlaskClient, asset: str, at: int, level: int = 80) -> dict:
    answer = client.get(f"/forecast/{asset}?date={iso_utc(at)}&level={level}")
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def sqlite_rows(url: str, query: str) -> list[tuple]:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as plain:
        return plain.execute(query).fetchall()
