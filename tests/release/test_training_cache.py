"""The training cache a release starts from, and keeps (issue 50): the newest a release run (on
main or a release tag) kept, whichever of the two; once a run's own is kept, the others are
deleted. Against a loopback server answering as GitHub's REST API does ("List artifacts for a
repository", "Delete an artifact")."""

from __future__ import annotations

import json

import pytest

from tools.release.cli import main
from tools.release.training_cache import newest, prune

TOKEN = "ghs_secret-token"
REPOSITORY = "octo/cryptopredict"
LISTED = f"/repos/{REPOSITORY}/actions/artifacts?name=training-cache&per_page=100"


def artifact(number: int, branch: str, created: str, *, expired: bool = False) -> dict:
    return {
        "id": 900 + number,
        "name": "training-cache",
        "size_in_bytes": 612_000_000,
        "expired": expired,
        "created_at": created,
        "workflow_run": {"id": 100 + number, "head_branch": branch, "head_sha": "c0ffee" * 7},
    }


# A push on main, the rebuilds of its tag, a trial run on a branch, an expired rebuild.
PUSH = artifact(1, "main", "2026-11-20T06:40:00Z")
REBUILD = artifact(2, "v0.4.1", "2026-11-20T12:41:00Z")
LATER_REBUILD = artifact(3, "v0.4.1", "2026-11-28T18:39:00Z")
TRIAL = artifact(4, "try-a-pair", "2026-11-29T09:00:00Z")
EXPIRED = artifact(5, "main", "2026-11-30T00:00:00Z", expired=True)


def listing(server, *artifacts: dict) -> None:
    body = {"total_count": len(artifacts), "artifacts": list(artifacts)}
    server.route(LISTED, 200, json.dumps(body))


@pytest.mark.parametrize(
    ("kept", "starts_from"),
    [
        ([PUSH], PUSH),  # push after push
        ([PUSH, REBUILD], REBUILD),  # a rebuild after the push, and a push after rebuilds
        ([REBUILD, LATER_REBUILD, PUSH], LATER_REBUILD),  # eight days of rebuilds, any order
        ([PUSH, TRIAL, EXPIRED], PUSH),  # never a branch's trial run's, never an expired one
        ([TRIAL], None),  # no release run kept one: cold
    ],
)
def test_every_release_starts_from_the_newest_cache_a_release_run_kept(server, kept, starts_from):
    listing(server, *kept)
    assert newest(server.url, REPOSITORY, TOKEN) == starts_from
    assert server.requests == [("GET", LISTED)]


def test_once_its_own_is_kept_a_run_deletes_every_other(server):
    listing(server, PUSH, LATER_REBUILD, TRIAL)
    server.answer(204, "")
    gone = prune(server.url, REPOSITORY, TOKEN, LATER_REBUILD["workflow_run"]["id"])
    assert gone == [TRIAL, PUSH]
    deleted = [path for method, path in server.requests if method == "DELETE"]
    assert deleted == [
        f"/repos/{REPOSITORY}/actions/artifacts/{TRIAL['id']}",
        f"/repos/{REPOSITORY}/actions/artifacts/{PUSH['id']}",
    ]


def test_a_run_that_kept_none_deletes_nothing(server):
    """Its upload failed, or it kept none: the last cache stays for the next release."""
    listing(server, PUSH, REBUILD)
    assert prune(server.url, REPOSITORY, TOKEN, PUSH["workflow_run"]["id"]) == []
    assert prune(server.url, REPOSITORY, TOKEN, 999) == []
    assert [method for method, _ in server.requests] == ["GET", "GET"]


def test_the_command_prints_a_step_output_and_never_the_token(server, capsys):
    listing(server, PUSH, REBUILD)
    environ = {"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": REPOSITORY, "GITHUB_API_URL": server.url}
    assert main(["training-cache", "newest"], environ=environ) == 0
    said = capsys.readouterr()
    assert said.out == f"run-id={REBUILD['workflow_run']['id']}\n"
    assert "starting from the training cache of run 102 on v0.4.1" in said.err
    assert TOKEN not in said.out + said.err
    listing(server, TRIAL)
    assert main(["training-cache", "newest"], environ=environ) == 0
    said = capsys.readouterr()
    assert said.out == "run-id=\n"
    assert "this one trains cold" in said.err


def test_a_forbidden_answer_names_the_permission(server, capsys):
    environ = {"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": REPOSITORY, "GITHUB_API_URL": server.url}
    server.route(LISTED, 403, '{"message": "Resource not accessible by integration"}')
    assert main(["training-cache", "newest"], environ=environ) == 1
    assert "actions: read" in capsys.readouterr().err
    listing(server, PUSH, REBUILD)
    server.answer(403, '{"message": "Resource not accessible by integration"}')  # the DELETE
    run_id = str(REBUILD["workflow_run"]["id"])
    assert main(["training-cache", "prune", "--run-id", run_id], environ=environ) == 1
    assert "actions: write" in capsys.readouterr().err
    assert main(["training-cache", "prune"], environ=environ) == 1
    assert "needs --run-id" in capsys.readouterr().err
