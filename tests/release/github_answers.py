"""GitHub's REST answers for a repository set up as docs/release.md says (set-up steps 5 and 6)."""

from __future__ import annotations

import json

from tools.release.environment import TAG_RULE

# An active tag ruleset keeping every release tag the release's own.
RULESET = {
    "id": 7,
    "name": "release tags",
    "target": "tag",
    "enforcement": "active",
    "conditions": {"ref_name": {"include": ["refs/tags/v*"], "exclude": []}},
    "rules": [{"type": "creation"}, {"type": "update"}, {"type": "deletion"}],
}


def answer_environment(server) -> None:
    """The production environment admitting exactly main and the release tags."""
    server.answer(200, json.dumps({"deployment_branch_policy": {"custom_branch_policies": True}}))
    policies = [{"name": "main", "type": "branch"}, {"name": TAG_RULE, "type": "tag"}]
    server.answer(200, json.dumps({"branch_policies": policies}))


def answer_rulesets(server, rulesets: list[dict]) -> None:
    """The list of the repository's tag rulesets, then each one."""
    server.answer(200, json.dumps([{"id": r["id"], "target": "tag"} for r in rulesets]))
    for ruleset in rulesets:
        server.answer(200, json.dumps(ruleset))
