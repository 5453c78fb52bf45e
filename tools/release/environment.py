"""The GitHub environment holding the release's secrets: only the release branch and the
release tags may deploy from it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from tools.release.github import GitHub, GitHubError
from tools.release.render import DeployError

# The rule admitting the release tags: rebuilds run on them (docs/release.md, "Every build is of
# the commit it runs on"). GitHub matches it with Ruby's File.fnmatch: `v1.2.3`, `v10.0.12`.
TAG_RULE = "v[0-9]*.[0-9]*.[0-9]*"


@dataclass
class Change:
    said: str
    make: Callable[[], object] | None = None  # None: by hand (setup leaves it to the owner)

    @classmethod
    def call(cls, said: str, github: GitHub, method: str, path: str, *body: Any) -> Change:
        """A change GitHub makes in one call (`body`: GitHub.call's body and permission)."""
        return cls(said, partial(github.call, method, path, *body))


def environment_changes(github: GitHub, branch: str) -> list[Change]:
    """What makes the environment admit exactly `branch` and the release tags (none: it does)."""
    name, path = github.environment, github.env_path
    environment = github.get_or_none(path, "actions: read")
    rule = (environment or {}).get("deployment_branch_policy") or {}
    found, held = [], {}
    if not rule.get("custom_branch_policies") or rule.get("protected_branches"):
        body = {
            "deployment_branch_policy": {
                "protected_branches": False,
                "custom_branch_policies": True,
            }
        }
        verb = "correct" if environment else "create"
        said = f"{verb} the {name} environment: deployment branches and tags 'Selected'"
        found.append(Change.call(said, github, "PUT", path, body))
    else:
        listed = github.get(f"{path}/deployment-branch-policies?per_page=100", "actions: read")
        policies = listed.get("branch_policies") or []
        held = {(str(p.get("type", "branch")), str(p.get("name"))): p for p in policies}
    wanted = {("branch", branch), ("tag", TAG_RULE)}
    policies_path = f"{path}/deployment-branch-policies"
    found += [
        Change(
            f"let the {kind} {pattern!r} deploy to {name}",
            partial(github.call, "POST", policies_path, {"name": pattern, "type": kind}),
        )
        for kind, pattern in sorted(wanted - held.keys())
    ]
    found += [
        Change(
            f"stop the {kind} {pattern!r} deploying to {name}",
            partial(github.call, "DELETE", f"{policies_path}/{held[(kind, pattern)].get('id')}"),
        )
        for kind, pattern in sorted(held.keys() - wanted)
    ]
    return found


def check_environment(github: GitHub, branch: str) -> None:
    """DeployError unless only `branch` and the release tags may deploy to the environment."""
    name = github.environment
    try:
        changes = environment_changes(github, branch)
    except GitHubError as error:
        raise DeployError(str(error)) from None
    if changes:
        raise DeployError(
            f"the {name!r} environment holds the release's secrets (the deploy hook, the key "
            f"that creates release tags) but admits more or other than the branch {branch!r} "
            f"and the tag {TAG_RULE!r} (an environment a job names is created by GitHub, without "
            f"rules, when it does not exist): {'; '.join(change.said for change in changes)}. "
            f"In Settings -> Environments -> {name}, set 'Deployment branches and tags' to "
            f"'Selected branches and tags' with those two rules; `python -m tools.release setup "
            f"--repository {github.repository}` sets them (docs/release.md, 'Set it up on a fork')"
        )
