"""Every route, once per served asset, with a valid and with an invalid input, on the real model.

The routes come from the live `/openapi.json` and the README's Endpoints table (which must agree),
so a new route is checked as soon as it is documented. A valid request fills the required
parameters with values from the asset's own entry in `/assets`; the answer must be a 200 the
document describes. An invalid one breaks one input (an unknown asset, a malformed parameter, or
a method other than GET) and must be the documented JSON error, `{"error", "detail"}`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import schemathesis
from schemathesis import Config

from tests.e2e.readme import documented_routes

# The pages and the document: served beside the API, not operations in its document.
PAGES = {"/": "text/html", "/docs": "text/html", "/openapi.json": "application/json"}
# A valid value of each query parameter, from the asset's entry in /assets.
VALID = {
    "date": lambda asset: asset["last_bar"],
    "start": lambda asset: _iso(datetime.fromisoformat(asset["last_bar"]) - timedelta(days=7)),
    "end": lambda asset: asset["last_bar"],
    "format": lambda asset: "json",
    "interval": lambda asset: asset["interval"],
    "level": lambda asset: "80",
    "step": lambda asset: asset["interval"],
}
# A malformed value of each query parameter and the status it must answer.
INVALID = {
    "date": ("2026-02-30", 400),
    "start": ("yesterday", 400),
    "end": ("2026-07-26T25:00", 400),
    "format": ("xml", 400),
    "interval": ("1y", 400),
    "level": ("eighty", 400),
    "step": ("1.5h", 400),
    "offset": ("-1", 400),
    "limit": ("0", 400),
}
UNKNOWN_ASSET = "doge-usd"
# Routes that answer, as documented, 404 no_minute_data for an asset without minute bars.
MINUTE_ROUTES = {"/price/{asset}"}


@dataclass(frozen=True)
class Call:
    route: str
    asset: dict[str, Any] | None
    path: str
    query: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.path}?{'&'.join(f'{k}={v}' for k, v in self.query.items())}"


@pytest.fixture(scope="module")
def api_schema(served) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_dict(served.spec, config=Config())


def test_the_readme_documents_every_route_the_api_serves(served):
    assert documented_routes() == set(served.spec["paths"]) | set(PAGES)


def test_every_route_answers_a_valid_request_for_every_asset(served, api_schema):
    calls = [call for route in served.spec["paths"] for call in _valid_calls(served, route)]
    assert {call.route for call in calls} == set(served.spec["paths"])
    with_minutes = served.get("/live").json()["assets"]
    assert with_minutes, "the replayed minutes are missing"
    for call in calls:
        response = served.get(call.path, params=call.query)
        if call.route in MINUTE_ROUTES and call.asset["asset"] not in with_minutes:
            _is_error(response, 404, call)
            assert response.json()["error"] == "no_minute_data", call
        else:
            assert response.status_code == 200, f"{call}: {response.status_code} {response.text}"
        _conforms(api_schema, call, response)


def test_every_route_refuses_an_invalid_request_with_a_json_error(served, api_schema):
    for route in served.spec["paths"]:
        invalid = _invalid_calls(served, route)
        for call, status in invalid:
            response = served.get(call.path, params=call.query)
            _is_error(response, status, call)
            _conforms(api_schema, call, response)
        if not invalid:  # nothing to break but the method
            _is_error(requests.post(served.url + route, timeout=60), 405, f"POST {route}")


@pytest.mark.parametrize(("page", "media"), PAGES.items())
def test_the_pages_answer_get_and_refuse_other_methods(served, page, media):
    response = served.get(page)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith(media)
    _is_error(requests.post(served.url + page, timeout=60), 405, f"POST {page}")


def test_health_and_metrics_name_every_served_asset(served):
    slugs = [asset["asset"] for asset in served.assets]
    health = served.get("/healthz").json()
    assert [entry["asset"] for entry in health["assets"]] == slugs
    assert health["asset"] == served.catalog["default"]
    metrics = served.get("/metrics").text
    for asset in served.assets:
        info = f'cryptopredict_model_info{{asset="{asset["asset"]}",'
        assert info in metrics, f"no model_info for {asset['asset']}"
        for gauge in ("cryptopredict_model_age_seconds", "cryptopredict_data_age_seconds"):
            assert f'{gauge}{{asset="{asset["asset"]}"}}' in metrics, gauge


def test_an_unknown_route_is_a_json_404(served):
    _is_error(served.get("/no/such/route"), 404, "/no/such/route")


def _valid_calls(served, route: str) -> list[Call]:
    operation = served.spec["paths"][route]["get"]
    required = [
        p["name"]
        for p in operation.get("parameters", [])
        if p["in"] == "query" and p.get("required")
    ]
    calls = []
    for asset in _assets_of(served, route):
        missing = [name for name in required if name not in VALID]
        assert not missing, f"{route}: add a valid value for {missing} to VALID"
        query = {name: VALID[name](asset) for name in required}
        calls.append(Call(route, asset, _path(route, asset), query))
    return calls


def _invalid_calls(served, route: str) -> list[tuple[Call, int]]:
    """An unknown asset (once), and a malformed parameter for each asset."""
    operation = served.spec["paths"][route]["get"]
    params = [p for p in operation.get("parameters", []) if p["in"] == "query"]
    calls = []
    if "{asset}" in route:
        unknown = {"asset": UNKNOWN_ASSET}
        calls.append((Call(route, None, _path(route, unknown), _required(params, None)), 404))
    breakable = [p["name"] for p in params if p["name"] in INVALID]
    if breakable:
        name = breakable[0]
        value, status = INVALID[name]
        for asset in _assets_of(served, route):
            query = {**_required(params, asset), name: value}
            calls.append((Call(route, asset, _path(route, asset), query), status))
    return calls


def _required(params: list[dict[str, Any]], asset: dict[str, Any] | None) -> dict[str, str]:
    if asset is None:
        return {p["name"]: "2026-07-01" for p in params if p.get("required")}
    return {p["name"]: VALID[p["name"]](asset) for p in params if p.get("required")}


def _assets_of(served, route: str) -> list[dict[str, Any]]:
    """The assets a route answers for: every served one for `{asset}` routes, else the one it
    describes (`/bitcoin` is BTC/USD's; `/model`, `/healthz` and the rest the default's)."""
    by_slug = {asset["asset"]: asset for asset in served.assets}
    if "{asset}" in route:
        return served.assets
    if route.startswith("/bitcoin"):
        return [by_slug["btc-usd"]]
    return [by_slug[served.catalog["default"]]]


def _path(route: str, asset: dict[str, Any]) -> str:
    return route.replace("{asset}", asset["asset"])


def _conforms(api_schema, call: Call, response: requests.Response) -> None:
    declared = api_schema.raw_schema["paths"][call.route]["get"]["responses"]
    assert str(response.status_code) in declared, f"{call}: {response.status_code} undeclared"
    media = response.headers["Content-Type"].split(";")[0]
    assert media in declared[str(response.status_code)].get("content", {}), f"{call}: {media}"
    api_schema[call.route]["GET"].validate_response(response)


def _is_error(response: requests.Response, status: int, what: object) -> None:
    assert response.status_code == status, f"{what}: {response.status_code} {response.text}"
    assert response.headers["Content-Type"].startswith("application/json"), what
    body = response.json()
    assert set(body) == {"error", "detail"}, f"{what}: {body}"
    assert isinstance(body["error"], str), what
    assert isinstance(body["detail"], str), what
    assert body["detail"], what


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
