"""`python -m tools.release preflight`: every set-up step a fork's releases need, checked once by
the owner with their own token before the first push (a job's token cannot see most of them,
so a run would find a missing one hours in). Each step is checked on its own and said, passing
or missing with its fix, so one run names every step left:

- the `production` environment admits only `main` and the release tags (set-up step 5);
- the tag ruleset restricts release tags, its bypass list holds the deploy key, the deploy key
  may write, and the environment holds its private half, `RELEASE_TAG_KEY` (step 6);
- the environment holds the Render deploy hook, `RENDER_DEPLOY_HOOK_URL`;
- the image's package is public, or not published yet (step 3);
- GitHub Pages builds from GitHub Actions (the docs site);
- the release workflow is enabled, so its schedule runs.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable

from tools.release.environment import check_environment
from tools.release.github import GitHubError, request
from tools.release.render import DeployError
from tools.release.rules import check_tag_rules

HOOK_SECRET = "RENDER_DEPLOY_HOOK_URL"
SET_UP = "docs/release.md, 'Set it up on a fork, in this order'"
Check = Callable[[], str]


def preflight(
    api_url: str, repository: str, token: str, *, environment: str = "production"
) -> tuple[list[str], list[str]]:
    """(what holds, what is missing with its fix), each step checked whatever the others say."""
    api_url = api_url.rstrip("/")
    base = f"{api_url}/repos/{repository}"
    checks: list[Check] = [
        lambda: _environment(api_url, repository, token, environment),
        lambda: "; ".join(check_tag_rules(api_url, repository, token, environment=environment)),
        lambda: _hook_secret(base, token, environment),
        lambda: _package(api_url, repository, token),
        lambda: _pages(base, token),
        lambda: _workflow(base, token),
    ]
    holds, missing = [], []
    for check in checks:
        try:
            holds.append(check())
        except (DeployError, GitHubError) as error:
            missing.extend(str(error).split("; and "))
    return holds, missing


def _environment(api_url: str, repository: str, token: str, environment: str) -> str:
    check_environment(api_url, repository, environment, token, "main")
    return f"environment {environment}: only main and the release tags may deploy"


def _hook_secret(base: str, token: str, environment: str) -> str:
    quoted = urllib.parse.quote(environment, safe="")
    answer = request(
        f"{base}/environments/{quoted}/secrets?per_page=100", token, permission="administration"
    )
    names = {str(item.get("name")) for item in answer.get("secrets") or []}
    if HOOK_SECRET not in names:
        raise DeployError(
            f"the {environment} environment has no secret {HOOK_SECRET}: add Render's deploy "
            f"hook there, in Settings -> Environments -> {environment} ({SET_UP}, step 7)"
        )
    return f"environment {environment}: holds the deploy hook ({HOOK_SECRET})"


def _package(api_url: str, repository: str, token: str) -> str:
    owner, name = repository.split("/", 1)
    kind = request(f"{api_url}/users/{owner}", token, permission="none").get("type", "User")
    plural = "orgs" if kind == "Organization" else "users"
    url = f"{api_url}/{plural}/{owner}/packages/container/{urllib.parse.quote(name.lower())}"
    try:
        package = request(url, token, permission="packages: read")
    except GitHubError as error:
        if error.status == 404:
            return (
                f"package ghcr.io/{repository.lower()}: not published yet (the first release "
                "publishes it private: make it public then, set-up step 3)"
            )
        raise
    if package.get("visibility") != "public":
        raise DeployError(
            f"the package ghcr.io/{repository.lower()} is {package.get('visibility')}: Render "
            "pulls without credentials, so the deploy would fail. In its Package settings -> "
            f"Danger Zone -> Change visibility -> Public ({SET_UP}, step 3)"
        )
    return f"package ghcr.io/{repository.lower()}: public"


def _pages(base: str, token: str) -> str:
    try:
        pages = request(f"{base}/pages", token, permission="pages: read")
    except GitHubError as error:
        if error.status != 404:
            raise
        pages = {}
    if pages.get("build_type") != "workflow":
        raise DeployError(
            "GitHub Pages does not build from GitHub Actions, so the docs site is not published: "
            f"in Settings -> Pages -> Build and deployment, choose GitHub Actions ({SET_UP})"
        )
    return "GitHub Pages: built by the docs workflow"


def _workflow(base: str, token: str) -> str:
    workflow = request(f"{base}/actions/workflows/release.yml", token, permission="actions: read")
    if workflow.get("state") != "active":
        raise DeployError(
            f"the release workflow is {workflow.get('state')}: its schedule does not run. In "
            "Actions -> release -> enable workflow"
        )
    return "the release workflow is enabled: its schedule runs every six hours"
