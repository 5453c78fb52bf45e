"""Check a running cryptopredict server over HTTP: `python -m ci.smoke_http --help`.

Used by `make image-test` against the image it just built, and runnable against any server:

    python -m ci.smoke_http --base-url http://127.0.0.1:8080 --model-version dev --date 2026-07-01

`/bitcoin?date=D` and `/forecast/PAIR?date=D` are read by field, as clients read them:
`prediction`, `prediction_low` and `prediction_high` must be finite positive numbers with
low <= point <= high, and `date` the instant D.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from tools.release.render import model_version as reported

PRICES = ("prediction_low", "prediction", "prediction_high")  # in the order they must hold


class CheckError(Exception):
    """A response is not what a working server sends; the message says what came instead."""


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def fetch(url: str, timeout: float = 10.0) -> Reply:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return Reply(response.status, response.headers.get_content_type(), response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.headers.get_content_type(), error.read())


def wait_until_up(base_url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            fetch(f"{base_url}/healthz", timeout=2)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
            if time.monotonic() > deadline:
                message = f"no server at {base_url} after {seconds:.0f} s ({error})"
                raise SystemExit(message) from None
            time.sleep(0.5)


def checks(
    base_url: str, model_version: str, date: str, assets: Sequence[str] = ()
) -> Iterator[tuple[str, Callable[[], str]]]:
    """(what, check) pairs; a check returns what it saw, or raises CheckError. `assets`: the
    pairs the image holds, each of which must be listed and answer."""

    def healthz() -> str:
        reply = fetch(f"{base_url}/healthz")
        _expect(reply.status == 200, f"HTTP {reply.status}")
        _expect(reported(reply.body) == model_version, f"no {model_version} in {reply.body!r}")
        return f"200, reports {model_version}"

    asked = instant(date)
    query = f"date={quote(date, safe=':')}"

    def bitcoin() -> str:
        return read_prediction(fetch(f"{base_url}/bitcoin?{query}"), asked)

    def bad_date() -> str:
        reply = fetch(f"{base_url}/bitcoin?date=not-a-date")
        _expect(400 <= reply.status < 500, f"HTTP {reply.status}, expected a 4xx")
        return f"{reply.status}"

    def docs() -> str:
        reply = fetch(f"{base_url}/docs")
        _expect(reply.status == 200, f"HTTP {reply.status}")
        _expect(reply.content_type == "text/html", f"content type {reply.content_type}")
        _expect(b"swagger" in reply.body.lower(), "no Swagger UI in the page")
        return "200, Swagger UI"

    def openapi() -> str:
        reply = fetch(f"{base_url}/openapi.json")
        _expect(reply.status == 200, f"HTTP {reply.status}")
        spec = reply.json()
        _expect("openapi" in spec, "no 'openapi' version field")
        _expect("/bitcoin" in spec.get("paths", {}), "/bitcoin is not documented")
        return f"200, OpenAPI {spec['openapi']}"

    def listed() -> str:
        reply = fetch(f"{base_url}/assets")
        _expect(reply.status == 200, f"HTTP {reply.status}")
        names = set(_strings(reply.json()))
        missing = [asset for asset in assets if asset not in names]
        _expect(not missing, f"{', '.join(missing)} held but not listed")
        return f"200, lists {', '.join(assets)}"

    def forecast(asset: str) -> Callable[[], str]:
        def check() -> str:
            return read_prediction(fetch(f"{base_url}/forecast/{asset}?{query}"), asked)

        return check

    yield "/healthz", healthz
    yield f"/bitcoin?date={date}", bitcoin
    yield "/bitcoin?date=not-a-date", bad_date
    yield "/docs", docs
    yield "/openapi.json", openapi
    if assets:
        yield "/assets", listed
    for asset in assets:
        yield f"/forecast/{asset}?date={date}", forecast(asset)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ci.smoke_http", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--model-version", required=True, help="what /healthz must report")
    parser.add_argument(
        "--date",
        required=True,
        type=_date,
        help="a YYYY-MM-DD (or ISO-8601 datetime, UTC without an offset) the model serves",
    )
    parser.add_argument("--wait", type=float, default=120.0, help="seconds to wait for the server")
    parser.add_argument(
        "--assets",
        default="",
        help="comma-separated pairs the server holds: each must be listed by /assets and answer "
        "/forecast/PAIR?date=DATE (ci/held_assets.py prints them inside an image)",
    )
    args = parser.parse_args(argv)
    base_url = args.base_url.rstrip("/")
    wait_until_up(base_url, args.wait)
    failures = 0
    assets = [asset for asset in args.assets.split(",") if asset]
    for what, check in checks(base_url, args.model_version, args.date, assets):
        try:
            print(f"ok    {what}: {check()}")
        except (CheckError, ValueError, urllib.error.URLError) as error:
            failures += 1
            print(f"FAIL  {what}: {error}")
    return 1 if failures else 0


def instant(date: str) -> datetime:
    """The instant a `date` query means: UTC unless it carries an offset (a bare date is
    midnight UTC), as the API reads it."""
    moment = datetime.fromisoformat(date)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def read_prediction(reply: Reply, asked: datetime) -> str:
    """Check a prediction answer by field; returns the band it read."""
    _expect(reply.status == 200, f"HTTP {reply.status}: {reply.body[:200]!r}")
    answer = reply.json()
    _expect(isinstance(answer, dict), f"not a JSON object: {reply.body[:200]!r}")
    for field in PRICES:
        _expect(field in answer, f"no {field} in the answer")
        value = answer[field]
        number = isinstance(value, int | float) and not isinstance(value, bool)
        _expect(number, f"{field} is {value!r}, not a number")
        _expect(math.isfinite(value) and value > 0, f"{field} is {value!r}, not a positive price")
    low, point, high = (answer[field] for field in PRICES)
    _expect(
        low <= point <= high,
        f"not prediction_low <= prediction <= prediction_high: {low}, {point}, {high}",
    )
    _expect("date" in answer, "no date in the answer")
    try:
        answered = instant(answer["date"]) if isinstance(answer["date"], str) else None
    except ValueError:
        answered = None
    _expect(
        answered == asked,
        f"date is {answer['date']!r}, not the instant asked for ({asked:%Y-%m-%dT%H:%M:%SZ})",
    )
    return f"200, {low} <= {point} <= {high} at {answer['date']}"


def _date(text: str) -> str:
    try:
        instant(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (YYYY-MM-DD)") from None
    return text


def _expect(condition: bool, problem: str) -> None:
    if not condition:
        raise CheckError(problem)


def _strings(document: Any) -> Iterator[str]:
    if isinstance(document, str):
        yield document
    elif isinstance(document, dict):
        for value in document.values():
            yield from _strings(value)
    elif isinstance(document, list):
        for value in document:
            yield from _strings(value)


if __name__ == "__main__":
    sys.exit(main())
