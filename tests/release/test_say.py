"""`python -m tools.release say`: one repository issue kept up to date (opened, updated, closed
when healed) and the job summary, against a stand-in of GitHub's issues API (issue 82)."""

from __future__ import annotations

import pytest

from tests.release.github_issues import Issues
from tools.release import cli
from tools.release.say import LABEL, sections


@pytest.fixture
def issues(server, tmp_path, monkeypatch) -> Issues:
    monkeypatch.setenv("RELEASE_RETRY_DELAYS", "0 0")
    kept = Issues()
    server.handler = kept.handle
    return kept


def say(server, tmp_path, *args: str, run: str = "7") -> str:
    environ = {
        "GITHUB_TOKEN": "ghs_job",
        "GITHUB_REPOSITORY": "octo/cryptopredict",
        "GITHUB_API_URL": server.url,
        "GITHUB_RUN_ID": run,
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
    }
    assert cli.main(["say", *args], environ) == 0
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
    assert sections(issue["body"])["audit"][0] == advisory
    # The next runs say the same: the same issue, no comment (no mail to the owner each run).
    for run in ("8", "9"):
        say(server, tmp_path, "--topic", "audit", "--text", advisory, run=run)
    assert len(issues.issues) == 1
    assert issues.comments == {}
    assert sections(issue["body"])["audit"][1].endswith("/actions/runs/9"), "the last run's"
    # A second topic, and a change of the first: one comment each, still one issue.
    say(server, tmp_path, "--topic", "stranded-push", "--text", "main's head failed twice")
    say(server, tmp_path, "--topic", "audit", "--text", advisory + " and GHSA-2")
    assert len(issues.issues) == 1
    assert [comment.split("\n")[0] for comment in issues.comments[1]] == [
        "**stranded-push** (https://github.com/octo/cryptopredict/actions/runs/7):",
        "**audit** (https://github.com/octo/cryptopredict/actions/runs/7):",
    ]
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


def test_an_empty_text_file_says_the_topic_healed(server, tmp_path, issues):
    say(server, tmp_path, "--topic", "audit", "--text", "GHSA-1")
    (tmp_path / "audit.md").write_text("")
    say(server, tmp_path, "--topic", "audit", "--text-file", str(tmp_path / "audit.md"))
    assert issues.open() == []


@pytest.mark.parametrize("topic", ["Audit", "a b", "x_y", ""])
def test_a_topic_is_a_slug(topic, capsys):
    with pytest.raises(SystemExit):
        cli.main(["say", "--topic", topic, "--healed"], {})
    assert "is not a topic" in capsys.readouterr().err
