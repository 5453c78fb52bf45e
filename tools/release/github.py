"""GitHub's REST API, as the release jobs call it: a token, JSON answers, plain errors.

The token is never printed or put in an error message.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

API_VERSION = "2022-11-28"


class GitHubError(Exception):
    """GitHub could not be asked, or refused; the message says what to check."""


def request(
    url: str, token: str, *, method: str = "GET", permission: str, timeout: float = 30.0
) -> dict[str, Any]:
    """The JSON object GitHub answers (empty for an answer without a body). `permission` is the
    job permission the call needs, named when GitHub answers 403."""
    document = request_json(url, token, method=method, permission=permission, timeout=timeout)
    if not isinstance(document, dict):
        raise GitHubError(f"GitHub's answer for {url} is not a JSON object")
    return document


def request_list(url: str, token: str, *, permission: str, timeout: float = 30.0) -> list[Any]:
    """The JSON array GitHub answers to a GET."""
    document = request_json(url, token, permission=permission, timeout=timeout)
    if not isinstance(document, list):
        raise GitHubError(f"GitHub's answer for {url} is not a JSON array")
    return document


def request_json(
    url: str, token: str, *, method: str = "GET", permission: str, timeout: float = 30.0
) -> Any:
    """The JSON GitHub answers ({} for an answer without a body)."""
    call = urllib.request.Request(
        url,
        method=method,
        headers={
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {token}",
            "X-GitHub-Api-Version": API_VERSION,
        },
    )
    try:
        with urllib.request.urlopen(call, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as error:
        hint = f" (the job needs the '{permission}' permission)" if error.code == 403 else ""
        raise GitHubError(f"GitHub answered HTTP {error.code} for {method} {url}{hint}") from None
    except (urllib.error.URLError, TimeoutError) as error:
        reason = getattr(error, "reason", error)
        raise GitHubError(f"GitHub's API could not be reached ({reason})") from None
    if not body.strip():
        return {}
    try:
        return json.loads(body)
    except ValueError:
        raise GitHubError(f"GitHub's answer for {url} is not JSON") from None
