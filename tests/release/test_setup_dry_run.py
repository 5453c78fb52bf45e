"""`python -m tools.release setup --dry-run` against GitHub's REST answers (the project's recorded
shapes, tests/release/github_answers.py, served by a local server) and a real registry: a fork
set up as docs/release.md says passes, and so does one with Render and Pages off; each missing
step is named with its fix, every other step still checked (issue 62, bar 3; issue 69, bar 2)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tests.release.github_answers import (
    BASE,
    DEPLOY_KEYS,
    NOT_FOUND,
    RULESET_AS_ADMIN,
    TAG_KEY_SECRET,
    WRITE_KEY,
    answer_environment,
    answer_rulesets,
    paged,
    repository,
)
from tools.release.cli import main
from tools.release.say import LABEL

RENDER_YAML = Path(__file__).resolve().parents[2] / "render.yaml"
HOOK_SECRET = {**TAG_KEY_SECRET, "name": "RENDER_DEPLOY_HOOK_URL"}
PACKAGE = "/users/octo/packages/container/cryptopredict"
SERVICE = {"name": "RENDER_SERVICE_URL", "value": "https://cryptopredict.onrender.com"}
SCHEDULE = {"name": "RELEASE_REPOSITORY", "value": "octo/cryptopredict"}


def listed(key: str, items: list[dict]) -> str:
    return json.dumps({"total_count": len(items), key: items})


def set_up(server, **faults) -> None:
    """The repository as the set-up leaves it (Render and Pages on), but for `faults`."""
    answer_environment(server)
    if faults.get("environment"):
        server.route(
            f"{BASE}/environments/production",
            200,
            json.dumps({"deployment_branch_policy": None}),
        )
    rulesets = [] if faults.get("ruleset") else [RULESET_AS_ADMIN]
    if faults.get("bypass") or faults.get("pull_requests"):  # none, or for pull requests only
        bypass = (
            [{**DEPLOY_KEYS, "bypass_mode": "pull_request"}] if "pull_requests" in faults else []
        )
        rulesets = [{**RULESET_AS_ADMIN, "bypass_actors": bypass}]
    keys = [] if faults.get("deploy_key") else [WRITE_KEY]
    secrets = [] if faults.get("tag_key") else [TAG_KEY_SECRET]
    answer_rulesets(server, rulesets, keys=keys, secrets=secrets)
    server.route(f"{BASE}/environments/production/secrets", 200, listed("secrets", [HOOK_SECRET]))
    visibility = "private" if faults.get("package") else "public"
    package = {
        "name": "cryptopredict",
        "package_type": "container",
        "visibility": visibility,
        "repository": {"full_name": "octo/cryptopredict"},
    }
    for owner in ("users", "orgs"):  # the repository's owner is a user, or an organisation
        server.route(PACKAGE.replace("users", owner), 200, json.dumps(package))
    server.route(f"{BASE}/pages", 200, json.dumps({"build_type": "workflow", "status": "built"}))
    for name in ("release", "docs"):
        server.route(
            f"{BASE}/actions/workflows/{name}.yml",
            200,
            json.dumps({"name": name, "path": f".github/workflows/{name}.yml", "state": "active"}),
        )
    server.route(f"{BASE}/actions/variables", 200, listed("variables", [SERVICE, SCHEDULE]))
    server.route(f"{BASE}/actions/secrets", 200, listed("secrets", []))
    server.route(f"{BASE}/git/matching-refs/tags/v", 200, "[]")
    server.route(f"{BASE}/labels", 200, json.dumps([{"name": "bug"}, {"name": LABEL}]))
    run = {"id": 1, "html_url": f"https://github.com{BASE.removeprefix('/repos')}/actions/runs/1"}
    server.route(f"{BASE}/actions/workflows/release.yml/runs", 200, listed("workflow_runs", [run]))
    updates = {"enabled": not faults.get("dependabot"), "paused": False}
    server.route(f"{BASE}/automated-security-fixes", 200, json.dumps(updates))
    blueprint = RENDER_YAML.read_text().replace("owner.invalid", "octo")
    content = {"name": "render.yaml", "encoding": "base64"}
    content["content"] = base64.b64encode(blueprint.encode()).decode()
    server.route(f"{BASE}/contents/render.yaml", 200, json.dumps(content))


def dry_run(server, capsys, *args: str, registry: str = "") -> tuple[int, str]:
    environ = {"GITHUB_TOKEN": "ghp_owner", "GITHUB_API_URL": server.url}
    if registry:
        environ["RELEASE_REGISTRY_URL"] = registry
    command = ["setup", "--repository", "octo/cryptopredict", "--dry-run", *args]
    code = main(command, environ=environ)
    return code, capsys.readouterr().out


def missing(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith(("by hand: ", "would change: "))]


def the_one_missing(server, capsys) -> str:
    """The dry run's one line of what is missing; it exits 1."""
    code, out = dry_run(server, capsys)
    assert code == 1
    [line] = missing(out)
    return line


def test_a_fork_with_render_and_pages_off_passes_saying_what_is_off(server, capsys):
    set_up(server, package=True)
    answer_rulesets(server, [RULESET_AS_ADMIN], keys=[WRITE_KEY], secrets=[TAG_KEY_SECRET])
    server.route(f"{BASE}/environments/production/secrets", 200, listed("secrets", []))
    server.route(f"{BASE}/actions/variables", 200, listed("variables", [SCHEDULE]))
    server.route(f"{BASE}/pages", 404, NOT_FOUND)
    server.route(
        f"{BASE}/actions/workflows/docs.yml", 200, json.dumps({"state": "disabled_manually"})
    )
    server.route(f"{BASE}/contents/render.yaml", 404, NOT_FOUND)
    code, out = dry_run(server, capsys)
    assert code == 0, out
    assert "in place: Render is off (no RENDER_DEPLOY_HOOK_URL, no RENDER_SERVICE_URL)" in out
    assert "in place: GitHub Pages is off: the docs workflow is disabled" in out
    assert "private (Render is off: nothing pulls it anonymously)" in out


@pytest.mark.parametrize(
    ("fault", "named"),
    [
        ("ruleset", "would change: create the tag ruleset 'release tags', as rulesets/release-t"),
        ("bypass", "would change: correct the tag ruleset 'release tags'"),
        ("pull_requests", "would change: correct the tag ruleset 'release tags'"),
        ("deploy_key", "would change: make a deploy key with write access"),
        ("tag_key", "private half in the release-tags secret RELEASE_TAG_KEY"),
        ("environment", "would change: correct the production environment"),
        ("package", "by hand: the package ghcr.io/octo/cryptopredict is private"),
        ("dependabot", "would change: turn on Dependabot's alerts and security updates"),
    ],
)
def test_each_missing_step_is_named_with_its_fix_and_the_others_still_checked(
    server, capsys, fault, named
):
    set_up(server, **{fault: True})
    code, out = dry_run(server, capsys)
    assert code == 1
    assert any(named in line for line in missing(out)), out
    by_hand = [line for line in missing(out) if line.startswith("by hand: ")]
    assert all("docs/release.md" in line or "->" in line for line in by_hand), by_hand
    # The steps that are in place are still said.
    assert "in place: GitHub Pages is built from GitHub Actions" in out
    assert "in place: the release runs: its latest run is https://github.com/octo/" in out


def test_a_deploy_hook_without_the_service_url_is_missing(server, capsys):
    set_up(server)
    server.route(f"{BASE}/actions/variables", 200, listed("variables", [SCHEDULE]))
    line = the_one_missing(server, capsys)
    assert "holds RENDER_DEPLOY_HOOK_URL but the repository variable RENDER_SERVICE_URL" in line
    assert "every release is green and nothing is deployed" in line
    assert "--render-service-url https://<service>.onrender.com` sets both" in line
    assert "--no-render` removes both" in line


def test_own_release_tags_without_an_image_are_missing_a_fork_parents_are_not(
    server, capsys, registry_of_its_own
):
    """Issue 76: setup judges the tags as the version job does: the repository's own tags
    over an empty registry stop its release unless a run's start-anew says why; a fork's
    parent's tags start the fork's own record."""
    set_up(server)
    refs = [
        {"ref": f"refs/tags/v7.3.{n}", "object": {"type": "commit", "sha": f"{n:040x}"}}
        for n in range(3)
    ]
    server.route(f"{BASE}/git/matching-refs/tags/v", 200, json.dumps(refs))
    registry = registry_of_its_own.url
    code, out = dry_run(server, capsys, registry=registry)
    assert code == 1
    [line] = missing(out)
    assert "has 3 release tag(s), the newest v7.3.2, and no release image" in line
    assert "version job stops" in line
    assert "-f start-anew=" in line
    # The same tags, held by the parent this repository was forked from on the same commits.
    parent = "upstream/cryptopredict"
    server.route(
        BASE, 200, json.dumps({**repository(), "fork": True, "parent": {"full_name": parent}})
    )
    server.route(f"/repos/{parent}/git/ref/tags/v7.3.2", 200, json.dumps(refs[2]))
    code, out = dry_run(server, capsys, registry=registry)
    assert code == 0, out
    # Held by the parent on another commit, they are this repository's own again.
    server.route(f"/repos/{parent}/git/ref/tags/v7.3.2", 200, json.dumps(refs[1]))
    code, out = dry_run(server, capsys, registry=registry)
    assert code == 1, out
    # Once the registry holds a release image, the tags have theirs.
    registry_of_its_own.push("octo/cryptopredict", ["latest", "7.3.2"])
    code, out = dry_run(server, capsys, registry=registry)
    assert code == 0, out


def test_250_release_tags_are_read_whole(server, capsys, registry_of_its_own):
    """Issue 112: GitHub pages the tags it lists (the newest, v7.3.249, on the last page)."""
    set_up(server)
    refs = [{"ref": f"refs/tags/v7.3.{n}", "object": {"sha": f"{n:040x}"}} for n in range(250)]
    tags, host = f"{BASE}/git/matching-refs/tags/v", server.url.removeprefix("http://")
    server.handler = lambda _, path, __: paged(refs, path, host) if path.startswith(tags) else None
    [line] = missing(dry_run(server, capsys, registry=registry_of_its_own.url)[1])
    assert "has 250 release tag(s), the newest v7.3.249, and no release image" in line


@pytest.mark.parametrize(
    ("owner", "plan", "said"),
    [
        ("User", "free", "is private on GitHub Free: GitHub attests"),
        ("User", "pro", "is private on GitHub Pro: GitHub attests"),
        ("Organization", "team", "is private on GitHub Team: GitHub attests"),
        ("Organization", "enterprise", ""),
    ],
)
def test_a_private_repository_without_attestations_is_missing(server, capsys, owner, plan, said):
    """Issue 82: attestations of a repository that is not public need GitHub Enterprise Cloud;
    on any other plan every release would stop at its attestation."""
    set_up(server)
    server.route(BASE, 200, json.dumps({**repository(owner), "visibility": "private"}))
    path = "/user" if owner == "User" else "/orgs/octo"
    server.route(path, 200, json.dumps({"login": "octo", "plan": {"name": plan}}))
    code, out = dry_run(server, capsys)
    if not said:
        assert code == 0, out
        assert "is private, on GitHub Enterprise Cloud: attestations work" in out
        return
    assert code == 1
    [line] = missing(out)
    assert said in line
    assert "every release would stop at its attestation, before any tag" in line
    assert "--visibility public" in line
    assert ("no environment secrets or rulesets" in line) == (plan == "free")


def test_a_token_without_read_packages_is_told_how_to_get_it(server, capsys):
    set_up(server)
    refused = {"message": "You need at least read:packages scope to list packages."}
    server.route(PACKAGE, 403, json.dumps(refused))
    line = the_one_missing(server, capsys)
    assert "`gh auth refresh -s read:packages`" in line
    assert "the job needs" not in line


def test_a_package_of_another_repository_names_its_actions_access(server, capsys):
    set_up(server)
    package = {"visibility": "public", "repository": {"full_name": "octo/old-name"}}
    server.route(PACKAGE, 200, json.dumps(package))
    line = the_one_missing(server, capsys)
    assert "belongs to octo/old-name" in line
    assert "Manage Actions access" in line
