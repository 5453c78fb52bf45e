"""GitHub's REST answers in the shapes its API documents: a list, page by page, and the release
workflow's failed runs with their jobs and annotations (a repository as setup leaves it:
tests/release/github_fork.py)."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

REPOSITORY = "octo/cryptopredict"


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
