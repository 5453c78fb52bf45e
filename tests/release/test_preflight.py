"""`python -m tools.release preflight` against GitHub's REST answers (the project's recorded
shapes, tests/release/github_answers.py, served by a local server): a fork set up as
docs/release.md says passes; each missing step is named with its fix, every other step still
checked (issue 62, bar 3)."""

from __future__ import annotations

import json

import pytest

from tests.release.github_answers import (
    BASE,
    DEPLOY_KEYS,
    RULESET_AS_ADMIN,
    TAG_KEY_SECRET,
    WRITE_KEY,
    answer_environment,
    answer_rulesets,
)
from tools.release.cli import main

HOOK_SECRET = {**TAG_KEY_SECRET, "name": "RENDER_DEPLOY_HOOK_URL"}
SECRETS = [TAG_KEY_SECRET, HOOK_SECRET]


def set_up(server, **faults) -> None:
    """The repository as the set-up leaves it, but for `faults`."""
    if faults.get("environment"):
        server.route(
            f"{BASE}/environments/production",
            200,
            json.dumps({"deployment_branch_policy": None}),
        )
    else:
        answer_environment(server)
    rulesets = [] if faults.get("ruleset") else [RULESET_AS_ADMIN]
    if faults.get("bypass"):
        rulesets = [{**RULESET_AS_ADMIN, "bypass_actors": []}]
    keys = [] if faults.get("deploy_key") else [WRITE_KEY]
    secrets = [HOOK_SECRET] if faults.get("tag_key") else SECRETS
    answer_rulesets(server, rulesets, keys=keys, secrets=secrets)
    server.route("/users/octo", 200, json.dumps({"login": "octo", "type": "User"}))
    visibility = "private" if faults.get("package") else "public"
    server.route(
        "/users/octo/packages/container/cryptopredict",
        200,
        json.dumps(
            {"name": "cryptopredict", "package_type": "container", "visibility": visibility}
        ),
    )
    server.route(f"{BASE}/pages", 200, json.dumps({"build_type": "workflow", "status": "built"}))
    server.route(
        f"{BASE}/actions/workflows/release.yml",
        200,
        json.dumps({"name": "release", "path": ".github/workflows/release.yml", "state": "active"}),
    )


def preflight(server, capsys) -> tuple[int, str]:
    environ = {"GITHUB_TOKEN": "ghp_owner", "GITHUB_API_URL": server.url}
    code = main(["preflight", "--repository", "octo/cryptopredict"], environ=environ)
    return code, capsys.readouterr().out


def test_a_fork_set_up_as_documented_passes(server, capsys):
    set_up(server)
    code, out = preflight(server, capsys)
    assert code == 0, out
    assert "missing:" not in out
    assert "ok: environment production: only main and the release tags may deploy" in out
    assert "'Deploy keys' may create the release tags" in out
    assert "ok: package ghcr.io/octo/cryptopredict: public" in out
    assert out.rstrip().endswith("every set-up step the releases need is in place")


@pytest.mark.parametrize(
    ("fault", "named"),
    [
        ("ruleset", "no active tag ruleset of octo/cryptopredict restricts"),
        ("bypass", "lets none of 'Deploy keys' bypass it"),
        ("deploy_key", "no deploy key with write access"),
        ("tag_key", "the production environment has no secret RELEASE_TAG_KEY"),
        ("environment", "every branch and tag may deploy to it"),
        ("package", "the package ghcr.io/octo/cryptopredict is private"),
    ],
)
def test_each_missing_step_is_named_with_its_fix_and_the_others_still_checked(
    server, capsys, fault, named
):
    set_up(server, **{fault: True})
    code, out = preflight(server, capsys)
    assert code == 1
    missing = [line for line in out.splitlines() if line.startswith("missing: ")]
    assert any(named in line for line in missing), out
    assert all("(docs/release.md" in line or "->" in line for line in missing), missing
    # The steps that are in place are still said.
    assert "ok: GitHub Pages: built by the docs workflow" in out
    assert "ok: the release workflow is enabled" in out
    assert "ok: environment production: holds the deploy hook" in out


def test_an_unpublished_package_is_said_and_not_missing(server, capsys):
    set_up(server)
    server.route("/users/octo/packages/container/cryptopredict", 404, '{"message": "Not Found"}')
    code, out = preflight(server, capsys)
    assert code == 0
    assert "not published yet" in out


def test_a_bypass_for_pull_requests_only_is_missing(server, capsys):
    set_up(server)
    answer_rulesets(
        server,
        [{**RULESET_AS_ADMIN, "bypass_actors": [{**DEPLOY_KEYS, "bypass_mode": "pull_request"}]}],
        keys=[WRITE_KEY],
        secrets=SECRETS,
    )
    code, out = preflight(server, capsys)
    assert code == 1
    assert "Bypass list, add 'Deploy keys'" in out
