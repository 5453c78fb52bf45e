"""Keep the release's schedule on, leaving a workflow a maintainer disabled alone."""

from __future__ import annotations

import urllib.parse

from tools.release.github import GitHub

PERMISSION = "actions: write"
# GitHub's workflow states (REST API, "Get a workflow"): only these two are the schedule's to
# keep on. `disabled_manually` is a maintainer's decision; `disabled_fork` and `deleted` are not
# the release's to undo either.
RENEWED = ("active", "disabled_inactivity")


def keep_alive(github: GitHub, workflow: str) -> str:
    """Re-enable `workflow` unless someone disabled it; what was done, as a line for the log."""
    path = f"/actions/workflows/{urllib.parse.quote(workflow, safe='')}"
    state = str(github.get(path, PERMISSION).get("state"))
    if state not in RENEWED:
        return (
            f"{workflow} is {state}: left as it is (a maintainer turns it back on with "
            f"`gh workflow enable {workflow}`)"
        )
    github.call("PUT", f"{path}/enable", permission=PERMISSION)
    return f"{workflow} was {state}: enabled, which restarts GitHub's 60-day inactivity count"
