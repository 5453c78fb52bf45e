"""`python -m tools.release say`: one repository issue kept up to date (opened, updated, closed
when healed) and the job summary, against a stand-in of GitHub's issues API (issue 82)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from tests.release.github_fork import LIMITED, Fork
from tests.release.github_issues import Issues
from tools.release import cli, retry
from tools.release.say import LABEL, PREAMBLE, sections


@pytest.fixture
def issues(server, tmp_path) -> Issues:
    kept = Issues(labels={LABEL}, host=server.url.removeprefix("http://"))  # as setup leaves it
    server.handler = kept.handle
    return kept


def say(server, tmp_path, *args: str, run: str = "7", command: str = "say", code: int = 0) -> str:
    environ = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_TOKEN": "ghs_job",
        "GITHUB_REPOSITORY": "octo/cryptopredict",
        "GITHUB_API_URL": server.url,
        "GITHUB_RUN_ID": run,
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
    }
    assert cli.main([command, *args], environ) == code
    return (tmp_path / "summary.md").read_text() if (tmp_path / "summary.md").exists() else ""


def test_one_issue_is_opened_updated_when_it_changes_and_closed_once_all_healed(
    server, tmp_path, issues, capsys
):
    advisory = "GHSA-1 names jinja2 3.1.5, which v0.1.5 ships: bump it to 3.1.6"
    summary = say(server, tmp_path, "--topic", "audit", "--text", advisory)
    assert "### Needs you: audit" in summary
    assert advisory in summary
    [issue] = issues.open()
    assert [label["name"] for label in issue["labels"]] == [LABEL]
    assert issue["body"].startswith("@octo "), "the owner mentioned: GitHub mails them"
    assert sections(issue["body"])["audit"][0] == advisory
    # The next runs say the same: the same issue, no comment (no mail to the owner each run).
    for run in ("8", "9"):
        say(server, tmp_path, "--topic", "audit", "--text", advisory, run=run)
    assert len(issues.issues) == 1
    assert issues.comments == {}
    assert "@octo" not in issue["body"], "mentioned once, when the topic opened"
    assert sections(issue["body"])["audit"][1].endswith("/actions/runs/9"), "the last run's"
    # A second topic, and a change of the first: one comment each, still one issue.
    say(server, tmp_path, "--topic", "stranded-push", "--text", "main's head failed twice")
    say(server, tmp_path, "--topic", "audit", "--text", advisory + " and GHSA-2")
    assert len(issues.issues) == 1
    assert [comment.split("\n")[0] for comment in issues.comments[1]] == [
        "@octo **stranded-push** (https://github.com/octo/cryptopredict/actions/runs/7):",
        "**audit** (https://github.com/octo/cryptopredict/actions/runs/7):",
    ], "the owner mentioned where a topic opens, not where it changes"
    # Healed one by one: the issue closes with the last.
    capsys.readouterr()
    said = say(server, tmp_path, "--topic", "audit", "--healed", run="10")
    assert "audit: healed (issue #1 still holds stranded-push)" in capsys.readouterr().out
    assert "**Healed**: audit: healed" in said
    assert issue["state"] == "open"
    assert list(sections(issue["body"])) == ["stranded-push"]
    say(server, tmp_path, "--topic", "stranded-push", "--text", "", run="11")
    assert (issue["state"], issue["state_reason"]) == ("closed", "completed")
    assert issues.comments[1][-1] == (
        "Healed: stranded-push, by https://github.com/octo/cryptopredict/actions/runs/11."
    )
    # Healing what is healed writes nothing; new trouble opens a new issue.
    writes = len([m for m, _ in server.requests if m != "GET"])
    say(server, tmp_path, "--topic", "audit", "--healed")
    assert len([m for m, _ in server.requests if m != "GET"]) == writes
    say(server, tmp_path, "--topic", "audit", "--text", advisory)
    assert [i["number"] for i in issues.open()] == [2]


def test_the_one_issue_is_found_among_250_read_page_by_page(server, tmp_path, issues):
    """Issue 112: GitHub pages the issues it lists (pull requests among them), 30 unless asked
    and 100 at most; the one issue, the oldest of 250 labelled, is on the last page."""
    say(server, tmp_path, "--topic", "audit", "--text", "GHSA-1")
    for number in range(2, 251):
        labels = [{"name": LABEL}]
        issues.issues.append(
            {"number": number, "state": "open", "labels": labels, "pull_request": {}}
        )
    say(server, tmp_path, "--topic", "audit", "--text", "GHSA-1 and GHSA-2")
    assert len(issues.issues) == 250, "no second issue"
    assert sections(issues.issues[0]["body"])["audit"][0] == "GHSA-1 and GHSA-2"


def test_the_issue_points_at_a_section_of_the_release_page_that_exists():
    section = re.search(r'docs/release.md, "([^"]+)"', PREAMBLE)[1]
    page = (Path(__file__).resolve().parents[2] / "docs" / "release.md").read_text()
    assert section in re.findall(r"^#+ (.+)$", page, re.M)


def test_github_unavailable_is_a_warning_after_the_summary_never_a_failure(
    server, tmp_path, issues, capsys
):
    issues.failing = 503
    summary = say(server, tmp_path, "--topic", "audit", "--text", "GHSA-1")
    assert "GHSA-1" in summary, "the summary first"
    out = capsys.readouterr().out
    assert out.startswith("::warning title=release issue::audit could not be said in the issue")
    assert "HTTP 503" in out
    assert "Re-run the failed jobs" in out
    asked = [request for request in server.requests if request[0] == "GET"]
    assert len(asked) == 3, "tried again twice"


def test_issues_off_fails_the_job_naming_why_after_the_summary_and_healing_stays_green(
    server, tmp_path, issues, capsys
):
    """Issue 105: GitHub answers 410 while Issues are off (a fork's default): saying a topic
    fails the job, naming why and the fix, so that GitHub's mail of a failed run tells the
    owner; healing, with nothing to heal, stays a warning."""
    issues.failing = 410
    assert "GHSA-1" in say(server, tmp_path, "--topic", "audit", "--text", "GHSA-1", code=1)
    out = capsys.readouterr().out
    assert out.startswith("::error title=release say::audit could not be said in the issue")
    assert re.search(r"HTTP 410 for GET .*: Issues are disabled for this repo", out)
    assert "Turn Issues on (Settings -> General -> Features -> Issues" in out
    say(server, tmp_path, "--topic", "audit", "--healed")
    assert capsys.readouterr().out.startswith("::warning title=release issue::audit could not")


@pytest.mark.parametrize("topic", ["Audit", "a b", "x_y", ""])
def test_a_topic_is_a_slug(topic, capsys):
    with pytest.raises(SystemExit):
        cli.main(["say", "--topic", topic, "--healed"], {})
    assert "is not a topic" in capsys.readouterr().err


def production(server, tmp_path, run: str, deploy: str = "", attest: str = "") -> str:
    asked = ("--service-url", server.url, "--deploy", deploy, "--attest", attest)
    return say(server, tmp_path, *asked, run=run, command="production")


def test_production_stale_is_said_with_the_runs_that_failed_whatever_the_cause_until_fresh(
    server, tmp_path, issues
):
    """Issue 93, the catch-all judged by outcome: production's /healthz says its data breaks
    STALE_AFTER_HOURS (or nothing answers); the run says it in the summary and the one issue,
    naming each release run that failed since its newest bar, its first failed job and its last
    words, and what to do; the first run to find it fresh heals it. A run's deploy failing is
    said at once, healed by one that succeeds."""
    stale = {
        "model_version": "0.1.5-20261201000000",
        "data_last": "2026-12-01T00:00:00Z",
        "stale_after_hours": 12.0,
        "stale": ["btc-usd"],
    }
    server.route("/healthz", 200, json.dumps(stale))
    rerun = "GitHub did not start the rebuild of v0.1.5, 4 tries: a transient failure; re-run"
    fork = Fork(issues=issues, host=issues.host)
    for number, said in ((1, [rerun]), (2, [])):
        jobs = [("version", "success", []), ("test", "failure", said)]
        fork.ran(number, "failure", jobs, event="schedule", created_at=f"2026-12-01T0{number}")
    server.handler = fork.handle
    summary = production(server, tmp_path, "7")
    [issue] = issues.open()
    text = sections(issue["body"])["production-stale"][0]
    assert f"### Needs you: production-stale\n\n{text}" in summary
    assert "older than its promise of 12.0 hours (STALE_AFTER_HOURS): btc-usd, newest bar " in text
    runs = "https://github.com/octo/cryptopredict/actions/runs"
    assert f"- {runs}/2 (schedule): test: nothing on the run's page: read the job's log\n" in text
    assert f"- {runs}/1 (schedule): test: {rerun}" in text
    assert "What to do: read each run's first failed job" in text
    since = "status=failure&per_page=10&created=%3E%3D2026-12-01T00%3A00%3A00Z"
    assert any(path.endswith(f"release.yml/runs?{since}") for _, path in server.requests)
    server.route("/healthz", 502, "Bad Gateway")
    production(server, tmp_path, "8", "failure")
    assert "does not answer (HTTP 502)" in sections(issue["body"])["production-stale"][0]
    failed = sections(issue["body"])["production-not-updated"][0]
    assert failed.startswith("This run's deploy failed (https://github.com/octo/cryptopredict/")
    assert "then run the release by hand on main (a re-run of this run's deploy would" in failed
    server.route("/healthz", 200, json.dumps({**stale, "stale": []}))
    assert "**Healed**: production-stale: healed" in production(server, tmp_path, "9", "success")
    assert issues.open() == []
    assert issues.comments[issue["number"]][-1] == (
        "Healed: production-stale, by https://github.com/octo/cryptopredict/actions/runs/9."
    )


def test_an_attestation_that_failed_its_three_tries_is_said_until_one_succeeds(
    server, tmp_path, issues
):
    """Issue 112: Sigstore failing past the attest job's three tries publishes nothing: said at
    once, in the job summary and the one issue, with what to do; healed by a run that attests."""
    server.route("/healthz", 200, json.dumps({"stale": []}))
    summary = production(server, tmp_path, "7", attest="failure")
    [issue] = issues.open()
    text = sections(issue["body"])["attestation"][0]
    assert f"### Needs you: attestation\n\n{text}" in summary
    runs = "https://github.com/octo/cryptopredict/actions/runs"
    assert text.startswith(f"This run's image could not be attested ({runs}/7): its attest job")
    assert "Nothing to do: the next scheduled run rebuilds and attests the newest" in text
    production(server, tmp_path, "8", attest="success")
    assert issues.open() == []


def test_a_sleeping_service_is_woken_and_asked_again_before_anything_is_said(
    server, tmp_path, issues, capsys
):
    """Issue 105: Render's free plan sleeps; its first asks meet no instance (HTTP 502) while
    it wakes, and are asked again after each retry's delay: awake, it answers fresh, and no
    issue opens."""
    for status, body in ((502, "Bad Gateway"), (502, "Bad Gateway"), (200, '{"stale": []}')):
        server.answer(status, body)
    production(server, tmp_path, "7")
    assert issues.issues == []
    assert "HTTP 502: Bad Gateway; trying again at " in capsys.readouterr().err


@pytest.mark.parametrize(
    "limit",
    [(403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "{reset}"}, 2), (429, {}, 3)],
    ids=["403 x-ratelimit-remaining 0", "429 retry-after"],
)
def test_a_rate_limit_is_waited_out_as_github_names_it_never_said_as_a_permission(
    server, tmp_path, issues, monkeypatch, limit
):
    """Issue 119, GitHub's rate limits ("Rate limits for the REST API"): a 403 whose
    x-ratelimit-remaining is 0, until x-ratelimit-reset (by GitHub's clock, its Date), and a 429
    with retry-after are tried again after the time they name, a POST too (GitHub did nothing):
    the topic is said, the job green, where a 403 without them is a permission and fails it
    (test_issues_off_fails_the_job..., test_retention's role Write)."""
    status, headers, waited = limit
    slept: list[float] = []
    monkeypatch.setattr(retry, "sleep", slept.append)
    calls: list[str] = []

    def github(method: str, path: str, body: bytes) -> tuple:
        calls.append(method)
        if len(calls) not in (1, 3):  # the listing and the opening, each refused once
            return issues.handle(method, path, body)
        shown = {k: v.format(reset=int(time.time()) + waited) for k, v in headers.items()}
        return status, LIMITED, shown or {"retry-after": str(waited)}

    server.handler = github
    say(server, tmp_path, "--topic", "audit", "--text", "GHSA-1")
    assert calls == ["GET", "GET", "POST", "POST"]
    assert [round(wait) for wait in slept] == [waited, waited]
    assert "GHSA-1" in issues.open()[0]["body"]


def test_without_render_a_package_never_pushed_is_no_release_yet_not_a_refused_token(
    server, tmp_path, issues
):
    """Issue 119: the production job reads GHCR as the version job does: `latest` refused where
    GitHub knows no such package is nothing published yet, said so, never a token lacking the
    package's access (the job failed on a fork's first run, with that advice)."""
    server.handler = Fork.set_up(issues=issues, host=issues.host, package=None).handle
    server.route("/v2/octo/cryptopredict/manifests/latest", 403, '{"errors": [{"code": "DENIED"}]}')
    environ = {"GITHUB_TOKEN": "ghs_job", "GITHUB_REPOSITORY": "octo/cryptopredict"}
    environ |= {"GITHUB_API_URL": server.url, "RELEASE_REGISTRY_URL": server.url}
    assert cli.main(["production"], {**environ, "GITHUB_ACTIONS": "true"}) == 0
    text = sections(issues.open()[0]["body"])["production-stale"][0]
    assert text.startswith("ghcr.io/octo/cryptopredict:latest names no release image: nothing is")
