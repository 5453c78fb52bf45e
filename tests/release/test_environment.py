"""The deploy refuses a production environment that more than the release tags may enter (and
the tag job a release-tags environment more than main may)."""

from __future__ import annotations

import json

import pytest

from tools.release.github import GitHub
from tools.release.render import DeployError
from tools.release.rules import TAG_RULE, check_environment

CUSTOM = {"deployment_branch_policy": {"protected_branches": False, "custom_branch_policies": True}}
MAIN = [{"id": 1, "name": "main", "type": "branch"}]
RELEASE = [{"id": 2, "name": TAG_RULE, "type": "tag"}]
TOKEN = "ghs_not-a-real-token"


def answer_environment(server, policies=RELEASE, environment=CUSTOM):
    server.answer(200, json.dumps({"name": "production", **environment}))
    server.answer(200, json.dumps({"total_count": len(policies), "branch_policies": policies}))


def check(server, environment: str = "production") -> str:
    github = GitHub(server.url, "octo/cryptopredict", TOKEN, environment=environment)
    return check_environment(github)


def test_exactly_the_release_tags_pass_production(server):
    answer_environment(server, RELEASE)
    assert check(server) == f"environment production: only the tag {TAG_RULE!r} may enter"


@pytest.mark.parametrize("policies", [MAIN, [{"name": "main"}]])  # older answers name no type
def test_main_alone_passes_the_tag_keys_environment_and_not_production(server, policies):
    server.route("/repos/octo/cryptopredict/environments/release-tags", 200, json.dumps(CUSTOM))
    listed = json.dumps({"branch_policies": policies})
    server.route(
        "/repos/octo/cryptopredict/environments/release-tags/deployment-branch-policies",
        200,
        listed,
    )
    said = check(server, "release-tags")
    assert said == "environment release-tags: only the branch 'main' may enter"
    answer_environment(server, policies)
    with pytest.raises(DeployError, match="stop the branch 'main' deploying to production"):
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
        (CUSTOM, [], f"let the tag {TAG_RULE!r} deploy to production"),
        (CUSTOM, [*RELEASE, {"name": "release/*", "type": "branch"}], "stop the branch 'rel"),
        (CUSTOM, [*RELEASE, {"name": "*", "type": "tag"}], "stop the tag '*' deploying"),
        # Issue 103: main no longer deploys; every release runs on its tag.
        (CUSTOM, [*MAIN, *RELEASE], "stop the branch 'main' deploying to production"),
        # Issue 42: every v* tag, `v-x` too, could read the hook.
        (CUSTOM, [{"name": "v*", "type": "tag"}], "stop the tag 'v*' deploying"),
    ],
)
def test_anything_but_the_release_tags_is_named(server, environment, policies, problem):
    answer_environment(server, policies, environment)
    with pytest.raises(DeployError) as caught:
        check(server)
    assert problem in str(caught.value)
    assert "Selected branches and tags" in str(caught.value)


def test_a_forbidden_answer_names_the_permission_and_never_the_token(server):
    server.answer(403, '{"message": "Resource not accessible by integration"}')
    with pytest.raises(DeployError, match="actions: read") as caught:
        check(server)
    assert TOKEN not in str(caught.value)
