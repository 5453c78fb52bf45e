"""Errors as JSON, security and cache headers on every answer, and CORS."""

from __future__ import annotations

import dataclasses

import pytest

from cryptopredict.api.app import create_app

PATHS = [
    "/bitcoin?date=2026-07-20",
    "/bitcoin?date=soon",
    "/bitcoin/forecast?format=csv",
    "/forecast/eth-usd?date=2026-06-01",
    "/forecast/eth-usd/range?format=csv",
    "/forecast/doge-usd",
    "/assets",
    "/candles/btc-usd?interval=4h",
    "/candles/eth-usd?interval=1m",
    "/model",
    "/model/backtest",
    "/healthz",
    "/metrics",
    "/openapi.json",
    "/docs",
    "/",
    "/static/dashboard.js",
    "/vendor/plotly.min.js",
    "/vendor/swagger-ui/swagger-ui.css",
    "/nope",
]


def test_an_unknown_route_is_a_json_404(client):
    response = client.get("/bitcoins")
    assert response.status_code == 404
    assert response.get_json() == {
        "error": "not_found",
        "detail": "no such route; the API is described at /docs and /openapi.json",
    }


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_other_methods_are_a_json_405_naming_the_allowed_ones(client, method):
    response = client.open("/bitcoin?date=2026-07-20", method=method)
    assert response.status_code == 405
    assert response.get_json()["error"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]
    assert method in response.get_json()["detail"]


def test_head_answers_like_get_without_a_body(client):
    response = client.head("/bitcoin?date=2026-07-20")
    assert response.status_code == 200
    assert response.data == b""


@pytest.mark.parametrize("path", PATHS)
def test_every_answer_carries_the_security_headers(client, path):
    response = client.get(path)
    assert response.status_code in (200, 400, 404, 422)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert len(response.headers.getlist("Content-Security-Policy")) == 1
    assert len(response.headers.getlist("Cache-Control")) == 1


@pytest.mark.parametrize("page", ["/", "/docs"])
def test_pages_allow_only_their_own_origin(client, page):
    response = client.get(page)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy
    assert "connect-src 'self';" in policy
    assert "default-src 'none'" in policy
    assert "http" not in policy
    assert "unsafe-eval" not in policy
    assert ("'unsafe-inline'" in policy) == (page == "/")  # plotly.js styles, on the dashboard


@pytest.mark.parametrize(
    ("path", "cache"),
    [
        ("/bitcoin?date=2026-07-20", "public, max-age=600"),
        ("/bitcoin/forecast", "public, max-age=600"),
        ("/forecast/eth-usd?date=2026-06-01", "public, max-age=600"),
        ("/forecast/eth-usd/range", "public, max-age=600"),
        ("/assets", "public, max-age=600"),
        ("/candles/eth-usd", "public, max-age=600"),
        ("/candles/eth-usd?interval=1h", "no-store"),
        ("/model", "public, max-age=600"),
        ("/openapi.json", "public, max-age=600"),
        ("/healthz", "no-store"),
        ("/metrics", "no-store"),
        ("/bitcoin?date=2020-01-01", "no-store"),
        ("/vendor/plotly.min.js", "public, max-age=86400"),
    ],
)
def test_cache_control_suits_a_model_retrained_every_six_hours(client, path, cache):
    assert client.get(path).headers["Cache-Control"] == cache


def test_cache_seconds_is_a_setting(artifacts, settings):
    app = create_app(artifacts, dataclasses.replace(settings, cache_seconds=60))
    response = app.test_client().get("/bitcoin?date=2026-07-20")
    assert response.headers["Cache-Control"] == "public, max-age=60"


def test_by_default_any_origin_may_read_without_credentials(client):
    plain = client.get("/bitcoin?date=2026-07-20")
    assert plain.headers["Access-Control-Allow-Origin"] == "*"
    cross = client.get("/bitcoin?date=2026-07-20", headers={"Origin": "https://app.example"})
    assert cross.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in cross.headers
    assert cross.get_json()["prediction"] > 0


def test_a_preflight_from_another_origin_allows_get_only(client):
    preflight = client.options(
        "/bitcoin?date=2026-07-20",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "accept",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert set(preflight.headers["Access-Control-Allow-Methods"].split(", ")) == {"GET", "HEAD"}
    assert "Access-Control-Allow-Credentials" not in preflight.headers
    refused = client.options(
        "/bitcoin",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "DELETE"},
    )
    assert "Access-Control-Allow-Methods" not in refused.headers


def test_cors_origins_limits_who_may_read(artifacts, settings):
    listed = "https://a.example, https://b.example"
    client = create_app(artifacts, dataclasses.replace(settings, cors_origins=listed)).test_client()
    allowed = client.get("/healthz", headers={"Origin": "https://b.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://b.example"
    assert "Origin" in allowed.headers["Vary"]
    stranger = client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in stranger.headers
    preflight = client.options(
        "/healthz",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "Access-Control-Allow-Origin" not in preflight.headers
    plain = client.get("/healthz")
    assert "Access-Control-Allow-Origin" not in plain.headers
    assert plain.headers["Vary"] == "Origin"


def test_an_unexpected_failure_is_a_logged_json_500(app, caplog, monkeypatch):
    forecast = app.extensions["cryptopredict"]["catalog"]["btc-usd"].forecast

    def broken(epoch: float, level: int) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(forecast, "at", broken)
    response = app.test_client().get("/bitcoin?date=2026-07-20")
    assert response.status_code == 500
    assert response.get_json() == {
        "error": "internal_error",
        "detail": "an unexpected error; it has been logged",
    }
    assert "a bug" in caplog.text
    assert response.headers["X-Content-Type-Options"] == "nosniff"
