"""ci/audit.py runs pip-audit only where its service answers, and says why it skips otherwise; a
push keeps the gate, a rebuild of a released tag goes on and says what it found (issue 82),
against a stand-in of OSV's feed (tests/release/osv.py) with the real pip-audit."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from ci import audit
from tests.release.osv import QUERY, Feed, advisory

UNREACHABLE = audit.unreachable_reason


@pytest.fixture(autouse=True)
def _findings_in_tmp(monkeypatch, tmp_path):
    monkeypatch.setattr(audit, "FINDINGS", tmp_path / "findings.md")


PROBE = "/pypi/pip/json"
GONE = f"http://127.0.0.1:9{PROBE}"  # the discard port: nothing listens, the connection refused


@pytest.mark.parametrize(("status", "reason"), [(200, None), (404, "{url} answered HTTP 404")])
def test_a_service_that_answers_is_used_a_mirror_without_the_json_api_named(server, status, reason):
    server.answer(status, "{}")
    url = f"{server.url}{PROBE}"
    assert audit.unreachable_reason(url) == (reason and reason.format(url=url))


def test_a_refused_connection_is_named_as_the_reason():
    assert audit.unreachable_reason(GONE).startswith(f"{GONE} is unreachable")


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


@pytest.mark.parametrize("ref", ["refs/heads/main", "refs/tags/v0.1.5"])
def test_where_the_index_is_required_an_unreachable_one_fails(monkeypatch, capsys, ref):
    # The release's test job sets AUDIT_REQUIRE_INDEX=1: an audit that cannot run gates it.
    monkeypatch.setenv("AUDIT_REQUIRE_INDEX", "1")
    # A rebuild of a release too: nothing was audited.
    monkeypatch.setenv("GITHUB_REF_TYPE", "tag" if ref.startswith("refs/tags/") else "branch")
    ran = pip_audit_exits(monkeypatch, 0)
    monkeypatch.setattr(audit, "probe_url", lambda root: GONE)
    monkeypatch.setattr(audit, "unreachable_reason", UNREACHABLE)
    assert audit.main([]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"pip-audit could not run: {GONE} is unreachable")
    assert "AUDIT_REQUIRE_INDEX=1 makes that a failure" in out
    assert ran == [], "pip-audit itself never ran"


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
    assert ran[0].count("--requirement") == len(audit.LOCK_FILES) == 2
    assert "--no-deps" in ran[0]
    assert "--strict" in ran[0]


def test_root_audits_the_lock_files_of_another_checkout(monkeypatch, tmp_path):
    for lock in audit.LOCK_FILES:
        (tmp_path / lock).write_text("flask==3.1.3 \\\n    --hash=sha256:" + "0" * 64 + "\n")
    probed: list[str] = []
    ran = pip_audit_exits(monkeypatch, 0)
    monkeypatch.setattr(audit, "unreachable_reason", lambda url, query=None: probed.append(url))
    assert audit.main(["--root", str(tmp_path)]) == 0
    assert probed == ["https://pypi.org/pypi/flask/3.1.3/json"]
    audited = [ran[0][i + 1] for i, arg in enumerate(ran[0]) if arg == "--requirement"]
    assert audited == [str(tmp_path / lock) for lock in audit.LOCK_FILES]


# Issue 82: the real pip-audit, asking a stand-in of OSV's feed, on lock files of a checkout.

PINS = {
    "requirements-api.txt": "flask==3.1.0\njinja2==3.1.5\n",
    "requirements-train.txt": "jinja2==3.1.5\npandas==2.2.3\nrequests==2.32.3\n",
}
GHSA = "GHSA-cpwx-vrp4-4pq7"


@pytest.fixture
def checkout(tmp_path, server, monkeypatch) -> Path:
    """A checkout's lock files, and OSV's feed (answering the audit) naming jinja2 3.1.5."""
    root = tmp_path / "checkout"
    (root / "ci").mkdir(parents=True)
    for lock, pins in PINS.items():
        (root / lock).write_text(pins)
    feed = Feed([advisory(GHSA, "jinja2", "3.1.5", "3.1.6", ("CVE-2025-27516",))])
    server.handler = feed.handle
    monkeypatch.setenv("PIP_AUDIT_VULNERABILITY_SERVICE", "osv")
    monkeypatch.setenv("PIP_AUDIT_OSV_URL", f"{server.url}{QUERY}")
    monkeypatch.setenv("AUDIT_REQUIRE_INDEX", "1")
    monkeypatch.setenv("PIP_AUDIT_CACHE_DIR", str(tmp_path / "cache"))
    return root


def audited(root: Path, ref: str, capsys, monkeypatch) -> tuple[int, str, str]:
    """(exit status, what it printed, the findings it wrote) for a run on `ref`."""
    monkeypatch.setenv("GITHUB_REF_TYPE", "tag" if ref.startswith("refs/tags/") else "branch")
    monkeypatch.setenv("GITHUB_REF_NAME", ref.split("/", 2)[2])
    code = audit.main(["--root", str(root), "--findings", str(root / "findings.md")])
    return code, capsys.readouterr().out, (root / "findings.md").read_text()


@pytest.mark.slow  # pip-audit itself, twice
def test_a_new_advisory_stops_a_push_and_lets_a_released_tags_rebuild_go_on_saying_so(
    checkout, capsys, monkeypatch
):
    code, out, findings = audited(checkout, "refs/heads/main", capsys, monkeypatch)
    assert code == 1, "a push keeps the gate"
    row = f"| jinja2 | 3.1.5 | CVE-2025-27516 ({GHSA}) | 3.1.6 | "  # pip-audit names the CVE first
    assert f"{row}requirements-api.txt, requirements-train.txt |" in findings
    assert '`make lock UPGRADE="jinja2==3.1.6"`' in findings
    assert "this run's release stops here" in findings
    assert findings in out
    code, out, findings = audited(checkout, "refs/tags/v0.1.5", capsys, monkeypatch)
    assert code == 0, "the rebuild of a release: what it ships, the running image ships too"
    assert row in findings
    assert "Meanwhile the scheduled rebuilds of v0.1.5 go on" in findings
    assert "::warning title=pip-audit::known vulnerabilities in pins v0.1.5 already ships" in out


@pytest.mark.slow  # pip-audit itself, twice
def test_an_accepted_advisory_is_ignored_until_its_entry_expires(checkout, capsys, monkeypatch):
    entry = (
        '[[ignore]]\nid = "CVE-2025-27516"\npackage = "jinja2"\n'
        'reason = "no untrusted templates"\nreviewed = "2026-11-26, octo"\nexpires = {}\n'
    )
    (checkout / "ci" / "audit-ignore.toml").write_text(entry.format("2999-12-31"))
    code, out, findings = audited(checkout, "refs/heads/main", capsys, monkeypatch)
    assert (code, findings) == (0, ""), "accepted by an alias, until 2999"
    assert "no known vulnerability in the pins" in out
    (checkout / "ci" / "audit-ignore.toml").write_text(entry.format("2026-01-31"))
    code, out, findings = audited(checkout, "refs/heads/main", capsys, monkeypatch)
    assert code == 1
    assert "audit-ignore.toml accepted CVE-2025-27516 (jinja2) until 2026-01-31: it counts " in (
        findings
    )


ENTRY = 'id = "GHSA-1"\npackage = "jinja2"\nreason = "why"\nreviewed = "octo"\n'


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (f"[[ignore]]\n{ENTRY}expires = 2027-01-31\nby = 'x'", "entry 1 must have exactly"),
        (f"[[ignore]]\n{ENTRY}", "entry 1 must have exactly"),
        (f"[[ignore]]\n{ENTRY}expires = '2027-01-31'", "`expires` a date (expires = 2027-01-31)"),
        (f"[[ignore]]\n{ENTRY}expires = 2027-01-31T00:00:00", "`expires` a date"),
        ("ignore = [1]", "entry 1 must have exactly"),
        (f"[[ignore]]\n{ENTRY}expires 2027-01-31", "audit-ignore.toml is not TOML: "),
    ],
)
def test_a_bad_entry_stops_the_audit_naming_the_entry(tmp_path, capsys, monkeypatch, text, said):
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "audit-ignore.toml").write_text(text)
    (tmp_path / "requirements-api.txt").write_text("flask==3.1.0\n")
    ran = pip_audit_exits(monkeypatch, 0)
    assert audit.main(["--root", str(tmp_path)]) == 1
    assert said in capsys.readouterr().out
    assert ran == [], "pip-audit never ran"


def test_the_projects_ignore_file_is_read_as_the_audit_reads_it():
    ids, expired = audit.accepted(audit.IGNORE_FILE, date(2026, 11, 26))
    assert expired == [], "an expired entry: review it"
    assert all(ids)
