"""Refuse to deploy from a GitHub environment that any branch could deploy from."""

from __future__ import annotations

from typing import Any

from tools.release.github import GitHub, GitHubError
from tools.release.render import DeployError

# The rule admitting the release tags: rebuilds run on them (docs/release.md, "Every build is of
# the commit it runs on"). GitHub matches it with Ruby's File.fnmatch: `v1.2.3`, `v10.0.12`.
TAG_RULE = "v[0-9]*.[0-9]*.[0-9]*"


def branch_policy_problem(
    environment: dict[str, Any], policies: list[dict[str, Any]] | None, branch: str
) -> str | None:
    """What lets more than `branch` and the release tags deploy to `environment`, or None."""
    rule = environment.get("deployment_branch_policy")
    if not rule:
        return "every branch and tag may deploy to it"
    if rule.get("protected_branches"):
        return "every protected branch may deploy to it, not only the release branch"
    if not rule.get("custom_branch_policies"):
        return "its deployment branch rule is not one this check knows"
    allowed = sorted(
        f"{policy.get('type', 'branch')} {policy.get('name')}" for policy in policies or []
    )
    wanted = [f"branch {branch}", f"tag {TAG_RULE}"]
    if allowed != wanted:
        shown = ", ".join(allowed) or "nothing"
        return f"it admits {shown}, not exactly {' and '.join(wanted)}"
    return None


def check_environment(github: GitHub, branch: str) -> None:
    """DeployError unless only `branch` and the release tags may deploy to the environment."""
    name = github.environment
    try:
        environment = github.get_or_none(github.env_path, "actions: read")
        if environment is None:
            raise DeployError(
                f"{github.repository} has no {name} environment, which holds the release's "
                "secrets and admits only main and the release tags: `python -m tools.release "
                f"setup --repository {github.repository}` makes it"
            )
        policies = None
        if (environment.get("deployment_branch_policy") or {}).get("custom_branch_policies"):
            path = f"{github.env_path}/deployment-branch-policies?per_page=100"
            policies = github.get(path, "actions: read").get("branch_policies", [])
    except GitHubError as error:
        raise DeployError(str(error)) from None
    problem = branch_policy_problem(environment, policies, branch)
    if problem:
        raise DeployError(
            f"the {name!r} environment holds the release's secrets (the deploy hook, the key "
            f"that creates release tags) but {problem} (an environment a job names is created "
            f"by GitHub, without rules, when it does not exist). In Settings -> Environments -> "
            f"{name}, set 'Deployment branches and tags' to 'Selected branches and tags' with "
            f"two rules: the branch {branch!r} and the tag {TAG_RULE!r}; `python -m tools.release "
            "setup` sets them (docs/release.md, 'Set it up on a fork')"
        )
