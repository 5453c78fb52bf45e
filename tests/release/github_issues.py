"""A repository's issues and labels as GitHub's REST API keeps them ("List repository issues"
with `labels` and `state`, paged; "Create an issue", "Update an issue", "Create an issue
comment", "List labels for a repository", "Create a label"), for the test server's `handler`:
what `python -m tools.release say` reads and writes, what setup creates, and what a test (or
`make month`) reads back to judge what the owner was told; and any list as GitHub pages it."""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

REPOSITORY = "octo/cryptopredict"
# The labels GitHub gives a new repository ("Managing labels": "About default labels").
DEFAULT_LABELS = (
    "bug documentation duplicate enhancement good-first-issue help-wanted invalid question wontfix"
)


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


@dataclass
class Issues:
    repository: str = REPOSITORY
    issues: list[dict[str, Any]] = field(default_factory=list)
    comments: dict[int, list[str]] = field(default_factory=dict)
    labels: set[str] = field(default_factory=lambda: set(DEFAULT_LABELS.split()))
    host: str = ""  # where the server answers, for the Link to a list's next page
    # Answer every issues request with this status instead (503: GitHub unavailable; 410: Issues
    # off, as GitHub answers a repository whose Issues are disabled).
    failing: int | None = None
    # Each change, as GitHub mails of it: an issue opened or commented on (and the owner's
    # mentions there), its state or body changed.
    changes: list[dict[str, Any]] = field(default_factory=list)

    def handle(self, method: str, path: str, body: bytes) -> tuple | None:
        path, _, query = path.partition("?")
        base = f"/repos/{self.repository}"
        sent = json.loads(body) if body else {}
        if path == f"{base}/labels":
            self.labels |= {sent["name"]} if method == "POST" else set()
            return paged([{"name": name} for name in sorted(self.labels)], path, self.host)
        if not path.startswith(f"{base}/issues"):
            return None
        if self.failing is not None:
            said = "Issues are disabled for this repo" if self.failing == 410 else "Unavailable"
            return self.failing, json.dumps({"message": said}).encode()
        rest = path.removeprefix(f"{base}/issues").strip("/").split("/")
        if rest == [""]:
            listed = self._listed(dict(urllib.parse.parse_qsl(query)))
            asked = f"{path}?{query}"
            return self._opened(sent) if method == "POST" else paged(listed, asked, self.host)
        number = int(rest[0])
        if rest[1:] == ["comments"]:
            self.comments.setdefault(number, []).append(sent["body"])
            self._changed(number, "comments", sent["body"])
            return 201, json.dumps({"id": len(self.comments[number]), **sent}).encode()
        issue = self.issues[number - 1]  # PATCH
        for what in ("state", "body"):
            if sent.get(what, issue[what]) != issue[what]:
                self._changed(number, sent["state"] if what == "state" else what)
        issue.update(sent)
        return 200, json.dumps(issue).encode()

    def _changed(self, number: int, what: str, told: str | None = None) -> None:
        mentions = {} if told is None else {"mentions": int(f"@{self.owner} " in told)}
        self.changes.append({"issue": number, "what": what, **mentions})

    def _listed(self, query: dict[str, str]) -> list[dict[str, Any]]:
        state = query.get("state", "open")
        labels = set(filter(None, query.get("labels", "").split(",")))
        return [
            issue
            for issue in reversed(self.issues)  # newest first, as GitHub sorts by default
            if state in ("all", issue["state"])
            and labels <= {label["name"] for label in issue["labels"]}
        ]

    def _opened(self, sent: dict[str, Any]) -> tuple[int, bytes]:
        # "Only users with push access can set labels for new issues. Labels are silently
        # dropped otherwise." ("Create an issue", https://docs.github.com/en/rest/issues/issues
        # #create-an-issue): a job's token may not create a label, so one the repository lacks
        # is dropped (python -m tools.release setup creates the release's).
        issue = {
            "number": len(self.issues) + 1,
            "title": sent["title"],
            "body": sent.get("body", ""),
            "labels": [{"name": name} for name in sent.get("labels", []) if name in self.labels],
            "state": "open",
        }
        self.issues.append(issue)
        self._changed(issue["number"], "opened", issue["body"])
        return 201, json.dumps(issue).encode()

    @property
    def owner(self) -> str:
        return self.repository.split("/")[0]

    def open(self) -> list[dict[str, Any]]:
        return [issue for issue in self.issues if issue["state"] == "open"]
