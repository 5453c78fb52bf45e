"""The repository's settings as `.github/settings/` commits them, in the shapes GitHub's REST API
takes (a file's path is its endpoint's below the repository), and the check that GitHub holds
them: the deploy refuses a repository whose `production` environment admits more than the release
tags, whose `release-tags` environment (the tag key's) admits more than main, or whose rulesets
let another than the release make its tags (docs/release.md). `setup` applies the same files."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from tools.release.github import GitHub, GitHubError
from tools.release.render import DeployError

SETTINGS = Path(__file__).resolve().parents[2] / ".github" / "settings"
PERMISSION = "metadata: read"
# The release creates its tags with a deploy key (a personal account's repository admits no
# other bypass actor but a deploy key, and an organisation's takes it as well), its private half
# the secret TAG_KEY_SECRET of the environment TAG_ENVIRONMENT.
TAG_KEY_SECRET = "RELEASE_TAG_KEY"
TAG_ENVIRONMENT = "release-tags"
DEPLOY_KEYS = "'Deploy keys'"  # the bypass list's entry
SET_UP = "docs/release.md, 'Set it up on a fork'"
RELEASE_TAG_REFS = ("refs/tags/v0.1.0", "refs/tags/v10.20.30")  # a low and a high release tag


@cache
def setting(path: str) -> Any:
    """The committed setting `path` (.github/settings/<path>.json), as GitHub's API takes it."""
    return json.loads((SETTINGS / f"{path}.json").read_text())


def admits(environment: str) -> set[tuple[str, str]]:
    """(type, pattern) of each ref the environment's deployment policies admit."""
    listed = setting(f"environments/{environment}/deployment-branch-policies")
    return {(str(policy["type"]), str(policy["name"])) for policy in listed}


ENVIRONMENTS = ("production", TAG_ENVIRONMENT)
# The rule admitting the release tags, on which every release runs. GitHub matches it with Ruby's
# File.fnmatch: `v1.2.3`, `v10.0.12`.
[(_, TAG_RULE)] = admits("production")
TAG_RULESET = setting("rulesets/release-tags")


def shape(ruleset: dict[str, Any]) -> dict[str, Any]:
    """What a ruleset holds, as GitHub answers it or the file says it: order and ids aside; its
    bypass list None where GitHub does not show it (to a token that may not edit it)."""
    names = (ruleset.get("conditions") or {}).get("ref_name") or {}
    actors = ruleset.get("bypass_actors")
    return {
        "target": ruleset.get("target"),
        "enforcement": ruleset.get("enforcement"),
        "refs": (sorted(names.get("include") or []), sorted(names.get("exclude") or [])),
        "rules": sorted(str(rule.get("type")) for rule in ruleset.get("rules") or []),
        "bypass": None
        if actors is None
        else sorted(
            (str(a.get("actor_type")), str(a.get("bypass_mode", "always"))) for a in actors
        ),
    }


def drift(held: dict[str, Any] | None, wanted: dict[str, Any]) -> list[str]:
    """What `held` (the repository's ruleset of `wanted`'s name, if any) lacks of `wanted`: [] when
    nothing; a bypass list GitHub does not show is not judged."""
    if held is None:
        return ["missing"]
    have, want = shape(held), shape(wanted)
    return [key for key in want if have[key] != want[key] and have[key] is not None]


def named(rulesets: Iterable[dict[str, Any]], name: str) -> dict[str, Any] | None:
    """The repository's own ruleset named `name` (not its owner's), if any."""
    own = [r for r in rulesets if r.get("source_type", "Repository") == "Repository"]
    return next((r for r in own if r.get("name") == name), None)


def restricting_creation(ruleset: dict[str, Any]) -> bool:
    """Whether an active tag ruleset keeps every release tag from being created."""
    names = (ruleset.get("conditions") or {}).get("ref_name") or {}
    matches = [
        any(p == "~ALL" or fnmatch.fnmatchcase(ref, p) for p in names.get("include") or [])
        and not any(p == "~ALL" or fnmatch.fnmatchcase(ref, p) for p in names.get("exclude") or [])
        for ref in RELEASE_TAG_REFS
    ]
    active = ruleset.get("target") == "tag" and ruleset.get("enforcement") == "active"
    return active and all(matches) and "creation" in shape(ruleset)["rules"]


@dataclass(frozen=True)
class Bypass:
    """What the bypass lists of the rulesets restricting release tag creation say."""

    hidden: list[str] = field(default_factory=list)  # rulesets whose list this token cannot see
    closed: list[str] = field(default_factory=list)  # rulesets the deploy key may not bypass


def bypass_of(rulesets: Iterable[dict[str, Any]]) -> Bypass:
    """Tag rulesets the deploy key may not bypass, and those whose bypass list is hidden."""
    found = Bypass()
    for ruleset in filter(restricting_creation, rulesets):
        name = repr(str(ruleset.get("name")))
        actors = shape(ruleset)["bypass"]
        if actors is None:
            found.hidden.append(name)
        elif not {("DeployKey", "always"), ("DeployKey", "exempt")} & set(actors):
            found.closed.append(name)
    return found


def read_rulesets(github: GitHub, *, target: str = "tag") -> list[dict[str, Any]]:
    """The rulesets that apply to the repository's `target` refs; DeployError if unread."""
    try:
        listed = github.listed(f"/rulesets?includes_parents=true&targets={target}", PERMISSION)
        return [
            github.get(f"/rulesets/{int(item['id'])}", PERMISSION)
            for item in listed
            if isinstance(item, dict) and item.get("target", target) == target
        ]
    except (GitHubError, KeyError, TypeError, ValueError) as error:
        raise DeployError(
            f"the repository's {target} rulesets could not be read: {error}"
        ) from None


def check_tag_rules(github: GitHub) -> list[str]:
    """DeployError naming every problem unless the tag ruleset is as .github/settings/ says and
    the deploy key may create release tags; else what was checked, in lines."""
    rulesets = read_rulesets(github)
    said: list[str] = []
    problems: list[str] = []
    name = repr(TAG_RULESET["name"])
    differs = drift(named(rulesets, TAG_RULESET["name"]), TAG_RULESET)
    if differs:
        problems.append(
            f"the tag ruleset {name} is not as .github/settings/rulesets/release-tags.json says "
            f"({', '.join(differs)}): anyone who can push could make a release tag, and a run on "
            f"it reads the deploy hook; `python -m tools.release setup` makes it ({SET_UP})"
        )
    else:
        said.append(f"release tags: only the release creates, moves or deletes them ({name})")
    bypass = bypass_of(rulesets)
    problems += [
        f"the tag ruleset {closed} restricts creating release tags and lets none of "
        f"{DEPLOY_KEYS} bypass it, so GitHub refuses the release's own tag. In Settings -> "
        f"Rules -> Rulesets -> {closed} -> Bypass list, add {DEPLOY_KEYS} ({SET_UP})"
        for closed in bypass.closed
    ]
    if bypass.hidden:
        said.append(
            f"the bypass list of {', '.join(bypass.hidden)} is not shown to this token (GitHub "
            "shows it to those who may edit the ruleset): not checked here; `python -m "
            "tools.release rules` run with an administrator's token checks it"
        )
    elif not problems:
        said.append(f"{DEPLOY_KEYS} may create the release tags")
    seen = keys_and_secrets(replace(github, environment=TAG_ENVIRONMENT))
    if seen is None:
        said.append(
            f"deploy keys and the {TAG_ENVIRONMENT} environment's secrets are not shown to this "
            "token (an administrator's token sees them): not checked here"
        )
    else:
        problems += deploy_key_problems(*seen)
    if problems:
        raise DeployError("; and ".join(problems))
    return said


def keys_and_secrets(github: GitHub) -> tuple[list[Any], set[str]] | None:
    """The deploy keys and the environment's secret names, or None where hidden."""
    try:
        keys = github.listed("/keys")
        secrets = github.listed(f"{github.env_path}/secrets", key="secrets")
    except GitHubError as error:
        if error.status not in (403, 404):  # GitHub shows this token neither
            raise DeployError(f"the repository's deploy keys could not be read: {error}") from None
        return None
    return keys, {str(s.get("name")) for s in secrets if isinstance(s, dict)}


def deploy_key_problems(keys: list[Any], names: set[str]) -> list[str]:
    """A deploy key that may write, and its private half among the environment's secrets."""
    problems = []
    if not any(isinstance(key, dict) and key.get("read_only") is False for key in keys):
        problems.append(
            "the repository has no deploy key with write access for the release to create its "
            "tags with: `python -m tools.release setup` makes one (by hand: Settings -> Deploy "
            f"keys, with 'Allow write access'; {SET_UP})"
        )
    if TAG_KEY_SECRET not in names:
        problems.append(
            f"the {TAG_ENVIRONMENT} environment has no secret {TAG_KEY_SECRET}, the deploy key's "
            f"private half: `python -m tools.release setup` makes a new key and stores it there "
            f"({SET_UP})"
        )
    return problems


@dataclass
class Change:
    said: str
    make: Callable[[], object] | None = None  # None: by hand (setup leaves it to the owner)


def environment_changes(github: GitHub, apply: Callable[..., Callable[[], object]]) -> list[Change]:
    """What makes `github.environment` admit exactly what its settings say (none: it does);
    `apply(method, path, file or fields)` makes each change."""
    name, path = github.environment, github.env_path
    policies = f"{path}/deployment-branch-policies"
    environment = github.get_or_none(path, "actions: read")
    rule = (environment or {}).get("deployment_branch_policy") or {}
    found, held = [], {}
    if not rule.get("custom_branch_policies") or rule.get("protected_branches"):
        verb = "correct" if environment else "create"
        said = f"{verb} the {name} environment: deployment branches and tags 'Selected'"
        found.append(Change(said, apply("PUT", path, f"environments/{name}")))
    else:
        kept = github.listed(policies, "actions: read", "branch_policies")
        held = {(str(p.get("type", "branch")), str(p.get("name"))): p for p in kept}
    wanted = admits(name)
    for kind, pattern in sorted(wanted - held.keys()):
        said = f"let the {kind} {pattern!r} deploy to {name}"
        found.append(Change(said, apply("POST", policies, {"name": pattern, "type": kind})))
    for kind, pattern in sorted(held.keys() - wanted):
        said, gone = f"stop the {kind} {pattern!r} deploying to {name}", held[(kind, pattern)]
        found.append(Change(said, apply("DELETE", f"{policies}/{gone.get('id')}")))
    return found


def check_environment(github: GitHub) -> str:
    """DeployError unless `github.environment` admits exactly what its settings say."""
    name = github.environment
    try:
        changes = environment_changes(github, lambda *_: lambda: None)
    except GitHubError as error:
        raise DeployError(str(error)) from None
    said = " and ".join(f"the {kind} {pattern!r}" for kind, pattern in sorted(admits(name)))
    if changes:
        raise DeployError(
            f"the {name!r} environment holds a secret of the release but admits more or other "
            f"than {said} (an environment a job names is created by GitHub, without rules, "
            f"when it does not exist): {'; '.join(change.said for change in changes)}. "
            f"In Settings -> Environments -> {name}, set 'Deployment branches and tags' to "
            f"'Selected branches and tags' with only that rule; `python -m tools.release setup "
            f"--repository {github.repository}` sets it (docs/release.md, 'Set it up on a fork')"
        )
    return f"environment {name}: only {said} may enter"


def check_environments(github: GitHub) -> list[str]:
    """check_environment of every environment holding a secret of the release."""
    return [check_environment(replace(github, environment=name)) for name in ENVIRONMENTS]
