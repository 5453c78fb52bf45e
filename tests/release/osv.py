"""OSV's vulnerability API as pip-audit asks it (PIP_AUDIT_VULNERABILITY_SERVICE=osv, at
PIP_AUDIT_OSV_URL): `POST /v1/query` with `{"package": {"name", "ecosystem"}, "version"}`,
answered in OSV's schema with the advisories a test publishes (`{}` for a version none names),
for the test server's `handler`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

QUERY = "/v1/query"


def advisory(
    identifier: str, package: str, version: str, fixed: str, aliases: tuple[str, ...] = ()
) -> dict[str, Any]:
    """An OSV record naming `version` of `package` affected, fixed in `fixed`."""
    events = [{"introduced": "0"}, {"fixed": fixed}]
    return {
        "schema_version": "1.6.0",
        "id": identifier,
        "aliases": list(aliases),
        "summary": f"{package} before {fixed} lets an attacker in",
        "published": "2026-11-20T10:00:00Z",
        "affected": [
            {
                "package": {"name": package, "ecosystem": "PyPI"},
                "ranges": [{"type": "ECOSYSTEM", "events": events}],
                "versions": [version],
            }
        ],
    }


@dataclass
class Feed:
    published: list[dict[str, Any]] = field(default_factory=list)

    def handle(self, method: str, path: str, body: bytes) -> tuple[int, bytes] | None:
        if (method, path) != ("POST", QUERY):
            return None
        query = json.loads(body)
        name, version = query["package"]["name"], query["version"]
        vulns = [
            record
            for record in self.published
            for affected in record["affected"]
            if affected["package"]["name"] == name and version in affected["versions"]
        ]
        return 200, json.dumps({"vulns": vulns} if vulns else {}).encode()
