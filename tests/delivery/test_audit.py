"""ci/audit.py runs pip-audit only where its service answers, and says why it skips otherwise."""

from __future__ import annotations

import http.server
import json
import threading
from contextlib import contextmanager

import pytest

from ci import audit
from tests.loopback import POLL

UNREACHABLE = audit.unreachable_reason


@contextmanager
def service(status: int):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs=POLL, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/pypi/pip/json"
    finally:
        server.shutdown()


def test_a_service_that_answers_is_used():
    with service(200) as url:
        assert audit.unreachable_reason(url) is None


def test_a_mirror_without_the_json_api_is_named_as_the_reason():
    with service(404) as url:
        assert audit.unreachable_reason(url) == f"{url} answered HTTP 404"


def test_a_refused_connection_is_named_as_the_reason():
    with service(200) as url:
        pass  # the server is gone: its port now refuses connections
    reason = audit.unreachable_reason(url)
    assert reason.startswith(f"{url} is unreachable")


def test_the_probe_asks_for_a_pinned_version_as_pip_audit_does():
    url = audit.probe_url()
    assert url.startswith("https://pypi.org/pypi/")
    name, version = url.removeprefix("https://pypi.org/pypi/").removesuffix("/json").split("/")
    assert f"{name}=={version}" in (audit.ROOT / "requirements-api.txt").read_text()


def test_pip_audit_set_to_ask_osv_is_probed_there_with_its_query(monkeypatch):
    monkeypatch.setenv("PIP_AUDIT_VULNERABILITY_SERVICE", "osv")
    monkeypatch.setenv("PIP_AUDIT_OSV_URL", "http://127.0.0.1:9/v1/query")
    url, query = audit.probe()
    assert url == "http://127.0.0.1:9/v1/query"
    asked = json.loads(query)
    pin = f"{asked['package']['name']}=={asked['version']}"
    assert asked["package"]["ecosystem"] == "PyPI"
    assert pin in (audit.ROOT / "requirements-api.txt").read_text()
    monkeypatch.delenv("PIP_AUDIT_VULNERABILITY_SERVICE")
    assert audit.probe() == (audit.probe_url(), None), "PyPI's JSON API by default"


def test_skipping_prints_the_reason_and_passes(monkeypatch, capsys):
    monkeypatch.delenv("AUDIT_REQUIRE_INDEX", raising=False)
    monkeypatch.setattr(
        audit, "unreachable_reason", lambda url, query=None: "pypi.org is unreachable (test)"
    )
    assert audit.main([]) == 0
    assert capsys.readouterr().out == "pip-audit skipped: pypi.org is unreachable (test)\n"


@pytest.mark.parametrize("mode", [[], ["--report"]])
def test_where_the_index_is_required_an_unreachable_one_fails(monkeypatch, capsys, mode):
    # The release's test job sets AUDIT_REQUIRE_INDEX=1: an audit that cannot run gates it.
    monkeypatch.setenv("AUDIT_REQUIRE_INDEX", "1")
    ran = pip_audit_exits(monkeypatch, 0)
    with service(200) as url:
        pass  # the server is gone: its port now refuses connections
    monkeypatch.setattr(audit, "probe_url", lambda root: url)
    monkeypatch.setattr(audit, "unreachable_reason", UNREACHABLE)
    assert audit.main(mode) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"pip-audit could not run: {url} is unreachable")
    assert "AUDIT_REQUIRE_INDEX=1 makes that a failure" in out
    assert ran == [], "pip-audit itself never ran"


def test_where_the_index_is_required_and_answers_the_audit_runs(monkeypatch):
    monkeypatch.setenv("AUDIT_REQUIRE_INDEX", "1")
    ran = pip_audit_exits(monkeypatch, 0)
    with service(200) as url:
        monkeypatch.setattr(audit, "probe_url", lambda root: url)
        monkeypatch.setattr(audit, "unreachable_reason", UNREACHABLE)
        assert audit.main([]) == 0
    assert len(ran) == 1


def pip_audit_exits(monkeypatch, code: int) -> list[list[str]]:
    """Make the audit's service answer and pip-audit exit with `code`; returns its commands."""
    monkeypatch.setattr(audit, "unreachable_reason", lambda url, query=None: None)
    ran: list[list[str]] = []

    def fake_run(command, check):
        ran.append(command)
        return type("Done", (), {"returncode": code})()

    monkeypatch.setattr(audit.subprocess, "run", fake_run)
    return ran


def test_an_audit_that_finds_something_fails(monkeypatch):
    ran = pip_audit_exits(monkeypatch, 1)
    assert audit.main([]) == 1
    assert ran[0].count("--requirement") == len(audit.LOCK_FILES) == 3
    assert "--no-deps" in ran[0]
    assert "--strict" in ran[0]


def test_a_report_runs_the_same_audit_and_passes_with_a_github_warning(monkeypatch, capsys):
    ran = pip_audit_exits(monkeypatch, 1)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert audit.main(["--report"]) == 0
    assert "--strict" in ran[0]
    out = capsys.readouterr().out
    assert out.startswith("::warning title=pip-audit::pip-audit found known vulnerabilities")
    assert "reported, not gating" in out


def test_a_clean_report_says_nothing_more(monkeypatch, capsys):
    pip_audit_exits(monkeypatch, 0)
    assert audit.main(["--report"]) == 0
    assert capsys.readouterr().out == ""


def test_root_audits_the_lock_files_of_another_checkout(monkeypatch, tmp_path):
    for lock in audit.LOCK_FILES:
        (tmp_path / lock).write_text("flask==3.1.3 \\\n    --hash=sha256:" + "0" * 64 + "\n")
    probed: list[str] = []
    ran = pip_audit_exits(monkeypatch, 0)
    monkeypatch.setattr(audit, "unreachable_reason", lambda url, query=None: probed.append(url))
    assert audit.main(["--report", "--root", str(tmp_path)]) == 0
    assert probed == ["https://pypi.org/pypi/flask/3.1.3/json"]
    audited = [ran[0][i + 1] for i, arg in enumerate(ran[0]) if arg == "--requirement"]
    assert audited == [str(tmp_path / lock) for lock in audit.LOCK_FILES]
