"""One structured log line per request."""

from __future__ import annotations

import logging
import re

LINE = re.compile(
    r'^client=(\S+) method="(\w+)" path="(.*)" status=(\d{3}) duration_ms=(\d+\.\d{3})$'
)


def access_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "cryptopredict.api.access"]


def test_each_request_logs_one_line_with_method_path_status_and_duration(client, caplog):
    caplog.set_level(logging.INFO, logger="cryptopredict.api.access")
    client.get("/bitcoin?date=2026-07-20")
    client.get("/bitcoin?date=soon")
    client.post("/healthz")
    lines = access_lines(caplog)
    assert len(lines) == 3
    parsed = [LINE.match(line).groups() for line in lines]
    assert [(c, m, p, s) for c, m, p, s, _ in parsed] == [
        ("127.0.0.1", "GET", "/bitcoin", "200"),
        ("127.0.0.1", "GET", "/bitcoin", "400"),
        ("127.0.0.1", "POST", "/healthz", "405"),
    ]
    assert all(float(duration) >= 0 for *_, duration in parsed)


def test_the_query_string_is_not_logged(client, caplog):
    caplog.set_level(logging.INFO, logger="cryptopredict.api.access")
    client.get("/bitcoin?date=2026-07-20&token=s3cret")
    assert "s3cret" not in caplog.text
    assert "2026-07-20" not in caplog.text


def test_hostile_paths_cannot_forge_log_lines(client, caplog):
    caplog.set_level(logging.INFO, logger="cryptopredict.api.access")
    client.get('/x%0Amethod="GET" path="/forged" status=200%22')
    client.get("/" + "a" * 5000)
    lines = access_lines(caplog)
    assert len(lines) == 2
    assert all("\n" not in line for line in lines)
    assert LINE.match(lines[0]).group(4) == "404"
    assert len(lines[1]) < 300


def test_quiet_at_warning(client, caplog):
    caplog.set_level(logging.WARNING)
    client.get("/healthz")
    assert access_lines(caplog) == []
