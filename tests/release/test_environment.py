"""The deploy refuses a production environment that more than main and the release tags may
deploy to."""

from __future__ import annotations

import json

import pytest

from tools.release.environment import TAG_RULE, branch_policy_problem, check_environment
from tools.release.github import GitHub
from tools.release.render import DeployError

CUSTOM = {"deployment_branch_policy": {"protected_branches": False, "custom_branch_policies": True}}
MAIN = [{"id": 1, "name": "main", "type": "branch"}]
RELEASE = [*MAIN, {"id": 2, "name": TAG_RULE, "type": "tag"}]
TOKEN = "ghs_not-a-real-token"


def test_exactly_main_and_the_release_tags_pass():
    assert branch_policy_problem(CUSTOM, RELEASE, "main") is None
    older = [{"name": "main"}, {"name": TAG_RULE, "type": "tag"}]  # older answers name no type
    assert branch_policy_problem(CUSTOM, older, "main") is None


@pytest.mark.parametrize(
    ("environment", "policies", "problem"),
    [
        ({"deployment_branch_policy": None}, None, "every branch and tag"),
        ({}, None, "every branch and tag"),
        (
            {
                "deployment_branch_policy": {
                    "protected_branches": True,
                    "custom_branch_policies": False,
                }
            },
            None,
            "every protected branch",
        ),
        (CUSTOM, [], "admits nothing"),
        (CUSTOM, [*RELEASE, {"name": "release/*", "type": "branch"}], "branch release/*"),
        (CUSTOM, [*MAIN, {"name": "*", "type": "tag"}], "tag *"),
        (CUSTOM, [{"name": "*", "type": "branch"}, RELEASE[1]], "branch *"),
        # main alone: a scheduled rebuild, which runs on its tag, could not deploy.
        (CUSTOM, MAIN, f"admits branch main, not exactly branch main and tag {TAG_RULE}"),
        # Issue 42: every v* tag, `v-x` too, could read the hook.
        (CUSTOM, [*MAIN, {"name": "v*", "type": "tag"}], "tag v*, not exactly"),
    ],
)
def test_anything_but_main_and_the_release_tags_is_named(environment, policies, problem):
    found = branch_policy_problem(environment, policies, "main")
    assert found is not None
    assert problem in found


def answer_environment(server, policies=RELEASE, environment=CUSTOM):
    server.answer(200, json.dumps({"name": "production", **environment}))
    server.answer(200, json.dumps({"total_count": len(policies), "branch_policies": policies}))


def test_the_check_reads_the_environment_then_its_policies(server):
    answer_environment(server)
    check_environment(GitHub(server.url, "octo/cryptopredict", TOKEN), "main")
    assert [path for _, path in server.requests] == [
        "/repos/octo/cryptopredict/environments/production",
        "/repos/octo/cryptopredict/environments/production/deployment-branch-policies?per_page=100",
    ]


def test_an_open_environment_stops_the_deploy_saying_what_to_set(server):
    server.answer(200, json.dumps({"name": "production", "deployment_branch_policy": None}))
    with pytest.raises(DeployError, match=r"every branch and tag.*Selected branches and tags"):
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
