"""GitHub's REST API as the release jobs call it; the token is never printed."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from tools.release.retry import RERUN, delays, retried

API_VERSION = "2022-11-28"


class GitHubError(Exception):
    """GitHub could not be asked (`status` None), or refused; the message says what to check."""

    def __init__(self, message: str, status: int | None = None, said: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.said = said

    @property
    def transient(self) -> bool:
        """No answer, or HTTP 429 or 5xx: trying again later may succeed."""
        return self.status is None or self.status == 429 or self.status >= 500

    @property
    def hidden(self) -> bool:
        """GitHub would not show the token this (403, or 404 for what it hides)."""
        return self.status in (403, 404)


def request(url: str, token: str, **options: Any) -> dict[str, Any]:
    """The JSON object GitHub answers (`request_json`'s options)."""
    return _shaped(request_json(url, token, **options), dict, url, "object")


def request_list(url: str, token: str, **options: Any) -> list[Any]:
    return _shaped(request_json(url, token, **options), list, url, "array")


def _shaped(document: Any, kind: type, url: str, name: str) -> Any:
    if not isinstance(document, kind):
        raise GitHubError(f"GitHub's answer for {url} is not a JSON {name}")
    return document


def request_pages(
    url: str, token: str, key: str, *, permission: str, per_page: int = 30
) -> list[Any]:
    """Every item of a listing GitHub answers page by page under `key`."""
    items: list[Any] = []
    for page in range(1, 1000):
        answer = request(f"{url}?per_page={per_page}&page={page}", token, permission=permission)
        batch = answer.get(key) or []
        items += batch
        if len(batch) < per_page or len(items) >= int(answer.get("total_count") or 0):
            break
    return items


def request_json(
    url: str,
    token: str,
    *,
    method: str = "GET",
    permission: str,
    timeout: float = 30.0,
    body: dict[str, Any] | None = None,
    fix: str = "",
) -> Any:
    """The JSON GitHub answers ({} if no body); reads and PUT/PATCH retried while transient; a
    403 names `permission` (or `fix`)."""
    headers = {
        "Accept": "application/vnd.github+json",
        "Authorization": f"Bearer {token}",
        "X-GitHub-Api-Version": API_VERSION,
    }
    if body is not None:
        headers["Content-Type"] = "application/json"
    data = None if body is None else json.dumps(body).encode()
    call = urllib.request.Request(url, data=data, method=method, headers=headers)

    def once() -> Any:
        return _ask(call, permission=permission, fix=fix, timeout=timeout)

    def again(outcome: object) -> bool:
        return isinstance(outcome, GitHubError) and outcome.transient and method in _REPEATABLE

    try:
        return retried(once, again)
    except GitHubError as error:
        if not error.transient:
            raise
        tries = len(delays()) + 1 if method in _REPEATABLE else 1
        raise GitHubError(f"{error} ({tries} tries): {RERUN}", error.status, error.said) from None


_REPEATABLE = ("GET", "PUT", "PATCH")


def _ask(call: urllib.request.Request, *, permission: str, fix: str, timeout: float) -> Any:
    method, url = call.get_method(), call.full_url
    try:
        with urllib.request.urlopen(call, timeout=timeout) as response:
            answer = response.read()
    except urllib.error.HTTPError as error:
        needs = (
            f"your token needs it: {fix}" if fix else f"the job needs the '{permission}' permission"
        )
        hint = f" ({needs})" if error.code == 403 else ""
        said = _message(error.read())
        raise GitHubError(
            f"GitHub answered HTTP {error.code} for {method} {url}{hint}"
            + (f": {said}" if said else ""),
            error.code,
            said,
        ) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        reason = getattr(error, "reason", error)
        raise GitHubError(f"GitHub's API could not be reached ({reason})") from None
    if not answer.strip():
        return {}
    try:
        return json.loads(answer)
    except ValueError:
        raise GitHubError(f"GitHub's answer for {url} is not JSON") from None


def _message(body: bytes) -> str:
    """GitHub's own words from an error answer (`message`, and `errors` when it gives them)."""
    try:
        document = json.loads(body)
    except ValueError:
        return ""
    if not isinstance(document, dict):
        return ""
    parts = [str(document.get("message") or "").strip()]
    for error in document.get("errors") or []:
        parts.append(str(error.get("message", error) if isinstance(error, dict) else error))
    return " ".join(" ".join(part.split()) for part in parts if part)[:500]
