"""A repository's issues as GitHub's REST API keeps them ("List repository issues" with `labels`
and `state`, "Create an issue", "Update an issue", "Create an issue comment"), for the test
server's `handler`: what `python -m tools.release say` reads and writes, and what a test (or
`make month`) reads back to judge what the owner was told."""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from tests.release.github_answers import REPOSITORY


@dataclass
class Issues:
    repository: str = REPOSITORY
    issues: list[dict[str, Any]] = field(default_factory=list)
    comments: dict[int, list[str]] = field(default_factory=dict)
    # Answer every issues request with this status instead (503: GitHub unavailable; 410: Issues
    # off, as GitHub answers a repository whose Issues are disabled).
    failing: int | None = None

    def handle(self, method: str, path: str, body: bytes) -> tuple[int, bytes] | None:
        path, _, query = path.partition("?")
        base = f"/repos/{self.repository}/issues"
        if not path.startswith(base):
            return None
        if self.failing is not None:
            said = "Issues are disabled for this repo" if self.failing == 410 else "Unavailable"
            return self.failing, json.dumps({"message": said}).encode()
        rest = path.removeprefix(base).strip("/").split("/")
        sent = json.loads(body) if body else {}
        if rest == [""]:
            if method == "POST":
                return 201, json.dumps(self._opened(sent)).encode()
            return 200, json.dumps(self._listed(dict(urllib.parse.parse_qsl(query)))).encode()
        number = int(rest[0])
        if rest[1:] == ["comments"]:
            self.comments.setdefault(number, []).append(sent["body"])
            return 201, json.dumps({"id": len(self.comments[number]), **sent}).encode()
        self.issues[number - 1].update(sent)  # PATCH
        return 200, json.dumps(self.issues[number - 1]).encode()

    def _listed(self, query: dict[str, str]) -> list[dict[str, Any]]:
        state = query.get("state", "open")
        labels = set(filter(None, query.get("labels", "").split(",")))
        return [
            issue
            for issue in reversed(self.issues)  # newest first, as GitHub sorts by default
            if state in ("all", issue["state"])
            and labels <= {label["name"] for label in issue["labels"]}
        ]

    def _opened(self, sent: dict[str, Any]) -> dict[str, Any]:
        issue = {
            "number": len(self.issues) + 1,
            "title": sent["title"],
            "body": sent.get("body", ""),
            # GitHub makes a label the issue names that the repository lacks.
            "labels": [{"name": name} for name in sent.get("labels", [])],
            "state": "open",
        }
        self.issues.append(issue)
        return issue

    def open(self) -> list[dict[str, Any]]:
        return [issue for issue in self.issues if issue["state"] == "open"]
