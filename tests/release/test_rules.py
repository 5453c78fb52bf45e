"""The repository's rules, read through GitHub's REST API (the fork as setup leaves it,
tests/release/github_fork.py) and judged against their committed files: the deploy refuses a
production environment that more than the release tags may enter, and a release-tags environment
more than main may (the tag job too); a repository whose rulesets let anyone make, move or
delete a release tag (issue 42, bar 2); `python -m tools.release rules` names the bypass actor the
release's own tags need (issue 51, bar 1). A repository set up as documented passing: setup's
dry run (test_setup's bare forks, a personal and an organisation's) and every deploying run of
test_workflow_runs (a job's token), the same reading; the tag ruleset unlike its file, or
missing, and the deploy key or its secret missing: test_setup's missing steps (and
test_workflow_runs' run that will deploy without the rules)."""

from __future__ import annotations

import pytest

from tests.release.github_fork import Fork
from tools.release.cli import main
from tools.release.rules import TAG_RULE, TAG_RULESET, drift, restricting_creation

TOKEN = "ghs_not-a-real-token"


def ruleset(**changes) -> dict:
    """The committed tag ruleset as GitHub answers a job's token: no bypass list."""
    shown = {k: v for k, v in TAG_RULESET.items() if k != "bypass_actors"}
    return {**shown, "id": 7, "source_type": "Repository", **changes}


@pytest.mark.parametrize(
    ("changes", "differs"),
    [
        ({}, []),
        ({"rules": [{"type": "deletion"}, {"type": "update"}, {"type": "creation"}]}, []),
        ({"enforcement": "evaluate"}, ["enforcement"]),
        ({"target": "branch"}, ["target"]),
        ({"conditions": {"ref_name": {"include": ["refs/tags/release-*"]}}}, ["conditions"]),
        ({"rules": [{"type": "update"}, {"type": "deletion"}]}, ["rules"]),
        ({"bypass_actors": []}, ["bypass_actors"]),
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


def rules(server, capsys, fork: Fork | None, *, token: str = TOKEN) -> tuple[int, str]:
    """`python -m tools.release rules` against `fork` (a maintainer's token, unless the fork is
    asked with a job's): its exit status, and what it said."""
    if fork is not None:
        fork.host, server.handler = server.url.removeprefix("http://"), fork.handle
    environ = {"GITHUB_TOKEN": token, "GITHUB_API_URL": server.url}
    code = main(["rules", "--repository", "octo/cryptopredict"], environ=environ)
    said = capsys.readouterr()
    return code, said.out + said.err


def test_a_job_token_checks_what_it_sees_and_says_what_it_does_not(server, capsys):
    code, out = rules(server, capsys, Fork.set_up(job_token=True))
    assert code == 0, out
    assert "the bypass list of 'release tags' is not shown to this token" in out
    assert "deploy keys and the release-tags environment's secrets are not shown" in out
    asked = [path for _, path in server.requests]
    assert "/repos/octo/cryptopredict/rulesets?includes_parents=true&targets=tag&per_page=100" in (
        asked
    ), "the owner's rulesets too"


SELECTED = "correct the production environment: deployment branches and tags 'Selected'"
CUSTOM = {"deployment_branch_policy": {"protected_branches": False, "custom_branch_policies": True}}
RELEASE = (TAG_RULE, "tag")


@pytest.mark.parametrize(
    ("settings", "policies", "problem"),
    [
        ({"deployment_branch_policy": None}, (), SELECTED),
        ({"name": "production"}, (), SELECTED),
        ({"deployment_branch_policy": {"protected_branches": True}}, (), SELECTED),
        (CUSTOM, (("v*", "branch"),), f"let the tag {TAG_RULE!r} deploy to production"),
        (CUSTOM, (RELEASE, ("release/*", "branch")), "stop the branch 'release/*' deploying"),
        (CUSTOM, (RELEASE, ("*", "tag")), "stop the tag '*' deploying"),
        # Issue 103: main no longer deploys; every release runs on its tag.
        (CUSTOM, (("main", "branch"), RELEASE), "stop the branch 'main' deploying to production"),
        # Issue 42: every v* tag, `v-x` too, could read the hook.
        (CUSTOM, (("v*", "tag"),), "stop the tag 'v*' deploying"),
    ],
)
def test_anything_but_the_release_tags_entering_production_is_named(
    server, capsys, settings, policies, problem
):
    fork = Fork.set_up()  # its production environment's settings and policies replaced
    held = fork.environments["production"]
    listed = [{"id": 90 + n, "name": name, "type": kind} for n, (name, kind) in enumerate(policies)]
    held["settings"], held["policies"] = settings, listed or held["policies"]
    code, err = rules(server, capsys, fork)
    assert code == 1
    assert problem in err
    assert "`python -m tools.release setup` makes them" in err


DEPLOY_KEYS = {"actor_id": None, "actor_type": "DeployKey", "bypass_mode": "always"}


@pytest.mark.parametrize(
    ("actors", "rules_of_it", "refused"),
    [
        ([], ["creation"], True),
        ([{"actor_id": 5, "actor_type": "RepositoryRole"}], ["creation"], True),
        ([{**DEPLOY_KEYS, "bypass_mode": "pull_request"}], ["creation"], True),  # nobody creates
        ([DEPLOY_KEYS], ["creation"], False),
        ([], ["update", "deletion"], False),  # no restriction on creating: no bypass needed
    ],
)
def test_another_tag_ruleset_without_the_deploy_key_bypass_is_named(
    server, capsys, actors, rules_of_it, refused
):
    """Issue 51, bar 1: a ruleset the owner made restricting the release tags' creation, read
    with the maintainer's token."""
    fork = Fork.set_up()
    theirs = {**ruleset(id=61, name="protect v tags"), "bypass_actors": actors}
    fork.rulesets.append({**theirs, "rules": [{"type": rule} for rule in rules_of_it]})
    code, err = rules(server, capsys, fork)
    assert code == refused
    assert (
        "the tag ruleset 'protect v tags', which setup did not make, restricts creating release "
        "tags and lets none of 'Deploy keys' bypass it, so GitHub refuses the release's tags: in "
        "Settings -> Rules -> Rulesets -> 'protect v tags' -> Bypass list, add 'Deploy keys'"
    ) in err or not refused
    assert "(docs/release.md, 'Set it up on a fork')" in err or not refused


def test_a_forbidden_answer_names_the_permission_and_never_the_token(server, capsys):
    server.answer(403, '{"message": "Resource not accessible by integration"}')
    code, err = rules(server, capsys, None)
    assert code == 1
    assert "the job needs the 'actions: read' permission" in err
    assert "Resource not accessible by integration" in err, "GitHub's own words"
    assert TOKEN not in err


def test_the_rules_check_needs_the_token(server, capsys):
    code, err = rules(server, capsys, None, token="")
    assert code == 1
    assert "needs GITHUB_TOKEN" in err
    assert server.requests == []
