"""Refuse to deploy unless the `production` environment admits only the release tags, the
`release-tags` environment (the tag key's) only main, and a tag ruleset keeps release tags the
release's own (docs/release.md)."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from tools.release.github import GitHub, GitHubError
from tools.release.render import DeployError

# The rules a tag ruleset must hold, and tags it must cover (a low and a high release tag).
REQUIRED_RULES = frozenset({"creation", "update", "deletion"})
RELEASE_TAG_REFS = ("refs/tags/v0.1.0", "refs/tags/v10.20.30")
# The rules a branch ruleset keeps `main` with (no deletion, no force push), and its ref.
BRANCH_RULES = frozenset({"deletion", "non_fast_forward"})
MAIN_REF = "refs/heads/main"
PERMISSION = "metadata: read"

# The release creates its tags with a deploy key (a personal account's repository admits no
# other bypass actor but a deploy key, and an organisation's takes it as well), its private half
# the secret TAG_KEY_SECRET of the environment TAG_ENVIRONMENT.
TAG_KEY_SECRET = "RELEASE_TAG_KEY"
TAG_ENVIRONMENT = "release-tags"
DEPLOY_KEYS = "'Deploy keys'"  # the bypass list's entry
SET_UP = "docs/release.md, 'Set it up on a fork'"
# The rule admitting the release tags, on which every release runs. GitHub matches it with Ruby's
# File.fnmatch: `v1.2.3`, `v10.0.12`.
TAG_RULE = "v[0-9]*.[0-9]*.[0-9]*"
# What each environment admits: production (the deploy hook) the release tags, release-tags (the
# key that creates them) main.
ENVIRONMENTS = {"production": {("tag", TAG_RULE)}, TAG_ENVIRONMENT: {("branch", "main")}}


def covers_release_tags(ruleset: dict[str, Any]) -> bool:
    """Whether an active tag ruleset applies to every release tag (`refs/tags/vX.Y.Z`)."""
    return _covers(ruleset, "tag", RELEASE_TAG_REFS)


def covers_main(ruleset: dict[str, Any]) -> bool:
    return _covers(ruleset, "branch", (MAIN_REF,))


def _covers(ruleset: dict[str, Any], target: str, refs: Iterable[str]) -> bool:
    if ruleset.get("target") != target or ruleset.get("enforcement") != "active":
        return False
    names = (ruleset.get("conditions") or {}).get("ref_name") or {}
    include = names.get("include") or []
    exclude = names.get("exclude") or []
    return all(_matches(ref, include) and not _matches(ref, exclude) for ref in refs)


def _rule_types(ruleset: dict[str, Any]) -> set[str]:
    return {str(rule.get("type")) for rule in ruleset.get("rules") or []}


def missing_tag_rules(rulesets: Iterable[dict[str, Any]]) -> set[str]:
    """The REQUIRED_RULES no active ruleset covering every release tag holds."""
    held = set().union(*(_rule_types(r) for r in rulesets if covers_release_tags(r)))
    return set(REQUIRED_RULES - held)


def missing_branch_rules(rulesets: Iterable[dict[str, Any]]) -> set[str]:
    """The BRANCH_RULES no active ruleset covering `main` holds for everyone (no bypass)."""
    held = set().union(
        *(_rule_types(r) for r in rulesets if covers_main(r) and not r.get("bypass_actors"))
    )
    return set(BRANCH_RULES - held)


def lets_bypass(actor: dict[str, Any]) -> bool:
    """Whether a ruleset's bypass actor lets the deploy key create a tag it restricts."""
    return actor.get("actor_type") == "DeployKey" and actor.get("bypass_mode", "always") in (
        "always",
        "exempt",
    )


@dataclass(frozen=True)
class Bypass:
    """What the bypass lists of the rulesets restricting release tag creation say."""

    hidden: list[str] = field(default_factory=list)  # rulesets whose list this token cannot see
    closed: list[str] = field(default_factory=list)  # rulesets the deploy key may not bypass


def bypass_of(rulesets: Iterable[dict[str, Any]]) -> Bypass:
    """Tag rulesets the deploy key may not bypass, and those whose bypass list is hidden."""
    found = Bypass()
    for ruleset in rulesets:
        if not restricting_creation([ruleset]):
            continue
        name = repr(str(ruleset.get("name")))
        actors = ruleset.get("bypass_actors")
        if actors is None:  # GitHub leaves it out for a token that may not edit the ruleset
            found.hidden.append(name)
        elif not any(lets_bypass(actor) for actor in actors):
            found.closed.append(name)
    return found


@dataclass
class Findings:
    """Lines for the log, and the problems that stop the release, each naming its fix."""

    said: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def read_rulesets(github: GitHub, *, target: str = "tag") -> list[dict[str, Any]]:
    """The rulesets that apply to the repository's `target` refs; DeployError if unread."""
    try:
        listed = github.listed(f"/rulesets?includes_parents=true&targets={target}", PERMISSION)
        rulesets = [
            github.get(f"/rulesets/{int(item['id'])}", PERMISSION)
            for item in listed
            if isinstance(item, dict) and item.get("target", target) == target
        ]
    except (GitHubError, KeyError, TypeError, ValueError) as error:
        raise DeployError(
            f"the repository's {target} rulesets could not be read: {error}"
        ) from None
    return rulesets


def restricting_creation(rulesets: Iterable[dict[str, Any]]) -> list[str]:
    return [
        repr(str(r.get("name")))
        for r in rulesets
        if covers_release_tags(r) and "creation" in _rule_types(r)
    ]


def check_tag_rules(github: GitHub) -> list[str]:
    """DeployError naming every problem unless the rulesets keep release tags the release's own
    and its deploy key may create them."""
    rulesets = read_rulesets(github)
    findings = Findings()
    missing = missing_tag_rules(rulesets)
    if missing:
        findings.problems.append(
            f"no active tag ruleset of {github.repository} restricts "
            f"{', '.join(sorted(missing))} of the release tags: anyone who can push could make a "
            "release tag, and a run on it reads the deploy hook. In Settings -> Rules -> "
            "Rulesets, add a tag ruleset targeting 'v*' with 'Restrict creations', 'Restrict "
            f"updates' and 'Restrict deletions', and {DEPLOY_KEYS} in its bypass list ({SET_UP})"
        )
    else:
        names = sorted(repr(str(r.get("name"))) for r in rulesets if covers_release_tags(r))
        findings.said.append(
            f"release tags: only the release creates, moves or deletes them ({', '.join(names)})"
        )
    bypass = bypass_of(rulesets)
    for name in bypass.closed:
        findings.problems.append(
            f"the tag ruleset {name} restricts creating release tags and lets none of "
            f"{DEPLOY_KEYS} bypass it, so GitHub refuses the release's own tag. In Settings -> "
            f"Rules -> Rulesets -> {name} -> Bypass list, add {DEPLOY_KEYS} ({SET_UP})"
        )
    if bypass.hidden:
        findings.said.append(
            f"the bypass list of {', '.join(bypass.hidden)} is not shown to this token (GitHub "
            "shows it to those who may edit the ruleset): not checked here; `python -m "
            "tools.release rules` run with an administrator's token checks it"
        )
    elif not bypass.closed and not findings.problems:
        findings.said.append(f"{DEPLOY_KEYS} may create the release tags")
    _check_deploy_key(findings, keys_and_secrets(replace(github, environment=TAG_ENVIRONMENT)))
    if findings.problems:
        raise DeployError("; and ".join(findings.problems))
    return findings.said


def keys_and_secrets(github: GitHub) -> tuple[list[Any], set[str]] | None:
    """The deploy keys and the environment's secret names, or None where hidden."""
    try:
        keys = github.listed("/keys")
        secrets = github.listed(f"{github.env_path}/secrets", key="secrets")
    except GitHubError as error:
        if error.status not in (403, 404):  # GitHub shows this token neither
            raise DeployError(f"the repository's deploy keys could not be read: {error}") from None
        return None
    return keys, {str(s.get("name")) for s in secrets or [] if isinstance(s, dict)}


def _check_deploy_key(findings: Findings, seen: tuple[list[Any], set[str]] | None) -> None:
    """A deploy key that may write, and its private half among the environment's secrets."""
    if seen is None:
        findings.said.append(
            f"deploy keys and the {TAG_ENVIRONMENT} environment's secrets are not shown to this "
            "token "
            "(an administrator's token sees them): not checked here"
        )
        return
    keys, names = seen
    if not any(isinstance(key, dict) and key.get("read_only") is False for key in keys):
        findings.problems.append(
            "the repository has no deploy key with write access for the release to create its "
            "tags with: `python -m tools.release setup` makes one (by hand: Settings -> Deploy "
            f"keys, with 'Allow write access'; {SET_UP})"
        )
    if TAG_KEY_SECRET not in names:
        findings.problems.append(
            f"the {TAG_ENVIRONMENT} environment has no secret {TAG_KEY_SECRET}, the deploy key's "
            f"private half: `python -m tools.release setup` makes a new key and stores it there "
            f"({SET_UP})"
        )


def _matches(ref: str, patterns: Iterable[str]) -> bool:
    """Whether a ruleset's ref patterns name `ref` (`main` is the default branch)."""
    special = {"~ALL", "~DEFAULT_BRANCH"} if ref == MAIN_REF else {"~ALL"}
    return any(p in special or fnmatch.fnmatchcase(ref, p) for p in patterns)


@dataclass
class Change:
    said: str
    make: Callable[[], object] | None = None  # None: by hand (setup leaves it to the owner)

    @classmethod
    def call(cls, said: str, github: GitHub, method: str, path: str, *body: Any) -> Change:
        """A change GitHub makes in one call (`body`: GitHub.call's body and permission)."""
        return cls(said, partial(github.call, method, path, *body))


def environment_changes(github: GitHub) -> list[Change]:
    """What makes `github.environment` admit exactly what ENVIRONMENTS says (none: it does)."""
    name, path = github.environment, github.env_path
    policies = f"{path}/deployment-branch-policies"
    environment = github.get_or_none(path, "actions: read")
    rule = (environment or {}).get("deployment_branch_policy") or {}
    found, held = [], {}
    if not rule.get("custom_branch_policies") or rule.get("protected_branches"):
        body = {
            "deployment_branch_policy": {
                "protected_branches": False,
                "custom_branch_policies": True,
            }
        }
        verb = "correct" if environment else "create"
        said = f"{verb} the {name} environment: deployment branches and tags 'Selected'"
        found.append(Change.call(said, github, "PUT", path, body))
    else:
        kept = github.listed(policies, "actions: read", "branch_policies")
        held = {(str(p.get("type", "branch")), str(p.get("name"))): p for p in kept}
    wanted = ENVIRONMENTS[name]
    for kind, pattern in sorted(wanted - held.keys()):
        said = f"let the {kind} {pattern!r} deploy to {name}"
        found.append(Change.call(said, github, "POST", policies, {"name": pattern, "type": kind}))
    for kind, pattern in sorted(held.keys() - wanted):
        said, gone = f"stop the {kind} {pattern!r} deploying to {name}", held[(kind, pattern)]
        found.append(Change.call(said, github, "DELETE", f"{policies}/{gone.get('id')}"))
    return found


def check_environment(github: GitHub) -> str:
    """DeployError unless `github.environment` admits exactly what ENVIRONMENTS says."""
    name = github.environment
    try:
        changes = environment_changes(github)
    except GitHubError as error:
        raise DeployError(str(error)) from None
    admits = " and ".join(f"the {kind} {pattern!r}" for kind, pattern in sorted(ENVIRONMENTS[name]))
    if changes:
        raise DeployError(
            f"the {name!r} environment holds a secret of the release but admits more or other "
            f"than {admits} (an environment a job names is created by GitHub, without rules, "
            f"when it does not exist): {'; '.join(change.said for change in changes)}. "
            f"In Settings -> Environments -> {name}, set 'Deployment branches and tags' to "
            f"'Selected branches and tags' with only that rule; `python -m tools.release setup "
            f"--repository {github.repository}` sets it (docs/release.md, 'Set it up on a fork')"
        )
    return f"environment {name}: only {admits} may enter"


def check_environments(github: GitHub) -> list[str]:
    """check_environment of every environment holding a secret of the release."""
    return [check_environment(replace(github, environment=name)) for name in ENVIRONMENTS]
