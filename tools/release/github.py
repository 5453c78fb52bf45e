"""GitHub's REST API as the release jobs call it; the token is never printed."""

from __future__ import annotations

import email.utils
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptopredict.retry_after import retry_after_seconds
from tools.release.retry import RERUN, retried

API_VERSION = "2022-11-28"
DEFAULT_API_URL = "https://api.github.com"
# The Link header's next page: GitHub's ("Using pagination in the REST API"), a registry's.
NEXT = re.compile(r'<([^>]+)>;\s*rel="?next"?')


class GitHubError(Exception):
    """GitHub could not be asked (`status` None), or refused; the message says what to check,
    `wait` how long GitHub's rate limit asks a client to wait (None: no rate limit)."""

    def __init__(
        self, message: str, status: int | None = None, said: str = "", wait: float | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.said, self.wait = status, said, wait

    @property
    def transient(self) -> bool:
        """No answer, a 5xx or a rate limit: trying again later may succeed."""
        return self.status is None or self.status >= 500 or self.wait is not None


def rate_limit(status: int, headers: Any, said: str) -> float | None:
    """The seconds GitHub's answer asks a client to wait, as "Rate limits for the REST API" says:
    a 403 or 429 with `retry-after`, or with `x-ratelimit-remaining` 0 until `x-ratelimit-reset`
    (by GitHub's clock, its `date`), or a minute where it names a rate limit; None for any other
    answer (a 403 without them is a permission)."""
    reset = headers.get("x-ratelimit-reset") or ""
    if status not in (403, 429):
        return None
    if (after := retry_after_seconds(headers)) is not None:
        return after
    if headers.get("x-ratelimit-remaining") == "0" and reset.isdigit():
        date = headers.get("date")
        now = email.utils.parsedate_to_datetime(date).timestamp() if date else time.time()
        return max(0.0, int(reset) - now)
    return 60.0 if status == 429 or "rate limit" in said.lower() else None


_REPEATABLE = ("GET", "PUT", "PATCH")


def _ask(call: urllib.request.Request, *, permission: str, fix: str) -> tuple[Any, str]:
    method, url = call.get_method(), call.full_url
    try:
        with urllib.request.urlopen(call, timeout=30) as response:
            answer = response.read()
            following = NEXT.search(response.headers.get("Link") or "")
    except urllib.error.HTTPError as error:
        said = _message(error.read())
        wait = rate_limit(error.code, error.headers, said)
        needs = (
            f"your token needs it: {fix}" if fix else f"the job needs the '{permission}' permission"
        )
        hint = f" ({needs})" if error.code == 403 else ""
        hint = f" (GitHub's rate limit: {wait:.0f} s to wait)" if wait is not None else hint
        raise GitHubError(
            f"GitHub answered HTTP {error.code} for {method} {url}{hint}"
            + (f": {said}" if said else ""),
            error.code,
            said,
            wait,
        ) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        reason = getattr(error, "reason", error)
        raise GitHubError(f"GitHub's API could not be reached ({reason})") from None
    try:
        return json.loads(answer) if answer.strip() else {}, following[1] if following else ""
    except ValueError:
        raise GitHubError(f"GitHub's answer for {url} is not JSON") from None


def _message(body: bytes) -> str:
    """GitHub's own words from an error answer (`message`, and `errors` when it gives them)."""
    try:
        document = json.loads(body)
        parts, errors = [str(document.get("message") or "").strip()], document.get("errors")
    except (ValueError, AttributeError):  # not JSON, or not an object
        return ""
    for error in errors or []:
        parts.append(str(error.get("message", error) if isinstance(error, dict) else error))
    return " ".join(" ".join(part.split()) for part in parts if part)[:500]


@dataclass(frozen=True)
class GitHub:
    """One repository on GitHub's API, asked with one token; paths are below /repos/<it>."""

    api_url: str
    repository: str
    token: str = field(repr=False)  # never in a repr, a log line or a traceback
    registry_url: str = ""  # ghcr.io's API, unless another registry is asked
    server_url: str = "https://github.com"
    fix: str = ""  # what a token GitHub refuses needs (a person's); "": a job's, its permission

    @classmethod
    def from_environ(
        cls,
        environ: Mapping[str, str],
        what: str = "",
        repository: str | None = None,
        token: str = "",
        **settings: str,
    ) -> GitHub:
        """The repository (unless named), token (unless given) and addresses GitHub Actions sets;
        a ValueError saying `what` needs them where one is missing (none without `what`)."""
        token = token or environ.get("GITHUB_TOKEN", "").strip()
        repository = repository or environ.get("GITHUB_REPOSITORY", "").strip()
        if what and not (token and repository):
            raise ValueError(
                f"{what} needs GITHUB_TOKEN (yours: GITHUB_TOKEN=$(gh auth token)) and the "
                "repository (GITHUB_REPOSITORY, or --repository where the command takes it), and "
                "one is not set"
            )
        api_url = environ.get("GITHUB_API_URL", DEFAULT_API_URL).rstrip("/")
        server_url = environ.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
        settings.setdefault("registry_url", environ.get("RELEASE_REGISTRY_URL", ""))
        return cls(api_url, repository, token, server_url=server_url, **settings)

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | bytes | None = None,
        permission: str = "administration",
    ) -> Any:
        return self._request(self.url(path), permission, method, body)[0]

    def _request(
        self,
        url: str,
        permission: str,
        method: str = "GET",
        body: dict[str, Any] | bytes | None = None,
        fix: str = "",
    ) -> tuple[Any, str]:
        """The JSON GitHub answers ({} if no body) and the URL of its next page ("" on the last);
        reads and PUT/PATCH retried while transient; a 403 names `permission` (or `fix`). A body
        of bytes is sent as it is (a committed setting's file)."""
        headers = {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {self.token}",
            "X-GitHub-Api-Version": API_VERSION,
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        data = body if isinstance(body, bytes | None) else json.dumps(body).encode()
        call = urllib.request.Request(url, data=data, method=method, headers=headers)

        def again(outcome: object) -> bool:  # a rate limit: GitHub did nothing, whatever was asked
            if not isinstance(outcome, GitHubError) or not outcome.transient:
                return False
            return method in _REPEATABLE or outcome.wait is not None

        try:
            return retried(lambda: _ask(call, permission=permission, fix=fix or self.fix), again)
        except GitHubError as error:
            if not error.transient:
                raise
            raise GitHubError(f"{error}: {RERUN}", error.status, error.said, error.wait) from None

    def url(self, path: str) -> str:
        """`path` below the repository, or below the API's root where it starts with "//"."""
        if path.startswith("//"):
            return f"{self.api_url}{path[1:]}"
        return f"{self.api_url}/repos/{self.repository}{path}"

    def get(
        self, path: str, permission: str = "administration: read", **options: Any
    ) -> dict[str, Any]:
        return self._shaped(self.url(path), dict, permission, **options)[0]

    def listed(self, path: str, permission: str = "administration: read", key: str = "") -> list:
        """Every item of a list GitHub pages (under `key` where each page is an object), page
        after page as each page's Link header names the next; 100 a page (GitHub's most)."""
        items: list[Any] = []
        url = self.url(f"{path}{'&' if '?' in path else '?'}per_page=100")
        while url:
            page, url = self._shaped(url, dict if key else list, permission)
            items += page.get(key) or [] if key else page
        return items

    def _shaped(self, url: str, kind: type, permission: str, **options: Any) -> tuple[Any, str]:
        document, following = self._request(url, permission, **options)
        if not isinstance(document, kind):
            name = "object" if kind is dict else "array"
            raise GitHubError(f"GitHub's answer for {url} is not a JSON {name}")
        return document, following

    def get_or_none(
        self, path: str, permission: str = "administration: read", **options: Any
    ) -> dict[str, Any] | None:
        try:
            return self.get(path, permission, **options)
        except GitHubError as error:
            if error.status == 404:
                return None
            raise

    def secrets(self, path: str = "/actions") -> set[str]:
        """The names of the secrets under `path` (the repository's, or an environment's); none
        for 404."""
        try:
            listed = self.listed(f"{path}/secrets", key="secrets")
        except GitHubError as error:
            if error.status != 404:
                raise
            listed = []
        return {str(s.get("name")) for s in listed if isinstance(s, dict)}

    def variables(self) -> dict[str, str]:
        """The repository's variables, every page."""
        listed = self.listed("/actions/variables", "actions variables: read", "variables")
        return {str(v.get("name")): str(v.get("value", "")) for v in listed}

    def tag_owner(self, tag: str, target: str) -> str:
        """The repository release tag `tag` on `target` is a release of: the fork parent's, if
        the parent holds it on the same commit, or this one's."""
        about = self.get("", "contents: read")
        parent = str((about.get("parent") or {}).get("full_name") or "")
        if not (about.get("fork") and parent):
            return self.repository
        path = f"//repos/{parent}/git/ref/tags/{urllib.parse.quote(tag)}"
        ref = self.get_or_none(path, "contents: read")
        sha = ((ref or {}).get("object") or {}).get("sha")
        return parent if sha == target else self.repository
