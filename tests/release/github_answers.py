"""GitHub's REST answers for a repository set up as `python -m tools.release setup` leaves it,
in the shapes GitHub's REST API documents ("Get a repository", "Get a repository ruleset",
"List deploy keys", "List environment secrets"): as a job's token sees them (no bypass list,
deploy keys or secret names: 403) and as the administrator's own token does."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from tools.release.rules import TAG_RULE, setting

REPOSITORY = "octo/cryptopredict"
BASE = f"/repos/{REPOSITORY}"
NOT_SHOWN = json.dumps(
    {
        "message": "Resource not accessible by integration",
        "documentation_url": "https://docs.github.com/rest",
        "status": "403",
    }
)

NOT_FOUND = json.dumps(
    {"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"}
)


def as_github_answers(ruleset_id: int, file: str) -> dict[str, Any]:
    """The committed ruleset (.github/settings/rulesets/<file>.json) as GitHub answers a job's
    token ("Get a repository ruleset"): GitHub leaves `bypass_actors` out for a token that may
    not edit the ruleset."""
    links = {"self": {"href": f"https://api.github.com{BASE}/rulesets/{ruleset_id}"}}
    ruleset = {**setting(f"rulesets/{file}"), "id": ruleset_id, "_links": links}
    del ruleset["bypass_actors"]
    return {**ruleset, "source_type": "Repository", "source": REPOSITORY}


# The tag ruleset keeping every release tag the release's own, and the branch ruleset keeping
# main from deletion and force pushes, as setup makes them.
RULESET, BRANCH_RULESET = as_github_answers(7, "release-tags"), as_github_answers(8, "main")
# The bypass actor the set-up makes (REST API: a deploy key has no id).
DEPLOY_KEYS = {"actor_id": None, "actor_type": "DeployKey", "bypass_mode": "always"}
# The same rulesets as their administrator's token reads them.
RULESET_AS_ADMIN = {**RULESET, "bypass_actors": [DEPLOY_KEYS], "current_user_can_bypass": "always"}
BRANCH_RULESET = {**BRANCH_RULESET, "bypass_actors": []}
WRITE_KEY = {
    "id": 1,
    "key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFake",
    "title": "release tags",
    "verified": True,
    "created_at": "2026-11-20T10:00:00Z",
    "read_only": False,
}
TAG_KEY_SECRET = {
    "name": "RELEASE_TAG_KEY",
    "created_at": "2026-11-20T10:00:00Z",
    "updated_at": "2026-11-20T10:00:00Z",
}


def paged(items: list[Any], path: str, host: str, key: str = "") -> tuple[int, bytes, dict]:
    """One page of `items` as GitHub answers a list (`path` with its query): `per_page` of
    them (30 unless asked, 100 at most), page `page` (1 unless asked), and a Link header naming
    the next page while there is one; under `key` in an object where GitHub wraps the list with
    its `total_count` ("Using pagination in the REST API",
    https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api)."""
    bare, _, query = path.partition("?")
    asked = dict(urllib.parse.parse_qsl(query))
    size, number = min(int(asked.get("per_page", 30)), 100), int(asked.get("page", 1))
    page = items[(number - 1) * size : number * size]
    headers = {}
    if number * size < len(items):
        following = urllib.parse.urlencode({**asked, "page": number + 1})
        headers["Link"] = f'<http://{host}{bare}?{following}>; rel="next"'
    document = {"total_count": len(items), key: page} if key else page
    return 200, json.dumps(document).encode(), headers


def repository(owner_type: str = "User") -> dict:
    owner = {"login": "octo", "id": 583231, "type": owner_type}
    about = {"id": 1296269, "name": "cryptopredict", "full_name": REPOSITORY, "owner": owner}
    return {**about, "has_issues": True}


def answer_environment(server) -> None:
    """The production environment admitting exactly the release tags, release-tags main."""
    environment = {"deployment_branch_policy": {"custom_branch_policies": True}}
    for name, policy in (("production", (TAG_RULE, "tag")), ("release-tags", ("main", "branch"))):
        server.route(f"{BASE}/environments/{name}", 200, json.dumps(environment))
        policies = {"branch_policies": [{"name": policy[0], "type": policy[1]}]}
        path = f"{BASE}/environments/{name}/deployment-branch-policies"
        server.route(path, 200, json.dumps(policies))


def answer_rulesets(
    server,
    rulesets: list[dict],
    *,
    owner_type: str = "User",
    keys: list[dict] | None = None,
    secrets: list[dict] | None = None,
    branch: tuple[dict, ...] = (BRANCH_RULESET,),
) -> None:
    """The repository, its tag rulesets and `branch`'s (the list, then each one), and its deploy
    keys and the release-tags environment's secrets (403, as a job's token gets, unless given)."""
    server.route(BASE, 200, json.dumps(repository(owner_type)))
    rulesets = [*rulesets, *branch]
    listed = [{"id": r["id"], "name": r["name"], "target": r["target"]} for r in rulesets]
    server.route(f"{BASE}/rulesets", 200, json.dumps(listed))
    for ruleset in rulesets:
        server.route(f"{BASE}/rulesets/{ruleset['id']}", 200, json.dumps(ruleset))
    if keys is None:
        server.route(f"{BASE}/keys", 403, NOT_SHOWN)
    else:
        server.route(f"{BASE}/keys", 200, json.dumps(keys))
    answer = {"total_count": len(secrets), "secrets": secrets} if secrets is not None else None
    server.route(
        f"{BASE}/environments/release-tags/secrets",
        403 if answer is None else 200,
        NOT_SHOWN if answer is None else json.dumps(answer),
    )


def failed_runs(server, repository: str, *said: str) -> None:
    """The release workflow's failed runs as GitHub lists them, one a `said`: its one failed
    job's error annotation (none for ""), beside GitHub's own "Process completed with exit code
    1.", and a job that succeeded."""
    base = f"/repos/{repository}"
    link = f"https://github.com/{repository}/actions/runs"
    runs = [
        {"id": n, "event": "schedule", "html_url": f"{link}/{n}"} for n in range(1, len(said) + 1)
    ]
    listed = {"total_count": len(runs), "workflow_runs": runs}
    server.route(f"{base}/actions/workflows/release.yml/runs", 200, json.dumps(listed))
    for number, words in enumerate(said, 1):
        jobs = [
            {"id": 9, "name": "version", "conclusion": "success"},
            {"id": 10 + number, "name": "test", "conclusion": "failure"},
        ]
        server.route(f"{base}/actions/runs/{number}/jobs", 200, json.dumps({"jobs": jobs}))
        notes = [{"annotation_level": "failure", "message": "Process completed with exit code 1."}]
        notes += [{"annotation_level": "failure", "message": words}] if words else []
        server.route(f"{base}/check-runs/{10 + number}/annotations", 200, json.dumps(notes))
