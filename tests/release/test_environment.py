"""The deploy refuses a production environment that more than main and the release tags may
deploy to."""

from __future__ import annotations

import json

import pytest

from tools.release.github import GitHub
from tools.release.render import DeployError
from tools.release.rules import TAG_RULE, check_environment

CUSTOM = {"deployment_branch_policy": {"protected_branches": False, "custom_branch_policies": True}}
MAIN = [{"id": 1, "name": "main", "type": "branch"}]
RELEASE = [*MAIN, {"id": 2, "name": TAG_RULE, "type": "tag"}]
TOKEN = "ghs_not-a-real-token"


def answer_environment(server, policies=RELEASE, environment=CUSTOM):
    server.answer(200, json.dumps({"name": "production", **environment}))
    server.answer(200, json.dumps({"total_count": len(policies), "branch_policies": policies}))


def check(server) -> None:
    check_environment(GitHub(server.url, "octo/cryptopredict", TOKEN), "main")


# Older answers name no type.
@pytest.mark.parametrize(
    "policies", [RELEASE, [{"name": "main"}, {"name": TAG_RULE, "type": "tag"}]]
)
def test_exactly_main_and_the_release_tags_pass(server, policies):
    answer_environment(server, policies)
    check(server)


SELECTED = "correct the production environment: deployment branches and tags 'Selected'"


@pytest.mark.parametrize(
    ("environment", "policies", "problem"),
    [
        ({"deployment_branch_policy": None}, [], SELECTED),
        ({}, [], SELECTED),
        (
            {
                "deployment_branch_policy": {
                    "protected_branches": True,
                    "custom_branch_policies": False,
                }
            },
            [],
            SELECTED,
        ),
        (CUSTOM, [], "let the branch 'main' deploy to production; let the tag"),
        (
            CUSTOM,
            [*RELEASE, {"name": "release/*", "type": "branch"}],
            "stop the branch 'release/*'",
        ),
        (CUSTOM, [*MAIN, {"name": "*", "type": "tag"}], "stop the tag '*' deploying"),
        (CUSTOM, [{"name": "*", "type": "branch"}, RELEASE[1]], "stop the branch '*' deploying"),
        # main alone: a scheduled rebuild, which runs on its tag, could not deploy.
        (CUSTOM, MAIN, f"let the tag {TAG_RULE!r} deploy to production"),
        # Issue 42: every v* tag, `v-x` too, could read the hook.
        (CUSTOM, [*MAIN, {"name": "v*", "type": "tag"}], "stop the tag 'v*' deploying"),
    ],
)
def test_anything_but_main_and_the_release_tags_is_named(server, environment, policies, problem):
    answer_environment(server, policies, environment)
    with pytest.raises(DeployError) as caught:
        check(server)
    assert problem in str(caught.value)
    assert "Selected branches and tags" in str(caught.value)


def test_the_check_reads_the_environment_then_its_policies(server):
    answer_environment(server)
    check_environment(GitHub(server.url, "octo/cryptopredict", TOKEN), "main")
    assert [path for _, path in server.requests] == [
        "/repos/octo/cryptopredict/environments/production",
        "/repos/octo/cryptopredict/environments/production/deployment-branch-policies?per_page=100",
    ]


def test_an_open_environment_stops_the_deploy_saying_what_to_set(server):
    server.answer(200, json.dumps({"name": "production", "deployment_branch_policy": None}))
    with pytest.raises(DeployError, match=r"correct the production environment.*Selected branch"):
        check_environment(GitHub(server.url, "octo/cryptopredict", TOKEN), "main")
    assert len(server.requests) == 1


def test_a_forbidden_answer_names_the_permission_and_never_the_token(server):
    server.answer(403, '{"message": "Resource not accessible by integration"}')
    with pytest.raises(DeployError, match="actions: read") as caught:
        check_environment(GitHub(server.url, "octo/cryptopredict", TOKEN), "main")
    assert TOKEN not in str(caught.value)


def test_the_tag_rule_admits_the_tags_the_release_creates_and_no_other():
    # GitHub matches it with Ruby's File.fnmatch; Python's fnmatch reads this pattern the same.
    import fnmatch

    for tag in ("v0.1.0", "v1.2.3", "v10.20.30"):
        assert fnmatch.fnmatchcase(tag, TAG_RULE), tag
    for tag in ("v-x", "vx.y.z", "v1.2", "nightly", "v.1.2"):
        assert not fnmatch.fnmatchcase(tag, TAG_RULE), tag


def test_the_client_never_shows_its_token():
    client = GitHub("https://api.github.test", "owner/repo", "ghp_secret")
    assert "ghp_secret" not in f"{client!r} {client}"
