"""The repository's settings as `.github/settings/` commits them, in the shapes GitHub's REST API
takes (a file's path is its endpoint's below the repository), and what GitHub lacks of them, each
a line in place or a change: `setup` makes the changes, and the release's rules check refuses a
repository that needs one, whose environments admit more than their files say, whose tag ruleset
is not as its file says, or whose rulesets keep the release's deploy key from making its tags
(docs/release.md)."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from tools.release.github import GitHub, GitHubError
from tools.release.render import DeployError

SETTINGS = Path(__file__).resolve().parents[2] / ".github" / "settings"
# The release creates its tags with a deploy key (a personal account's repository admits no
# other bypass actor but a deploy key, and an organisation's takes it as well), its private half
# the secret TAG_KEY_SECRET of the environment TAG_ENVIRONMENT.
TAG_KEY_SECRET = "RELEASE_TAG_KEY"
TAG_ENVIRONMENT = "release-tags"
ENVIRONMENTS = ("production", TAG_ENVIRONMENT)
DEPLOY_KEYS = "'Deploy keys'"  # the bypass list's entry
SET_UP = "docs/release.md, 'Set it up on a fork'"
RELEASE_TAG_REFS = ("refs/tags/v0.1.0", "refs/tags/v10.20.30")  # a low and a high release tag


@cache
def setting(path: str) -> Any:
    """The committed setting `path` (.github/settings/<path>.json), as GitHub's API takes it."""
    return json.loads((SETTINGS / f"{path}.json").read_text())


TAG_RULESET = setting("rulesets/release-tags")
# The rule admitting the release tags, on which every release runs. GitHub matches it with Ruby's
# File.fnmatch: `v1.2.3`, `v10.0.12`.
POLICIES = "deployment-branch-policies"  # an environment's: the refs it admits
[TAG_RULE] = [policy["name"] for policy in setting(f"environments/production/{POLICIES}")]


@dataclass
class Change:
    said: str
    make: Callable[[], object] | None = None  # None: by hand (setup leaves it to the owner)


# What is found of a setting: a line where it is in place, else each change that makes it.
Found = list[str | Change]
# What makes a change: apply(method, path below the repository, a setting's name or the fields).
Apply = Callable[..., Callable[[], object]]


def lacks(held: Any, wanted: Any) -> bool:
    """Whether GitHub's answer `held` lacks what the setting `wanted` says: every key of a
    mapping, as many items of a list in any order, every value as it is."""
    if isinstance(wanted, dict):
        return not isinstance(held, dict) or any(lacks(held.get(k), v) for k, v in wanted.items())
    if isinstance(wanted, list):
        return (
            not isinstance(held, list)
            or len(held) != len(wanted)
            or any(all(lacks(item, want) for item in held) for want in wanted)
        )
    return bool(held != wanted)


def drift(held: dict[str, Any] | None, wanted: dict[str, Any]) -> list[str]:
    """The keys of `wanted` whose value `held` lacks (["missing"]: nothing held); a ruleset's
    bypass list GitHub does not show (to a token that may not edit the ruleset) is not judged."""
    if held is None:
        return ["missing"]
    shown = {"bypass_actors": wanted.get("bypass_actors"), **held}
    return [key for key, value in wanted.items() if lacks(shown.get(key), value)]


def environment(github: GitHub, name: str, apply: Apply) -> Found:
    """The environment `name` admitting exactly the refs its settings say."""
    file, path = f"environments/{name}", f"/environments/{name}"
    policies, wanted = f"{path}/{POLICIES}", setting(f"{file}/{POLICIES}")
    held = github.get_or_none(path, "actions: read")
    found: Found = []
    listed: list[dict[str, Any]] = []
    if drift(held, setting(file)):
        said = f"the {name} environment: deployment branches and tags 'Selected'"
        found.append(Change(f"{'correct' if held else 'create'} {said}", apply("PUT", path, file)))
    else:
        listed = github.listed(policies, "actions: read", "branch_policies")
    found += [
        Change(
            f"let the {want['type']} {want['name']!r} deploy to {name}",
            apply("POST", policies, want),
        )
        for want in wanted
        if all(lacks(item, want) for item in listed)
    ]
    found += [
        Change(
            f"stop the {item.get('type')} {item.get('name')!r} deploying to {name}",
            apply("DELETE", f"{policies}/{item.get('id')}"),
        )
        for item in listed
        if all(lacks(item, want) for want in wanted)
    ]
    admits = " and ".join(f"the {want['type']} {want['name']!r}" for want in wanted)
    return found or [f"environment {name}: only {admits} may enter"]


def rulesets(github: GitHub, target: str) -> list[dict[str, Any]]:
    """The rulesets that apply to the repository's `target` refs (its owner's too), each whole."""
    listed = github.listed(f"/rulesets?includes_parents=true&targets={target}", "metadata: read")
    return [
        github.get(f"/rulesets/{int(item['id'])}", "metadata: read")
        for item in listed
        if item.get("target", target) == target
    ]


def ruleset(file: str, held: list[dict[str, Any]], apply: Apply) -> Found:
    """The ruleset rulesets/<file>.json, made beside any other: one the owner made, though
    named the same, is never replaced."""
    wanted = setting(f"rulesets/{file}")
    own = [r for r in held if r.get("source_type", "Repository") == "Repository"]
    found = next((r for r in own if r.get("name") == wanted["name"]), None)
    differs = drift(found, wanted)
    what = f"the {wanted['target']} ruleset {wanted['name']!r}, as rulesets/{file}.json says"
    if found is None:
        return [Change(f"create {what}", apply("POST", "/rulesets", f"rulesets/{file}"))]
    if differs:
        said = f"correct {what} (its {', '.join(differs)} differ)"
        return [Change(said, apply("PUT", f"/rulesets/{found['id']}", f"rulesets/{file}"))]
    return [what]


def restricting_creation(ruleset: dict[str, Any]) -> bool:
    """Whether an active tag ruleset keeps every release tag from being created."""
    names = (ruleset.get("conditions") or {}).get("ref_name") or {}
    matches = [
        any(p == "~ALL" or fnmatch.fnmatchcase(ref, p) for p in names.get("include") or [])
        and not any(p == "~ALL" or fnmatch.fnmatchcase(ref, p) for p in names.get("exclude") or [])
        for ref in RELEASE_TAG_REFS
    ]
    active = ruleset.get("target") == "tag" and ruleset.get("enforcement") == "active"
    rules = {rule.get("type") for rule in ruleset.get("rules") or []}
    return active and all(matches) and "creation" in rules


def tag_rules(github: GitHub, apply: Apply, make_key: Callable[[], object]) -> Found:
    """The tag ruleset as its file says; no other ruleset keeping the deploy key from creating
    release tags; and the deploy key, its private half the secret TAG_KEY_SECRET."""
    held = rulesets(github, "tag")
    found = ruleset("release-tags", held, apply)
    hidden = []
    for other in filter(restricting_creation, held):
        name, actors = repr(str(other.get("name"))), other.get("bypass_actors")
        bypass = {(a.get("actor_type"), a.get("bypass_mode", "always")) for a in actors or []}
        if actors is None:
            hidden.append(name)
        elif not bypass & {("DeployKey", "always"), ("DeployKey", "exempt")} and name != repr(
            TAG_RULESET["name"]
        ):
            found.append(
                Change(
                    f"the tag ruleset {name}, which setup did not make, restricts creating "
                    f"release tags and lets none of {DEPLOY_KEYS} bypass it, so GitHub refuses "
                    f"the release's tags: in Settings -> Rules -> Rulesets -> {name} -> Bypass "
                    f"list, add {DEPLOY_KEYS}; setup leaves it as it is"
                )
            )
    if hidden:
        found.append(
            f"the bypass list of {', '.join(hidden)} is not shown to this token (GitHub shows it "
            "to those who may edit the ruleset): not checked here; `python -m tools.release "
            "rules` run with an administrator's token checks it"
        )
    return found + deploy_key(github, make_key)


def deploy_key(github: GitHub, make: Callable[[], object]) -> Found:
    """A deploy key that may write, its private half the release-tags environment's secret."""
    try:
        keys = github.listed("/keys")
        names = github.secrets(f"/environments/{TAG_ENVIRONMENT}")
    except GitHubError as error:
        if error.transient or error.status not in (403, 404):  # GitHub shows this token neither
            raise
        return [
            f"deploy keys and the {TAG_ENVIRONMENT} environment's secrets are not shown to this "
            "token (an administrator's token sees them): not checked here"
        ]
    if TAG_KEY_SECRET in names and any(key.get("read_only") is False for key in keys):
        return [f"a deploy key with write access, its private half in {TAG_KEY_SECRET}"]
    said = (
        f"make a deploy key with write access and store its private half in the "
        f"{TAG_ENVIRONMENT} secret {TAG_KEY_SECRET} (never written to disk; any setup made "
        "before is deleted)"
    )
    return [Change(said, make)]


def unmade(*_: object) -> Callable[[], object]:
    """A check's Apply: it makes nothing."""
    return lambda: None


def check(found: Found) -> list[str]:
    """The lines of what is in place; DeployError naming every change still needed."""
    changes = [item.said for item in found if isinstance(item, Change)]
    if changes:
        raise DeployError(
            "GitHub does not hold the release's rules as .github/settings/ says (without them a "
            "ref that is not the release's could read its secrets or make a release tag, or the "
            f"release could not make its own): {'; and '.join(changes)}. `python -m tools.release "
            f"setup` makes them, naming what it leaves to you ({SET_UP})"
        )
    return [item for item in found if isinstance(item, str)]


def check_rules(github: GitHub) -> list[str]:
    """The deploy's check of the repository's rules: its environments and tag rules."""
    found = [item for name in ENVIRONMENTS for item in environment(github, name, unmade)]
    return check(found + tag_rules(github, unmade, lambda: None))
