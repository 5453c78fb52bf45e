"""Say it where the owner looks: the run's job summary, and ONE repository issue kept up to date,
a section a topic (docs/release.md, "The one issue"). The summary is written first; GitHub failing
transiently is a warning, GitHub refusing to write the issue (Issues off) fails the job, so that
GitHub's own mail of a failed run tells the owner."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tools.release.github import GitHub, GitHubError

LABEL = "release-attention"
TITLE = "The release needs you"
PREAMBLE = (
    "The release workflow keeps this issue up to date: each section is something a run could "
    "not heal by itself. A section changes when what it says changes (with a comment), goes "
    "when a run heals it, and the issue closes when none is left; what each says and the one "
    'thing to do: docs/release.md, "When a run fails".\n'
)
_SECTION = re.compile(
    r"<!-- topic: (?P<topic>[\w-]+) -->\n### (?P=topic)\n\n(?P<text>.*?)\n"
    r"<!-- said: (?P<run>[^>]*) -->\n",
    re.DOTALL,
)


def sections(body: str) -> dict[str, tuple[str, str]]:
    """topic: (text, the run that said it), as the issue's body holds them."""
    return {m["topic"]: (m["text"], m["run"]) for m in _SECTION.finditer(body)}


def body_of(held: Mapping[str, tuple[str, str]]) -> str:
    parts = [PREAMBLE]
    for topic, (text, run) in held.items():
        parts.append(f"<!-- topic: {topic} -->\n### {topic}\n\n{text}\n<!-- said: {run} -->\n")
    return "\n".join(parts)


def keep(github: GitHub, topic: str, text: str, run: str) -> str:
    """Bring the one issue up to date with `topic` needing the owner (`text`) or healed (empty
    `text`), said by the run at `run` (its URL); what was done, in a line."""
    text = text.strip()
    found = github.listed(f"/issues?labels={LABEL}&state=open", "issues: read")
    issue = next((i for i in found if isinstance(i, dict) and "pull_request" not in i), None)

    def call(method: str, path: str, body: dict[str, Any]) -> Any:
        return github.call(method, f"/issues{path}", body, "issues: write")

    held = {} if issue is None else sections(str(issue.get("body") or ""))
    if not text:
        if issue is None or topic not in held:
            return f"{topic}: nothing to heal"
        del held[topic]
        number = issue["number"]
        call("POST", f"/{number}/comments", {"body": f"Healed: {topic}, by {run}."})
        closed = {} if held else {"state": "closed", "state_reason": "completed"}
        call("PATCH", f"/{number}", {"body": body_of(held), **closed})
        left = f"still holds {', '.join(held)}" if held else "closed: nothing else needs you"
        return f"{topic}: healed (issue #{number} {left})"
    changed = held.get(topic, ("", ""))[0] != text
    hello = "" if topic in held else f"@{github.repository.split('/')[0]} "  # mailed once a topic
    held[topic] = (text, run)
    if issue is None:
        body = {"title": TITLE, "body": hello + body_of(held), "labels": [LABEL]}
        return f"{topic}: said in issue #{call('POST', '', body).get('number')}, opened"
    number = issue["number"]
    call("PATCH", f"/{number}", {"body": body_of(held)})
    if not changed:
        return f"{topic}: still said in issue #{number}"
    call("POST", f"/{number}/comments", {"body": f"{hello}**{topic}** ({run}):\n\n{text}"})
    return f"{topic}: said in issue #{number}, updated"


def tell(environ: Mapping[str, str], topic: str, text: str) -> str:
    """Write the job summary (first: GitHub may fail), then keep the issue; what was done, or a
    warning line where GitHub could not be asked or nothing was to be said; GitHubError where
    GitHub refused to say it."""
    run = run_url(environ)
    if text.strip():
        _summary(
            environ,
            f"### Needs you: {topic}\n\n{text.strip()}\n\n(Said in the issue "
            f"labelled `{LABEL}` too.)\n",
        )
    github = GitHub.from_environ(environ)
    try:
        done = keep(github, topic, text, run)
    except GitHubError as error:
        if error.transient or not text.strip():
            return f"::warning title=release issue::{topic} could not be said in the issue: {error}"
        raise GitHubError(
            f"{topic} could not be said in the issue labelled {LABEL}: {error}. Turn Issues on "
            "(Settings -> General -> Features -> Issues, or `python -m tools.release setup`) or "
            "give the job `issues: write`; the job summary says it meanwhile"
        ) from None
    if not text.strip() and "healed" in done:
        _summary(environ, f"**Healed**: {done}.\n")
    return done


def run_url(environ: Mapping[str, str]) -> str:
    """The page of the run this job is part of."""
    server = environ.get("GITHUB_SERVER_URL", "https://github.com")
    repository = environ.get("GITHUB_REPOSITORY", "")
    return f"{server}/{repository}/actions/runs/{environ.get('GITHUB_RUN_ID', '')}"


def _summary(environ: Mapping[str, str], markdown: str) -> None:
    path = environ.get("GITHUB_STEP_SUMMARY")
    if path:
        with Path(path).open("a") as file:
            file.write(markdown)
