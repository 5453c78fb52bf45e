"""Issue 63, bar 4: each query parameter is declared once, by a field of its route's `Query` type,
which both the parser and `/openapi.json` read. A copy of the package whose date parameters are
declared at most 24 characters long refuses a longer date with the documented 400 and documents
the new bound, where the package as it is answers it."""

from __future__ import annotations

import pytest

from cryptopredict.api.types.common import DATE_EXAMPLES, MAX_LENGTH, Level
from cryptopredict.artifact.schema import LEVELS
from tests.api.package_copy import copy_package, printed
from tests.paths import ROOT

pytestmark = pytest.mark.slow

SHORTER = 24
# A date of 27 characters inside the history, asked of a route of each family, and the document.
SERVED = """
import json, sys
from pathlib import Path
from cryptopredict.api.app import create_app
from cryptopredict.artifact.store import open_artifacts
from cryptopredict.config import ApiSettings
from tests.api.synthetic import BTC, write_synthetic

out = Path(sys.argv[1])
write_synthetic(out, BTC)
client = create_app(open_artifacts(out), ApiSettings.from_env()).test_client()
date = client.get("/assets").get_json()["assets"][0]["data_until"].replace("Z", ".000000Z")
asked = {"/bitcoin": "date", "/forecast/{asset}/range": "start", "/candles/{asset}": "end"}
answers = {}
for route, name in asked.items():
    got = client.get(f"{route.format(asset='btc-usd')}?{name}={date}")
    answers[route] = [got.status_code, got.get_json() if got.status_code != 200 else None]
print(json.dumps({"date": date, "answers": answers, "openapi": client.get("/openapi.json").json}))
"""


def _date_bounds(document: dict) -> dict[tuple[str, str], int]:
    """The declared longest length of every date parameter, by route and name."""
    return {
        (path, parameter["name"]): parameter["schema"]["maxLength"]
        for path, item in document["paths"].items()
        for parameter in item["get"].get("parameters", [])
        if parameter["schema"].get("format") == "date-time"
    }


def test_a_tighter_bound_on_a_date_reaches_both_the_parser_and_the_document(tmp_path):
    copy = copy_package(tmp_path)
    declared = copy / "cryptopredict" / "api" / "types" / "common.py"
    source = declared.read_text()
    assert source.count(f"MAX_LENGTH = {MAX_LENGTH}\n") == 1
    declared.write_text(source.replace(f"MAX_LENGTH = {MAX_LENGTH}\n", f"MAX_LENGTH = {SHORTER}\n"))

    before = printed(SERVED, ROOT, tmp_path, "original")
    after = printed(SERVED, copy, tmp_path, "tighter")

    date = before["date"]
    assert SHORTER < len(date) <= MAX_LENGTH
    assert all(status == 200 for status, _ in before["answers"].values()), before["answers"]
    names = {"/bitcoin": "date", "/forecast/{asset}/range": "start", "/candles/{asset}": "end"}
    for route, (status, body) in after["answers"].items():
        detail = f"{names[route]} is {len(date)} characters long; expected a date like"
        assert status == 400
        assert body == {"error": "bad_request", "detail": f"{detail} {DATE_EXAMPLES}"}
        assert "400" in after["openapi"]["paths"][route]["get"]["responses"]

    bounds = _date_bounds(before["openapi"])
    assert {("/bitcoin", "date"), ("/candles/{asset}", "end")} <= bounds.keys()
    assert set(bounds.values()) == {MAX_LENGTH}
    assert _date_bounds(after["openapi"]) == dict.fromkeys(bounds, SHORTER)


def test_the_levels_a_query_accepts_are_the_levels_an_artifact_holds():
    assert [level.value for level in Level] == list(LEVELS)
