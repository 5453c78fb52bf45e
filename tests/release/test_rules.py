"""The deploy refuses a repository whose rulesets let anyone make, move or delete a release tag
(issue 42, bar 2), read through GitHub's REST API as the deploy job reads it."""

from __future__ import annotations

import json

import pytest

from tests.release.github_answers import RULESET
from tools.release.render import DeployError
from tools.release.rules import check_tag_rules, covers_release_tags, missing_tag_rules

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


def test_the_check_reads_the_list_then_each_ruleset(server):
    server.answer(200, json.dumps([{"id": 7, "target": "tag"}]))
    server.answer(200, json.dumps(ruleset()))
    said = check_tag_rules(server.url, "octo/cryptopredict", TOKEN)
    assert "release tags" in said
    assert [path for _, path in server.requests] == [
        "/repos/octo/cryptopredict/rulesets?includes_parents=true&targets=tag&per_page=100",
        "/repos/octo/cryptopredict/rulesets/7",
    ]


def test_no_ruleset_stops_the_deploy_saying_what_to_set(server):
    server.answer(200, "[]")
    with pytest.raises(DeployError, match=r"Restrict creations.*set-up step 6"):
        check_tag_rules(server.url, "octo/cryptopredict", TOKEN)


def test_an_unreadable_answer_stops_the_deploy_and_never_shows_the_token(server):
    server.answer(403, '{"message": "Resource not accessible by integration"}')
    with pytest.raises(DeployError, match="metadata: read") as caught:
        check_tag_rules(server.url, "octo/cryptopredict", TOKEN)
    assert TOKEN not in str(caught.value)
    server.answers.clear()
    server.answer(200, '{"not": "a list"}')
    with pytest.raises(DeployError, match="not a JSON array"):
        check_tag_rules(server.url, "octo/cryptopredict", TOKEN)
