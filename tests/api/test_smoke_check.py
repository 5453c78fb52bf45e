"""The release's smoke check (`ci/smoke_http.py`) against the real server, and the answers its
own tests replay (`tests/delivery/recorded_api.json`) still the shape this server answers."""

from __future__ import annotations

import json

import pytest

from ci.smoke_http import main
from tests.api.artifacts import BTC_VERSION, PROPHET_DEPRECATION
from tests.delivery.fake_site import ASSETS, DATE, recorded_routes

pytestmark = [PROPHET_DEPRECATION]


@pytest.mark.slow
def test_the_smoke_check_passes_against_the_real_server(live_server, capsys):
    args = ["--base-url", live_server.url, "--model-version", BTC_VERSION, "--date", DATE]
    assert main([*args, "--assets", ",".join(ASSETS), "--wait", "30"]) == 0
    assert "FAIL" not in capsys.readouterr().out


@pytest.mark.parametrize(
    "path", [f"/bitcoin?date={DATE}", *[f"/forecast/{asset}?date={DATE}" for asset in ASSETS]]
)
def test_the_recorded_answers_have_the_fields_and_types_the_server_answers(client, path):
    recorded = json.loads(recorded_routes()[path][2])
    reply = client.get(path)
    assert reply.status_code == 200
    answer = reply.get_json()
    answer.pop("note")  # the fixture's prices are months old: a note says so
    recorded.pop("note", None)  # as it may where the answers were recorded
    assert {key: type(value) for key, value in answer.items()} == {
        key: type(value) for key, value in recorded.items()
    }
    assert answer["date"] == recorded["date"]
