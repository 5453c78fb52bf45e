"""`/model`, `/model/backtest` and its rows, `/healthz` and `/metrics`."""

from __future__ import annotations

import json
import re

import numpy as np

from cryptopredict.api.app import create_app
from cryptopredict.api.types.model import ORIGIN_COLUMNS as COLUMNS
from cryptopredict.artifact.schema import BACKTEST, MANIFEST, REQUIRED_KEYS
from cryptopredict.utc import iso_utc
from tests.artifact_files import load_artifacts


def written(artifact):
    return json.loads((artifact.path / MANIFEST).read_bytes())


def test_the_model_card_is_the_manifest_with_the_backtest_summary_once(client, artifacts, conforms):
    response = client.get("/model")
    assert response.status_code == 200
    conforms("/model", response)
    card = response.get_json()
    manifest = artifacts["btc-usd"].manifest
    assert set(card) == set(written(artifacts["btc-usd"])) | {"verdict", "track_record"}
    assert card["track_record"]["issues"] == 0  # none baked (test_track_record.py)
    assert set(REQUIRED_KEYS) <= set(card)
    assert card["data"]["source"] == "snapshot"
    assert card["versions"]["prophet"] == manifest.versions["prophet"]
    summary = artifacts["btc-usd"].backtest.summary
    assert summary is not None
    assert card["metrics"] == json.loads(json.dumps(summary.to_builtins()))
    assert card["data"] == written(artifacts["btc-usd"])["data"]
    assert response.headers["Cache-Control"] == "public, max-age=600"


def test_the_model_card_says_what_the_point_forecast_is_and_what_each_verdict_rests_on(
    client, artifacts
):
    card = client.get("/model").get_json()
    verdict = card["verdict"]
    summary = artifacts["btc-usd"].backtest.summary
    assert summary is not None
    assert artifacts["btc-usd"].manifest.params.damping_hours == 48.0  # the fixture's damping
    assert "damped by tau / (tau + h)" in verdict["point_forecast"]
    assert "with tau 48 hours" in verdict["point_forecast"]
    assert [row["horizon"] for row in verdict["horizons"]] == list(summary.horizons())
    for row, scores in zip(verdict["horizons"], summary.horizons().values(), strict=True):
        assert scores.prophet is not None
        assert scores.naive is not None
        assert scores.prophet_vs_naive is not None
        assert row["interval_score"] == scores.prophet.interval_score
        assert row["naive_interval_score"] == scores.naive.interval_score
        assert row["difference"] == scores.prophet_vs_naive.interval_score_diff
        assert row["se"] == scores.prophet_vs_naive.interval_score_se
        assert row["coverage"] == scores.prophet.coverage_by_level
        assert set(row["coverage"]) == {"50", "80", "95"}
        assert row["verdict"] == scores.prophet_vs_naive.verdict
        assert f"{row['horizon']} (" in verdict["sentence"]
    assert verdict["sentence"].startswith(
        f"Backtested on {summary.origins} evaluation origins and scored by the 80% band's "
        "interval score (lower is better), the BTC/USD model "
    )


def test_the_backtest_rows_are_served_whole_a_page_at_a_time(client, artifacts, conforms):
    """Every row training wrote, following `next`, each at the instants it forecast from and
    for (training labels a bar by its open time, an answer by its close), prices in cents."""
    rows, url = [], "/model/eth-usd/backtest/origins?limit=100"
    while url is not None:
        response = client.get(url)
        conforms("/model/{asset}/backtest/origins", response)
        page = response.get_json()
        rows, url = rows + page["rows"], page["next"]
    written = artifacts["eth-usd"].origins
    assert page["total"] == len(rows) == len(written.origin) > 100
    cutoff = written.origin + 86_400  # daily bars
    assert [row[0] for row in rows] == [iso_utc(epoch) for epoch in cutoff]
    assert [row[1] for row in rows] == [iso_utc(at) for at in cutoff + written.hours * 3600]
    edges = written.yhat[:, None] * np.exp(written.band.astype(np.float64))
    prices = np.column_stack([written.actual, written.yhat, edges])
    np.testing.assert_allclose([row[3:] for row in rows], prices, rtol=0, atol=0.005)


def test_health_names_every_model_the_default_first_and_is_never_cached(
    client, artifacts, facts, conforms
):
    response = client.get("/healthz")
    assert response.status_code == 200
    conforms("/healthz", response)
    btc = {
        "asset": "btc-usd",
        "model_version": facts.model_version,
        "created_at": written(artifacts["btc-usd"])["created_at"],
        "data_last": iso_utc(facts.last_bar),
    }
    eth = {
        "asset": "eth-usd",
        "model_version": "test-eth-1",
        "created_at": written(artifacts["eth-usd"])["created_at"],
        "data_last": iso_utc(int(artifacts["eth-usd"].history.ds[-1])),
    }
    health = response.get_json()
    for entry in (health, *health["assets"]):  # ages move with the clock: test_staleness.py
        assert entry.pop("data_age_seconds") > 0
        assert entry.pop("anchor")["source"] == "model"
    assert health == {
        "status": "ok", **btc, "assets": [btc, eth], "unavailable": [], "failed": [],
        "training": None, "latest_prices": None, "stale_after_hours": 1e6, "stale": [],
        "reasons": [],
    }  # fmt: skip
    assert response.headers["Cache-Control"] == "no-store"


def test_each_asset_has_its_own_model_card_and_backtest(client, artifacts, conforms):
    for slug, artifact in artifacts.items():
        card = client.get(f"/model/{slug}")
        conforms("/model/{asset}", card)
        assert card.get_json()["asset"] == slug
        assert card.get_json()["model_version"] == artifact.manifest.model_version
        summary = artifact.backtest.summary
        assert summary is not None
        assert card.get_json()["metrics"] == json.loads(json.dumps(summary.to_builtins()))
        backtest = client.get(f"/model/{slug}/backtest")
        conforms("/model/{asset}/backtest", backtest)
        assert backtest.get_json() == json.loads(artifact.path.joinpath(BACKTEST).read_text())
    assert client.get("/model/eth-usd").get_json() != client.get("/model").get_json()
    assert client.get("/model/btc-usd").get_data() == client.get("/model").get_data()
    default = client.get("/model/btc-usd/backtest").get_data()
    assert default == client.get("/model/backtest").get_data()


def metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line))
            if all(found.get(key) == value for key, value in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {name} {labels} in:\n{text}")


def test_metrics_count_requests_by_route_method_and_status(client, conforms):
    client.get("/bitcoin?date=2026-07-20")
    client.get("/bitcoin?date=2026-07-20")
    client.get("/bitcoin?date=soon")
    client.get("/no/such/route/42")
    client.post("/bitcoin")
    client.open("/bitcoin", method="BREW")
    response = client.get("/metrics")
    assert response.status_code == 200
    conforms("/metrics", response)
    text = response.get_data(as_text=True)
    assert metric(text, "http_requests_total", route="/bitcoin", method="GET", status="200") == 2
    assert metric(text, "http_requests_total", route="/bitcoin", method="GET", status="400") == 1
    assert metric(text, "http_requests_total", route="unmatched", status="404") == 1
    assert metric(text, "http_requests_total", route="unmatched", method="POST") == 1
    assert metric(text, "http_requests_total", route="unmatched", method="other") == 1
    assert metric(text, "http_request_duration_seconds_count", route="/bitcoin") == 3
    assert "/no/such/route/42" not in text  # labels hold routes, never raw paths
    assert "BREW" not in text


def test_metrics_show_each_assets_model_its_age_and_the_process(client, facts):
    text = client.get("/metrics").get_data(as_text=True)
    btc, eth = {"asset": "btc-usd"}, {"asset": "eth-usd"}
    assert metric(text, "cryptopredict_model_info", **btc, model_version=facts.model_version) == 1
    assert metric(text, "cryptopredict_model_info", **eth, model_version="test-eth-1") == 1
    for asset in (btc, eth):
        model_age = metric(text, "cryptopredict_model_age_seconds", **asset)
        assert 0 < model_age < metric(text, "cryptopredict_data_age_seconds", **asset)
    # ETH's daily history ended before BTC's hourly one
    eth_age = metric(text, "cryptopredict_data_age_seconds", **eth)
    assert eth_age > metric(text, "cryptopredict_data_age_seconds", **btc)
    assert metric(text, "process_resident_memory_bytes") > 0


def test_each_app_counts_alone(app, artifacts, settings):
    from cryptopredict.api.app import create_app

    app.test_client().get("/healthz")
    other = create_app(artifacts, settings).test_client().get("/metrics").get_data(as_text=True)
    assert 'route="/healthz"' not in other


def test_an_artifact_trained_without_a_backtest_is_served(no_backtest_dir, settings, conforms):
    """`train.py --no-backtest` writes no summary and no rows; every page still answers."""
    client = create_app(load_artifacts(no_backtest_dir), settings).test_client()
    assert client.get("/").status_code == 200
    for path in ("/model", "/model/backtest"):
        response = client.get(path)
        assert response.status_code == 200
        conforms(path, response)
    assert client.get("/model").get_json()["metrics"] is None
    origins = client.get("/model/btc-usd/backtest/origins")
    conforms("/model/{asset}/backtest/origins", origins)
    assert origins.get_json() == {"total": 0, "next": None, "columns": list(COLUMNS), "rows": []}
