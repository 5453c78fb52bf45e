"""keepalive re-enables the release workflow only where the schedule, not a maintainer, turned it
off (issue 24, item 5): against a loopback server answering as GitHub's REST API does."""

from __future__ import annotations

import json

import pytest

from tools.release.cli import main
from tools.release.github import GitHub
from tools.release.keepalive import keep_alive

TOKEN = "ghs_secret-token"
WORKFLOW_URL = "/repos/octo/cryptopredict/actions/workflows/release.yml"


def workflow(state: str) -> str:
    return json.dumps(
        {"id": 7, "name": "release", "path": ".github/workflows/release.yml", "state": state}
    )


@pytest.mark.parametrize("state", ["active", "disabled_inactivity"])
def test_an_active_or_inactive_workflow_is_enabled(server, state):
    server.answer(200, workflow(state))
    server.answer(204, "")
    said = keep_alive(GitHub(server.url, "octo/cryptopredict", TOKEN), "release.yml")
    assert server.requests == [("GET", WORKFLOW_URL), ("PUT", f"{WORKFLOW_URL}/enable")]
    assert f"was {state}: enabled" in said


@pytest.mark.parametrize("state", ["disabled_manually", "disabled_fork", "deleted"])
def test_a_workflow_someone_disabled_is_left_alone(server, state):
    server.answer(200, workflow(state))
    said = keep_alive(GitHub(server.url, "octo/cryptopredict", TOKEN), "release.yml")
    assert server.requests == [("GET", WORKFLOW_URL)], "no PUT: it stays disabled"
    assert f"is {state}: left as it is" in said
    assert "gh workflow enable release.yml" in said


def test_the_command_reads_githubs_variables_and_never_prints_the_token(server, capsys):
    server.answer(200, workflow("disabled_manually"))
    environ = {
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": "octo/cryptopredict",
        "GITHUB_API_URL": server.url,
    }
    assert main(["keepalive", "--workflow", "release.yml"], environ=environ) == 0
    out = capsys.readouterr().out
    assert "disabled_manually: left as it is" in out
    assert TOKEN not in out


def test_a_forbidden_answer_names_the_permission(server, capsys):
    server.answer(403, '{"message": "Resource not accessible by integration"}')
    environ = {"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": "o/r", "GITHUB_API_URL": server.url}
    assert main(["keepalive", "--workflow", "release.yml"], environ=environ) == 1
    err = capsys.readouterr().err
    assert "actions: write" in err
    assert TOKEN not in err
