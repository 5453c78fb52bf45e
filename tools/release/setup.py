"""`python -m tools.release setup`: checks every setting the releases need, then makes or
corrects those a token can (`--dry-run`: checks only); the steps it leaves to the owner (the
repository's plan, the Blueprint on main, the image's package) each name their fix. The deploy key
is made in memory with cryptography and sealed for GitHub's secrets API with PyNaCl, each imported
only there: `--dry-run` and the release jobs run on a bare Python."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from tools.release.github import GitHub, GitHubError
from tools.release.previous import PreviousImageError, find_previous
from tools.release.registry import Registry, RegistryUnknownError, registry_credential
from tools.release.render import DeployError
from tools.release.retention import package_of
from tools.release.rules import (
    ENVIRONMENTS,
    SET_UP,
    TAG_ENVIRONMENT,
    TAG_KEY_SECRET,
    Change,
    bypass_of,
    check_tag_rules,
    environment_changes,
    missing_branch_rules,
    missing_tag_rules,
    read_rulesets,
)
from tools.release.version import Version, image_name

HOOK_SECRET = "RENDER_DEPLOY_HOOK_URL"
SERVICE_VARIABLE = "RENDER_SERVICE_URL"
# What the owner's token needs beyond `repo` to read the package (GitHub's packages API).
TOKEN_FIX = "`gh auth refresh -s read:packages`, then run it again"
COMMENT = "release tags (python -m tools.release setup)"
TAG_RULESET = "release tags"
BRANCH_RULESET = "main"
# setup's own branch ruleset where one named `main` that it cannot add to exists already.
OWN_BRANCH_RULESET = "main (release)"
TAG_RULESET_BODY: dict[str, Any] = {
    "name": TAG_RULESET,
    "target": "tag",
    "enforcement": "active",
    "conditions": {"ref_name": {"include": ["refs/tags/v*"], "exclude": []}},
    "rules": [{"type": "creation"}, {"type": "update"}, {"type": "deletion"}],
    "bypass_actors": [{"actor_id": None, "actor_type": "DeployKey", "bypass_mode": "always"}],
}
BRANCH_RULESET_BODY: dict[str, Any] = {
    "name": BRANCH_RULESET,
    "target": "branch",
    "enforcement": "active",
    "conditions": {"ref_name": {"include": ["refs/heads/main"], "exclude": []}},
    "rules": [{"type": "deletion"}, {"type": "non_fast_forward"}],
    "bypass_actors": [],  # main only moves forward, for administrators too
}


@dataclass(frozen=True)
class Choices:
    """What the owner chose: Render on, off or as it is; Pages off, or on unless its workflow
    was disabled by hand."""

    render_url: str | None = None
    render_off: bool = False
    pages: bool = True
    hook: Callable[[], str] = field(default=lambda: "", compare=False)  # asked only when needed


def seal_into(github: GitHub, name: str, value: str) -> None:
    """PUT the environment's secret `name`, sealed to its public key."""
    key = github.get(f"{github.env_path}/secrets/public-key")
    body = {"encrypted_value": seal(value, str(key["key"])), "key_id": str(key["key_id"])}
    github.call("PUT", f"{github.env_path}/secrets/{name}", body)


def changes(github: GitHub, choices: Choices) -> tuple[list[Change], list[str]]:
    """(what to change, each said; what is already in place); a step that fails is by hand."""
    found: list[Change] = []
    kept: list[str] = []
    steps = (
        _repository,
        _workflow,
        _environment,
        _rulesets,
        _variables,
        _render,
        _package,
        _pages,
        _dependabot,
    )
    for step in steps:
        try:
            step(github, choices, found, kept)
        except (DeployError, GitHubError) as error:
            found.extend(Change(line) for line in str(error).split("; and "))
    return found, kept


def _repository(github: GitHub, _: Choices, found: list[Change], kept: list[str]) -> None:
    kept.append(repository(github))
    if github.get("", "metadata: read").get("has_issues"):
        kept.append("Issues are on: the one issue tells you what the release needs of you")
        return
    said = "turn Issues on (off on a fork by default): the release says what needs you in one issue"
    found.append(Change.call(said, github, "PATCH", "", {"has_issues": True}))


def _package(github: GitHub, choices: Choices, found: list[Change], kept: list[str]) -> None:
    kept.append(package(github, _render_on(github, choices)))


def _render_on(github: GitHub, choices: Choices) -> bool:
    if choices.render_url or choices.render_off:
        return bool(choices.render_url)
    return HOOK_SECRET in github.secrets(github.env_path) and SERVICE_VARIABLE in github.variables()


def _workflow(github: GitHub, _: Choices, found: list[Change], kept: list[str]) -> None:
    state = github.get("/actions/workflows/release.yml").get("state")
    if state == "active":
        kept.append("the release workflow is enabled")
        return
    said = f"enable the release workflow (now {state})"
    found.append(Change.call(said, github, "PUT", "/actions/workflows/release.yml/enable"))


def _environment(github: GitHub, _: Choices, found: list[Change], kept: list[str]) -> None:
    for name, admits in ENVIRONMENTS.items():
        changes = environment_changes(replace(github, environment=name))
        found += changes
        if not changes:
            kept.append(f"the {name} environment admits only {' '.join(sorted(admits)[0])}")


def _deploy_key(github: GitHub, found: list[Change], kept: list[str]) -> None:
    github = replace(github, environment=TAG_ENVIRONMENT)
    keys = [k for k in github.listed("/keys") if isinstance(k, dict)]
    names = github.secrets(github.env_path)  # none before the environment is made (above)
    ours = [k for k in keys if str(k.get("title")) == COMMENT]
    if TAG_KEY_SECRET in names and any(k.get("read_only") is False for k in ours):
        kept.append(f"a deploy key with write access, its private half in {TAG_KEY_SECRET}")
        return

    def make() -> None:
        key = DeployKey.generate()
        github.call("POST", "/keys", {"title": COMMENT, "key": key.public, "read_only": False})
        seal_into(github, TAG_KEY_SECRET, key.private)
        for old in ours:
            github.call("DELETE", f"/keys/{old['id']}")

    replaced = f", replacing the {len(ours)} made before" if ours else ""
    found.append(
        Change(
            "make a deploy key with write access and seal its private half into the "
            f"{github.environment} secret {TAG_KEY_SECRET} (never written to disk){replaced}",
            make,
        )
    )


def _rulesets(github: GitHub, _: Choices, found: list[Change], kept: list[str]) -> None:
    """The tag rules as the release checks them, else setup's key and ruleset; then the branch
    rules. Another's ruleset is never replaced."""
    try:
        kept.extend(check_tag_rules(github))
    except DeployError:
        _deploy_key(github, found, kept)
        _tag_rules(github, read_rulesets(github), found, kept)
    _branch_rules(github, read_rulesets(github, target="branch"), found, kept)


def _tag_rules(
    github: GitHub, rulesets: list[dict[str, Any]], found: list[Change], kept: list[str]
) -> None:
    ours = _named(rulesets, TAG_RULESET)
    closed = bypass_of(rulesets).closed
    if missing_tag_rules(rulesets) or repr(TAG_RULESET) in closed:
        _ruleset(github, ours, TAG_RULESET_BODY, found)
    elif not closed:
        kept.append("a tag ruleset keeps release tags the release's own, the deploy key its bypass")
    for name in sorted(set(closed) - {repr(TAG_RULESET)}):
        found.append(
            Change(
                f"the tag ruleset {name}, which setup did not make, restricts creating release "
                "tags and lets none of 'Deploy keys' bypass it, so GitHub would refuse the "
                f"release's tags: add 'Deploy keys' to its bypass list (Settings -> Rules -> "
                f"Rulesets -> {name}); setup leaves it as it is"
            )
        )


def _branch_rules(
    github: GitHub, rulesets: list[dict[str, Any]], found: list[Change], kept: list[str]
) -> None:
    missing = missing_branch_rules(rulesets)
    if not missing:
        kept.append("a branch ruleset keeps main from deletion and force pushes, for everyone")
        return
    existing = _named(rulesets, BRANCH_RULESET)
    if existing is None or existing.get("rules") == BRANCH_RULESET_BODY["rules"]:
        _ruleset(github, existing, BRANCH_RULESET_BODY, found)
    else:
        own = {**BRANCH_RULESET_BODY, "name": OWN_BRANCH_RULESET}
        why = f"yours named {BRANCH_RULESET!r} has other rules, and stays as it is"
        _ruleset(github, _named(rulesets, OWN_BRANCH_RULESET), own, found, why)


def _named(rulesets: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    """The repository's own ruleset named `name` (not its owner's), if any."""
    own = [r for r in rulesets if r.get("source_type", "Repository") == "Repository"]
    return next((r for r in own if r.get("name") == name), None)


def _ruleset(
    github: GitHub,
    existing: dict[str, Any] | None,
    body: dict[str, Any],
    found: list[Change],
    why: str = "",
) -> None:
    what = f"the {body['target']} ruleset {body['name']!r}: {_describe(body)}"
    what += f" ({why})" if why else ""
    if existing is None:
        found.append(Change.call(f"create {what}", github, "POST", "/rulesets", body))
    else:
        found.append(
            Change.call(f"correct {what}", github, "PUT", f"/rulesets/{existing['id']}", body)
        )


def _describe(body: dict[str, Any]) -> str:
    rules = ", ".join(str(rule["type"]) for rule in body["rules"])
    actors = ", ".join(str(actor["actor_type"]) for actor in body["bypass_actors"]) or "none"
    return f"{body['conditions']['ref_name']['include'][0]} restricts {rules}; bypass {actors}"


def _variables(github: GitHub, choices: Choices, found: list[Change], kept: list[str]) -> None:
    held = github.variables()
    wanted = {"RELEASE_REPOSITORY": github.repository}
    if choices.render_url:
        wanted[SERVICE_VARIABLE] = choices.render_url.rstrip("/")
    for name, value in wanted.items():
        if held.get(name) == value:
            kept.append(f"the variable {name} is {value}")
            continue
        was, method, path = "", "POST", "/actions/variables"
        if name in held:
            was, method, path = f" (was {held[name]})", "PATCH", f"/actions/variables/{name}"
        said = f"set the variable {name} to {value}{was}"
        found.append(Change.call(said, github, method, path, {"name": name, "value": value}))
    if choices.render_off and SERVICE_VARIABLE in held:
        said = f"delete the variable {SERVICE_VARIABLE} (Render off)"
        found.append(Change.call(said, github, "DELETE", f"/actions/variables/{SERVICE_VARIABLE}"))


def _render(github: GitHub, choices: Choices, found: list[Change], kept: list[str]) -> None:
    if HOOK_SECRET in github.secrets():
        said = (
            f"delete the repository secret {HOOK_SECRET}, which any branch's workflow can "
            f"read (the hook belongs to the {github.environment} environment only)"
        )
        found.append(Change.call(said, github, "DELETE", f"/actions/secrets/{HOOK_SECRET}"))
    held = HOOK_SECRET in github.secrets(github.env_path)
    service = github.variables().get(SERVICE_VARIABLE, "")
    on = f"`python -m tools.release setup --repository {github.repository}"
    if choices.render_off:
        if held:
            said = f"delete the {github.environment} secret {HOOK_SECRET} (Render off)"
            path = f"{github.env_path}/secrets/{HOOK_SECRET}"
            found.append(Change.call(said, github, "DELETE", path))
        else:
            kept.append("Render is off: the release publishes images and deploys nowhere")
        return
    if choices.render_url and not held:
        found.append(
            Change(
                f"seal Render's deploy hook into the {github.environment} secret {HOOK_SECRET}",
                lambda: seal_into(github, HOOK_SECRET, _hook(choices)),
            )
        )
    elif not choices.render_url and not held and not service:
        kept.append(
            f"Render is off (no {HOOK_SECRET}, no {SERVICE_VARIABLE}): the release publishes "
            f"images and deploys nowhere; to deploy on Render, {on} --render-service-url "
            "https://<service>.onrender.com`"
        )
        return
    elif not choices.render_url and not (held and service):
        why = (
            "not set, so the deploy job never runs: every release is green and nothing is deployed"
        )
        if service:
            why = f"set ({service}), so every deploy fails"
        raise MissingStepError(
            f"the {github.environment} environment {'holds' if held else 'has no'} {HOOK_SECRET} "
            f"but the repository variable {SERVICE_VARIABLE} is {why}:"
            f" {on} --render-service-url https://<service>.onrender.com` sets both (asking for "
            f"the hook), {on} --no-render` removes both"
        )
    blueprint(github)
    kept.append(f"Render is on: the deploy hook is set and the deploy polls {service}/healthz")


def _hook(choices: Choices) -> str:
    hook = choices.hook().strip()
    if not hook.startswith("https://"):
        raise ValueError(
            f"{HOOK_SECRET} must be Render's deploy hook (https://api.render.com/deploy/srv-..., "
            "the service's Settings -> Deploy Hook); nothing sealed"
        )
    return hook


def _pages(github: GitHub, choices: Choices, found: list[Change], kept: list[str]) -> None:
    docs = github.get("/actions/workflows/docs.yml").get("state")
    if not choices.pages or docs == "disabled_manually":
        if docs == "disabled_manually":
            kept.append(
                "GitHub Pages is off: the docs workflow is disabled, so no site is published "
                "(to publish it, enable the workflow: `gh workflow enable docs.yml`, then setup)"
            )
        else:
            said = "disable the docs workflow (Pages off)"
            found.append(Change.call(said, github, "PUT", "/actions/workflows/docs.yml/disable"))
        return
    if docs != "active":
        said = "enable the docs workflow"
        found.append(Change.call(said, github, "PUT", "/actions/workflows/docs.yml/enable"))
    pages = github.get_or_none("/pages")
    body = {"build_type": "workflow"}
    if pages is None:
        said = "publish GitHub Pages from GitHub Actions"
        found.append(Change.call(said, github, "POST", "/pages", body, "pages: write"))
    elif pages.get("build_type") != "workflow":
        said = f"build GitHub Pages from GitHub Actions (now {pages.get('build_type')})"
        found.append(Change.call(said, github, "PUT", "/pages", body, "pages: write"))
    else:
        kept.append("GitHub Pages is built from GitHub Actions")


def _dependabot(github: GitHub, _: Choices, found: list[Change], kept: list[str]) -> None:
    if (github.get_or_none("/automated-security-fixes") or {}).get("enabled"):
        kept.append("Dependabot's security updates are on")
        return

    def make() -> None:
        github.call("PUT", "/vulnerability-alerts")  # the updates need the alerts
        github.call("PUT", "/automated-security-fixes")

    said = "turn on Dependabot's alerts and security updates (a pull request bumps each pin an "
    found.append(Change(said + "advisory names)", make))


def set_up(github: GitHub, choices: Choices, *, dry_run: bool, say: Callable[[str], None]) -> int:
    """Say what is in place, then each change before making it; 1 while a step stays undone."""
    found, kept = changes(github, choices)
    for line in kept:
        say(f"in place: {line}")
    for change in found:
        if change.make is None:
            say(f"by hand: {change.said}")
            continue
        say(f"{'would ' if dry_run else ''}change: {change.said}")
        if not dry_run:
            change.make()
    made = len([change for change in found if change.make is not None])
    by_hand = len(found) - made
    if not found:
        say("nothing to change: every setting the releases need is in place")
    elif dry_run:
        say(f"{made} change(s) to make, {by_hand} by hand: nothing changed (--dry-run)")
    else:
        say(f"{made} change(s) made, {by_hand} by hand; `--dry-run` checks it all again")
    return 1 if by_hand or (dry_run and made) else 0


@dataclass(frozen=True, repr=False)
class DeployKey:
    public: str  # an authorized_keys line: `ssh-ed25519 AAAA... comment`
    private: str  # the OpenSSH private key file's text

    @classmethod
    def generate(cls, comment: str = COMMENT) -> DeployKey:
        from cryptography.hazmat.primitives import serialization as ssh  # noqa: PLC0415
        from cryptography.hazmat.primitives.asymmetric import ed25519  # noqa: PLC0415

        key = ed25519.Ed25519PrivateKey.generate()
        private = key.private_bytes(ssh.Encoding.PEM, ssh.PrivateFormat.OpenSSH, ssh.NoEncryption())
        public = key.public_key().public_bytes(ssh.Encoding.OpenSSH, ssh.PublicFormat.OpenSSH)
        return cls(f"{public.decode()} {comment}", private.decode())


def seal(value: str, public_key: str) -> str:
    """`value` sealed to GitHub's base64 `public_key`, base64-encoded, as its API takes it."""
    from nacl.public import PublicKey, SealedBox  # noqa: PLC0415 (see the module's docstring)

    box = SealedBox(PublicKey(base64.b64decode(public_key)))
    return base64.b64encode(box.encrypt(value.encode())).decode()


class MissingStepError(DeployError):
    """A set-up step missing; the message names its fix."""


def repository(fork: GitHub) -> str:
    about = fork.get("", "metadata: read")
    visibility = about.get("visibility") or ("private" if about.get("private") else "public")
    if visibility == "public":
        return f"{fork.repository} is public: attestations, environments and rulesets work"
    owner = about.get("owner") or {}
    path = "/user" if owner.get("type") == "User" else f"/orgs/{owner.get('login')}"
    plan = (fork.get(f"/{path}", "none").get("plan") or {}).get("name")
    if plan != "enterprise":
        raise MissingStepError(
            f"{fork.repository} is {visibility} on GitHub "
            + (str(plan).title() if plan else "a plan this token cannot see")
            + ": GitHub attests a build of a repository that is not public only on GitHub "
            "Enterprise Cloud, so every release would stop at its attestation, before any tag"
            + (", and Free has no environment secrets or rulesets there" if plan == "free" else "")
            + ". Make it public (`gh repo edit "
            f"{fork.repository} --visibility public --accept-visibility-change-consequences`) or "
            f"move it to GitHub Enterprise Cloud ({SET_UP})"
        )
    return f"{fork.repository} is {visibility}, on GitHub Enterprise Cloud: attestations work"


def blueprint(fork: GitHub) -> str | None:
    """The registry credential render.yaml on main pulls with, once it deploys this
    repository's image (MissingStepError otherwise)."""
    document = fork.get_or_none("/contents/render.yaml", "contents: read")
    if document is None:
        raise MissingStepError(f"main holds no render.yaml for Render's Blueprint ({SET_UP})")
    text = base64.b64decode(str(document.get("content", ""))).decode(errors="replace")
    wanted = f"{image_name(fork.repository)}:latest"
    if f'url: "{wanted}"' not in text:
        raise MissingStepError(
            f"render.yaml on main does not deploy {wanted}, and Render refuses a deploy from "
            f'another image repository: set each service\'s image url to "{wanted}" '
            f"(docs/release.md, 'Set it up on a fork')"
        )
    return registry_credential(text)


def package(fork: GitHub, render: bool) -> str:
    """The image's package, given whether Render (`render`) pulls it."""
    image = f"ghcr.io/{fork.repository.lower()}"
    path = package_of(fork, image.rsplit("/", 1)[-1])
    settings = f"https://github.com{path[1:]}/settings"
    found = fork.get_or_none(path, "packages: read", fix=TOKEN_FIX)
    tags = _own_release_tags(fork)
    if found is None:
        if tags:
            raise MissingStepError(_tags_without_image(fork, image, tags, "no package"))
        return f"package {image}: not published yet (the first release publishes it)"
    linked = str((found.get("repository") or {}).get("full_name") or fork.repository)
    if linked.lower() != fork.repository.lower():
        raise MissingStepError(
            f"the package {image} belongs to {linked}, not {fork.repository}: this repository's "
            "release can push, read and prune it only once the package's settings -> Manage "
            f"Actions access -> Add repository names {fork.repository} with the Admin role "
            f"(Write pushes, but retention's deletions need Admin) ({settings})"
        )
    if tags and not _release_image(fork, image):
        raise MissingStepError(_tags_without_image(fork, image, tags, "no release image"))
    visibility = found.get("visibility")
    role = (
        "; retention's deletions need this repository's role Admin in its Manage Actions access "
        "(GitHub gives it to the repository a package is linked to; no API shows it)"
    )
    if visibility == "public":
        return f"package {image}: public, linked to {fork.repository}{role}"
    if not render:
        return f"package {image}: {visibility} (Render is off: nothing pulls it anonymously){role}"
    credential = blueprint(fork)
    if credential:
        return f"package {image}: {visibility}; render.yaml pulls it with {credential!r}{role}"
    raise MissingStepError(
        f"the package {image} is {visibility}: Render pulls without credentials, so the deploy "
        "would fail. In its Package settings -> Danger Zone -> Change visibility -> Public "
        f"({settings}), or name a Render registry credential in render.yaml ({SET_UP})"
    )


def _own_release_tags(fork: GitHub) -> list[Version]:
    """The repository's release tags, none if its newest is its fork parent's."""
    listed = fork.listed("/git/matching-refs/tags/v", "contents: read")
    targets = {
        version: str((item.get("object") or {}).get("sha", ""))
        for item in listed
        if (version := Version.from_tag(str(item.get("ref", "")).removeprefix("refs/tags/")))
    }
    newest = max(targets, default=None)
    if newest is None or fork.tag_owner(newest.tag, targets[newest]) != fork.repository:
        return []
    return list(targets)


def _release_image(fork: GitHub, image: str) -> bool:
    """Whether the registry holds a release image of `image` for the next release to extend."""
    name = image.partition("/")[2]
    owner = fork.repository.split("/", 1)[0]
    registry = Registry(
        fork.registry_url or "https://ghcr.io", name, credentials=f"{owner}:{fork.token}"
    )
    try:
        return bool(find_previous(registry, image).digest)
    except (PreviousImageError, RegistryUnknownError) as error:
        raise MissingStepError(f"the registry could not say what {image} holds: {error}") from None


def _tags_without_image(fork: GitHub, image: str, tags: list[Version], what: str) -> str:
    return (
        f"{fork.repository} has {len(tags)} release tag(s), the newest {max(tags).tag}, "
        f"and {what} of {image}: the release's version job stops, its track record having nothing "
        "to extend. A renamed repository or a deleted package: the record is under the old "
        "image; restore it, or start anew on purpose: run the release by hand on main with the "
        "input start-anew saying why (`gh workflow run release.yml --ref main -f start-anew="
        "'...'`; docs/release.md, 'The track record')"
    )
