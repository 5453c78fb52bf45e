"""The release workflow's runs as GitHub's REST API shows them: one started on a ref, waited for,
and what failed in it; and the schedule kept on. A start whose answer is lost (GitHub may have
acted) looks for the run it may have started before it starts another; a wait keeps waiting
through GitHub failing transiently, until the run ends or the job's time runs out."""

from __future__ import annotations

import sys
import time
import urllib.parse
from typing import Any

from tools.release.github import GitHub, GitHubError
from tools.release.retry import retried

WORKFLOW = "/actions/workflows/release.yml"


def start(github: GitHub, ref: str, inputs: dict[str, str] | None = None) -> dict[str, Any]:
    """The run GitHub started of the release on `ref` (its `workflow_run_id` and `html_url`, as
    "Create a workflow dispatch event" answers with `return_run_details`)."""
    before = _dispatched(github, ref)
    body = {"ref": ref, "inputs": inputs or {}, "return_run_details": True}
    tried: list[bool] = []

    def once() -> dict[str, Any]:
        if tried:  # the last try's answer lost: GitHub may have started the run all the same
            lost = [run for key, run in _dispatched(github, ref).items() if key not in before]
            if lost:
                return {"workflow_run_id": lost[-1]["id"], "html_url": lost[-1].get("html_url")}
        tried.append(True)
        return github.call("POST", f"{WORKFLOW}/dispatches", body, "actions: write")

    return retried(once, lambda outcome: isinstance(outcome, GitHubError) and outcome.transient)


def _dispatched(github: GitHub, ref: str) -> dict[int, dict[str, Any]]:
    """The release's runs started by hand or by a dispatch on `ref`, newest first, by id."""
    branch = urllib.parse.quote(ref.removeprefix("refs/tags/").removeprefix("refs/heads/"))
    path = f"{WORKFLOW}/runs?event=workflow_dispatch&branch={branch}&per_page=20"
    listed = github.get(path, "actions: read").get("workflow_runs") or []
    return {int(run["id"]): run for run in listed}


def wait(github: GitHub, run: int, interval: float) -> str:
    """What the run `run` ended with, once it has, asked every `interval` seconds; GitHub failing
    transiently is said and waited through. ValueError naming its first failed job and its last
    words where it did not succeed."""
    path = f"/actions/runs/{run}"
    while True:
        try:
            shown = github.get(path, "actions: read")
        except GitHubError as error:
            if not error.transient:
                raise
            print(f"::warning title=release wait::{error}; still waiting", file=sys.stderr)
            shown = {}
        if shown.get("status") == "completed":
            break
        time.sleep(interval)
    url, ended = shown.get("html_url"), shown.get("conclusion")
    if ended == "success":
        return f"the release {url} succeeded"
    raise ValueError(
        f"the release {url} ended {ended}: {first_failed(github, run)}. "
        "Where it says re-run, the next scheduled run does; where it names a fix, make it "
        "(docs/release.md, 'The one issue')"
    )


def first_failed(github: GitHub, run: int) -> str:
    """A run's first failed job and the last of its error annotations (GitHub's own "Process
    completed with exit code" aside)."""
    jobs = github.get(f"/actions/runs/{run}/jobs?filter=latest", "actions: read").get("jobs")
    job = next((job for job in jobs or [] if job.get("conclusion") == "failure"), None)
    if job is None:
        return "(none failed)"
    notes = github.listed(f"/check-runs/{job['id']}/annotations", "checks: read")
    said = [str(note.get("message")) for note in notes if note.get("annotation_level") == "failure"]
    said = [each for each in said if "Process completed with exit code" not in each]
    last = said[-1][-300:] if said else "nothing on the run's page: read the job's log"
    return f"{job.get('name')}: {last}"


def failed_since(github: GitHub, since: str) -> str:
    """The release runs that failed since `since` (the ten newest where unsaid), each with its
    first failed job and that job's last words, in a Markdown list."""
    after = f"&created={urllib.parse.quote(f'>={since}')}" if since else ""
    path = f"{WORKFLOW}/runs?status=failure&per_page=10{after}"
    failed = ["The release runs that failed since:"]
    try:
        for run in github.get(path, "actions: read").get("workflow_runs") or []:
            said = first_failed(github, run["id"])
            failed.append(f"- {run.get('html_url')} ({run.get('event')}): {said}")
    except GitHubError as error:
        return f"The release runs that failed could not be listed: {error}"
    return "\n".join(failed) if failed[1:] else "No release run failed since"


def keep_alive(github: GitHub) -> str:
    """Enable the release workflow while it is active: GitHub's count of 60 days without activity
    starts again; a workflow a person disabled, or GitHub did, is left as it is."""
    state = github.get(WORKFLOW, "actions: read").get("state")
    if state != "active":
        return f"release.yml is {state}: left as it is (its page's button enables it)"
    github.call("PUT", f"{WORKFLOW}/enable", permission="actions: write")
    return "release.yml enabled again: GitHub's 60 days without activity count from now"
