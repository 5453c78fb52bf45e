"""The repository's rules for release tags, read through GitHub's REST API: the deploy refuses
a repository whose rulesets let anyone make, move or delete a release tag (issue 42, bar 2), and
`python -m tools.release rules` names the bypass actor the release's own tags need, its deploy
key and its secret when one is missing (issue 51, bar 1; issue 103: the deploy key on every
repository, an organisation's too)."""

from __future__ import annotations

import pytest

from tests.release.github_answers import (
    BASE,
    BRANCH_RULESET,
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
from tools.release.rules import (
    bypass_of,
    check_tag_rules,
    covers_release_tags,
    missing_branch_rules,
    missing_tag_rules,
)

TOKEN = "ghs_not-a-real-token"


def ruleset(**changes) -> dict:
    return {**RULESET, **changes}


def test_an_active_tag_ruleset_with_the_three_rules_is_enough():
    assert missing_tag_rules([ruleset()]) == set()
    everything = ruleset(conditions={"ref_name": {"include": ["~ALL"], "exclude": []}})
    assert missing_tag_rules([everything]) == set()
    # The rules may come from two rulesets that both cover the release tags.
    split = [
        ruleset(rules=[{"type": "creation"}]),
        ruleset(id=8, rules=[{"type": "update"}, {"type": "deletion"}]),
    ]
    assert missing_tag_rules(split) == set()


@pytest.mark.parametrize(
    ("include", "exclude", "missing"),
    [
        (["refs/heads/main"], [], set()),
        (["~DEFAULT_BRANCH"], [], set()),
        (["~ALL"], ["refs/heads/release-*"], set()),
        (["refs/heads/m*"], [], set()),
        (["~ALL"], ["~DEFAULT_BRANCH"], {"deletion", "non_fast_forward"}),
        (["refs/heads/dev"], [], {"deletion", "non_fast_forward"}),
    ],
)
def test_a_branch_ruleset_keeps_main_where_its_patterns_name_it(include, exclude, missing):
    names = {"ref_name": {"include": include, "exclude": exclude}}
    assert missing_branch_rules([{**BRANCH_RULESET, "conditions": names}]) == missing
    assert missing_branch_rules([{**BRANCH_RULESET, "enforcement": "evaluate"}]) == {
        "deletion",
        "non_fast_forward",
    }
    assert missing_branch_rules([{**BRANCH_RULESET, "target": "tag"}]) != set()


@pytest.mark.parametrize(
    ("changes", "missing"),
    [
        ({"enforcement": "evaluate"}, {"creation", "update", "deletion"}),
        ({"enforcement": "disabled"}, {"creation", "update", "deletion"}),
        ({"target": "branch"}, {"creation", "update", "deletion"}),
        (
            {"conditions": {"ref_name": {"include": ["refs/tags/release-*"]}}},
            {"creation", "update", "deletion"},
        ),
        (
            {"conditions": {"ref_name": {"include": ["~ALL"], "exclude": ["refs/tags/v1*"]}}},
            {"creation", "update", "deletion"},
        ),
        ({"rules": [{"type": "update"}, {"type": "deletion"}]}, {"creation"}),
        ({"rules": []}, {"creation", "update", "deletion"}),
    ],
)
def test_a_ruleset_that_leaves_release_tags_open_is_named(changes, missing):
    assert missing_tag_rules([ruleset(**changes)]) == missing
    assert missing_tag_rules([]) == {"creation", "update", "deletion"}


def test_covering_means_every_release_tag():
    assert (
        covers_release_tags(ruleset(conditions={"ref_name": {"include": ["refs/tags/v0*"]}}))
        is False
    )


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


def test_the_check_reads_the_repository_its_rulesets_then_each_one(server):
    answer_rulesets(server, [RULESET])
    said = check_tag_rules(GitHub(server.url, "octo/cryptopredict", TOKEN))
    assert "only the release creates, moves or deletes them ('release tags')" in said[0]
    assert [path for _, path in server.requests] == [
        f"{BASE}/rulesets?includes_parents=true&targets=tag&per_page=100",
        f"{BASE}/rulesets/7",
        f"{BASE}/keys?per_page=100",  # the deploy key: hidden here
    ]


def test_no_ruleset_stops_the_deploy_saying_what_to_set(server):
    answer_rulesets(server, [])
    with pytest.raises(
        DeployError, match=r"Restrict creations.*'Deploy keys'.*'Set it up on a fork'"
    ):
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
