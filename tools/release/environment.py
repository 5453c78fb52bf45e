"""Refuse to deploy from a GitHub environment that any branch could deploy from.

The Render deploy hook is a secret of the `production` environment, so that only workflow runs
the environment admits can read it. GitHub enforces the environment's deployment branches but
cannot be told them from the workflow file: the release reads them through the REST API (the
`actions: read` permission) and stops unless exactly the release branch may deploy.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from tools.release.render import DeployError

API_VERSION = "2022-11-28"


def branch_policy_problem(
    environment: dict[str, Any], policies: list[dict[str, Any]] | None, branch: str
) -> str | None:
    """What lets more than `branch` deploy to `environment`, or None when only it can.

    `environment` is GitHub's answer for the environment, `policies` the `branch_policies` of
    its deployment branch policies (None when it has no custom policies).
    """
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
    if allowed != [f"branch {branch}"]:
        shown = ", ".join(allowed) or "nothing"
        return f"it admits {shown}, not exactly the branch {branch}"
    return None


def check_environment(
    api_url: str, repository: str, name: str, token: str, branch: str, *, timeout: float = 30.0
) -> None:
    """DeployError unless only `branch` may deploy to the environment `name` of `repository`."""
    base = f"{api_url.rstrip('/')}/repos/{repository}/environments/{urllib.parse.quote(name, '')}"
    environment = _get_json(base, token, timeout)
    policies = None
    if (environment.get("deployment_branch_policy") or {}).get("custom_branch_policies"):
        answer = _get_json(f"{base}/deployment-branch-policies?per_page=100", token, timeout)
        policies = answer.get("branch_policies", [])
    problem = branch_policy_problem(environment, policies, branch)
    if problem:
        raise DeployError(
            f"the {name!r} environment holds the deploy hook but {problem}. In Settings -> "
            f"Environments -> {name}, set 'Deployment branches and tags' to 'Selected branches "
            f"and tags' with the one rule {branch!r} (README, 'Release and deploy')"
        )


def _get_json(url: str, token: str, timeout: float) -> dict[str, Any]:
    request = urllib.request.Request(
        url,
        headers={
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {token}",
            "X-GitHub-Api-Version": API_VERSION,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            document = json.loads(response.read())
    except urllib.error.HTTPError as error:
        hint = " (the job needs the 'actions: read' permission)" if error.code == 403 else ""
        raise DeployError(f"GitHub answered HTTP {error.code} for {url}{hint}") from None
    except (urllib.error.URLError, TimeoutError) as error:
        reason = getattr(error, "reason", error)
        raise DeployError(f"GitHub's API could not be reached ({reason})") from None
    except ValueError:
        raise DeployError(f"GitHub's answer for {url} is not JSON") from None
    if not isinstance(document, dict):
        raise DeployError(f"GitHub's answer for {url} is not a JSON object")
    return document
