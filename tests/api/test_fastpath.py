"""The fast path answers `GET /bitcoin` exactly as the Flask view does, and only when it can."""

from __future__ import annotations

import pytest
from werkzeug.test import Client, EnvironBuilder

from cryptopredict.api.forecasts import FastBitcoin
from cryptopredict.api.responses import SecureHeaders
from cryptopredict.api.serving.utc import iso_utc
from tests.api.artifacts import HOUR, PROPHET_DEPRECATION

pytestmark = PROPHET_DEPRECATION


def layer(app, kind):
    found = app.wsgi_app
    while not isinstance(found, kind):
        found = found.app
    return found


def fast_path(app) -> FastBitcoin:
    return layer(app, FastBitcoin)


def call(wsgi, query: str, method: str = "GET", headers: dict | None = None):
    environ = EnvironBuilder(
        path="/bitcoin", query_string=query, method=method, headers=headers
    ).get_environ()
    answered = {}

    def start_response(status, response_headers, exc_info=None):
        answered["status"] = status
        answered["headers"] = sorted(response_headers)

    body = b"".join(wsgi(environ, start_response))
    return answered["status"], answered["headers"], body


def queries(facts) -> list[str]:
    return [
        f"date={iso_utc(facts.first)}",
        f"date={iso_utc(facts.first + 10 * HOUR + 1234)}",  # between grid points, in history
        f"date={iso_utc(facts.gap)}",  # a missing bar: actual is null
        f"date={iso_utc(facts.data_end)}",
        f"date={iso_utc(facts.data_end + 7 * HOUR + 60)}",  # ahead, on the grid
        f"date={iso_utc(facts.grid_end)}",
        f"date={iso_utc(facts.first + 10 * HOUR + 1234)}&level=50",
        f"date={iso_utc(facts.data_end + 7 * HOUR + 60)}&level=95",
        f"level=95&date={iso_utc(facts.data_end)}",
        f"date={iso_utc(facts.data_end)}&level=90",
        f"date={iso_utc(facts.data_end)}&level=",
        "date=2026-07-20",
        "date=2026-07-20T14:00%2B02:00",
        "date=not-a-date",
        "date=",
        "",
        "date=2026-07-20&date=2026-07-21",
        "date=1999-01-01",
        "date=2999-01-01",
        "when=2026-07-20",
    ]


def test_every_answer_matches_the_flask_view_byte_for_byte(app, facts):
    """As a client sees them: with the headers added around both (security, CORS)."""
    secure = layer(app, SecureHeaders)
    flask_only = SecureHeaders(fast_path(app).app, secure.every_answer)
    for query in queries(facts):
        assert call(secure, query) == call(flask_only, query), query


def test_only_successful_plain_gets_skip_flask(app, facts):
    entered = []
    app.before_request(lambda: entered.append(1))
    client = Client(app)
    good = f"/bitcoin?date={iso_utc(facts.data_end)}"
    assert client.get(good).status_code == 200
    assert entered == []
    for request in (
        lambda: client.get("/bitcoin?date=soon"),  # an error: Flask answers it
        lambda: client.head(good),
        lambda: client.get(good, headers={"Origin": "https://app.example"}),  # CORS: flask-cors
        lambda: client.get("/bitcoin/forecast"),
    ):
        before = len(entered)
        request()
        assert len(entered) == before + 1


@pytest.mark.parametrize("origin", [None, "https://app.example"])
def test_fast_answers_carry_the_same_headers_as_the_rest(client, facts, origin):
    headers = {"Origin": origin} if origin else {}
    response = client.get(f"/bitcoin?date={iso_utc(facts.data_end)}", headers=headers)
    model = client.get("/model", headers=headers)
    for name in ("Access-Control-Allow-Origin", "X-Content-Type-Options"):
        assert response.headers.getlist(name) == model.headers.getlist(name)
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_fast_answers_are_counted_under_their_route(client, facts):
    client.get(f"/bitcoin?date={iso_utc(facts.data_end)}")
    text = client.get("/metrics").get_data(as_text=True)
    line = 'http_requests_total{method="GET",route="/bitcoin",status="200"} 1.0'
    assert line in text
