"""The repository's rules for release tags, read through GitHub's REST API: the deploy refuses
a repository whose rulesets let anyone make, move or delete a release tag (issue 42, bar 2), and
`python -m tools.release rules` names the bypass actor the release's own tags need, its deploy
key and its secret when one is missing (issue 51, bar 1; issue 103: the deploy key on every
repository, an organisation's too)."""

from __future__ import annotations

import pytest

from tests.release.github_answers import (
    DEPLOY_KEYS,
    RULESET,
    RULESET_AS_ADMIN,
    TAG_KEY_SECRET,
    WRITE_KEY,
    answer_environment,
    answer_rulesets,
)
from tools.release.cli import main
from tools.release.github import GitHub
from tools.release.render import DeployError
from tools.release.rules import TAG_RULESET, bypass_of, check_tag_rules, drift, restricting_creation

TOKEN = "ghs_not-a-real-token"


def ruleset(**changes) -> dict:
    return {**RULESET, **changes}


@pytest.mark.parametrize(
    ("changes", "differs"),
    [
        ({}, []),
        ({"rules": [{"type": "deletion"}, {"type": "update"}, {"type": "creation"}]}, []),
        ({"enforcement": "evaluate"}, ["enforcement"]),
        ({"target": "branch"}, ["target"]),
        ({"conditions": {"ref_name": {"include": ["refs/tags/release-*"]}}}, ["refs"]),
        ({"rules": [{"type": "update"}, {"type": "deletion"}]}, ["rules"]),
        ({"bypass_actors": []}, ["bypass"]),
    ],
)
def test_a_ruleset_is_judged_against_its_committed_file(changes, differs):
    """.github/settings/rulesets/release-tags.json, as GitHub answers a job's token (no bypass
    list: not judged) and its administrator's."""
    assert drift(ruleset(**changes), TAG_RULESET) == differs
    assert drift(None, TAG_RULESET) == ["missing"]


@pytest.mark.parametrize(
    ("include", "exclude", "restricts"),
    [
        (["refs/tags/v*"], [], True),
        (["~ALL"], [], True),
        (["refs/tags/v0*"], [], False),  # not every release tag
        (["~ALL"], ["refs/tags/v1*"], False),
        (["refs/heads/main"], [], False),
    ],
)
def test_a_tag_ruleset_restricts_creation_where_it_covers_every_release_tag(
    include, exclude, restricts
):
    names = {"ref_name": {"include": include, "exclude": exclude}}
    assert restricting_creation(ruleset(conditions=names)) is restricts
    assert restricting_creation(ruleset(enforcement="evaluate")) is False


def test_a_bypass_list_counts_only_for_the_rulesets_that_restrict_creation():
    closed = ruleset(bypass_actors=[])
    assert bypass_of([closed]).closed == ["'release tags'"]
    assert bypass_of([ruleset(bypass_actors=[DEPLOY_KEYS])]).closed == []
    # A ruleset that does not restrict creation needs no bypass for the release to tag.
    updates_only = ruleset(bypass_actors=[], rules=[{"type": "update"}, {"type": "deletion"}])
    assert bypass_of([updates_only]).closed == []
    # Left out of the answer: unknown, never read as "nobody may bypass".
    assert bypass_of([ruleset()]).hidden == ["'release tags'"]
    # Bypass on pull requests only lets nobody create a tag.
    only_prs = ruleset(bypass_actors=[{**DEPLOY_KEYS, "bypass_mode": "pull_request"}])
    assert bypass_of([only_prs]).closed == ["'release tags'"]


def rules(server, *args: str) -> int:
    """`python -m tools.release rules` as the maintainer runs it, with their own token."""
    answer_environment(server)
    environ = {"GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": server.url}
    return main(["rules", "--repository", "octo/cryptopredict", *args], environ=environ)


def test_a_personal_repository_set_up_as_documented_passes(capsys, server):
    answer_rulesets(server, [RULESET_AS_ADMIN], keys=[WRITE_KEY], secrets=[TAG_KEY_SECRET])
    assert rules(server) == 0
    out = capsys.readouterr().out
    assert "only the release creates, moves or deletes them ('release tags')" in out
    assert "'Deploy keys' may create the release tags" in out


@pytest.mark.parametrize(
    "actors",
    [
        [],
        [{"actor_id": 5, "actor_type": "RepositoryRole"}],
        [{**DEPLOY_KEYS, "bypass_mode": "pull_request"}],
    ],
)
def test_a_ruleset_without_the_deploy_key_bypass_fails_naming_it(capsys, server, actors):
    # Issue 51, bar 1: a personal account's repository, read with the maintainer's token.
    admin_view = {**RULESET_AS_ADMIN, "bypass_actors": actors}
    answer_rulesets(server, [admin_view], keys=[WRITE_KEY], secrets=[TAG_KEY_SECRET])
    assert rules(server) == 1
    err = capsys.readouterr().err
    assert "the tag ruleset 'release tags' restricts creating release tags" in err
    assert (
        "Settings -> Rules -> Rulesets -> 'release tags' -> Bypass list, add 'Deploy keys'" in err
    )
    assert "(docs/release.md, 'Set it up on a fork')" in err


def test_the_deploy_key_and_its_secret_are_named_when_missing(capsys, server):
    read_only = {**WRITE_KEY, "read_only": True}
    answer_rulesets(server, [RULESET_AS_ADMIN], keys=[read_only], secrets=[])
    assert rules(server) == 1
    err = capsys.readouterr().err
    assert "no deploy key with write access" in err
    assert "'Allow write access'" in err
    assert "the release-tags environment has no secret RELEASE_TAG_KEY" in err


def test_a_job_token_checks_what_it_sees_and_says_what_it_does_not(capsys, server):
    answer_rulesets(server, [RULESET])  # no bypass list, deploy keys and secrets: 403
    assert rules(server) == 0
    out = capsys.readouterr().out
    assert "the bypass list of 'release tags' is not shown to this token" in out
    assert "deploy keys and the release-tags environment's secrets are not shown" in out


def test_no_ruleset_stops_the_deploy_saying_what_to_set(server):
    answer_rulesets(server, [])
    with pytest.raises(DeployError, match=r"'release tags' is not as .*missing.*'Set it up on a"):
        check_tag_rules(GitHub(server.url, "octo/cryptopredict", TOKEN))


def test_an_unreadable_answer_stops_the_deploy_and_never_shows_the_token(server):
    server.answer(403, '{"message": "Resource not accessible by integration"}')
    with pytest.raises(DeployError, match="metadata: read") as caught:
        check_tag_rules(GitHub(server.url, "octo/cryptopredict", TOKEN))
    assert TOKEN not in str(caught.value)
    assert "Resource not accessible by integration" in str(caught.value), "GitHub's own words"
    server.answers.clear()
    server.answer(200, '{"not": "a list"}')
    with pytest.raises(DeployError, match="not a JSON array"):
        check_tag_rules(GitHub(server.url, "octo/cryptopredict", TOKEN))
