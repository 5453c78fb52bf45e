"""`python -m tools.release setup`: the repository's settings made or corrected through GitHub's
REST API with the owner's token (`--dry-run`: checked only, on a bare Python). The committed ones
(`.github/settings/`) are applied as they are, each file the body of its call, where
tools/release/rules.py finds GitHub lacking them; secrets are sealed to the repository's public
key with PyNaCl, and the deploy key made in memory with cryptography, each imported only there.
What it cannot make (the repository's plan, its package, render.yaml) is checked and left to the
owner, with its fix. It turns the release's schedule on with the owner's token, and ends by
starting the release."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from tools.release import runs
from tools.release.github import GitHub, GitHubError
from tools.release.previous import PreviousImageError, find_previous, restart_refused
from tools.release.registry import Registry, RegistryUnknownError, registry_credential
from tools.release.render import DeployError
from tools.release.retention import package_of
from tools.release.rules import (
    ENVIRONMENTS,
    SET_UP,
    SETTINGS,
    TAG_ENVIRONMENT,
    TAG_KEY_SECRET,
    Change,
    Found,
    drift,
    environment,
    ruleset,
    rulesets,
    setting,
    tag_rules,
)
from tools.release.say import LABEL
from tools.release.version import Version, image_name

HOOK_SECRET = "RENDER_DEPLOY_HOOK_URL"
SERVICE_VARIABLE = "RENDER_SERVICE_URL"
# What the owner's token needs beyond `repo` to read the package (GitHub's packages API).
TOKEN_FIX = "`gh auth refresh -s read:packages`, then run it again"
KEY_TITLE = "release tags (python -m tools.release setup)"
# How long a schedule turned on may go without a scheduled run: its cron's six hours, and one.
SCHEDULE_SILENT = timedelta(hours=7)


@dataclass(frozen=True)
class Choices:
    """What the owner chose: Render on, off or as it is; Pages off, or on unless its workflow
    was disabled by hand; and where setup says what it does."""

    render_url: str | None = None
    render_off: bool = False
    pages: bool = True
    hook: Callable[[], str] = field(default=lambda: "", compare=False)  # asked only when needed
    say: Callable[[str], None] = field(default=print, compare=False)


class MissingStepError(DeployError):
    """A set-up step missing; the message names its fix."""


def apply(github: GitHub, method: str, path: str, body: str | dict[str, Any] | None = None):
    """The change: `method` on `path` below the repository, its body the committed setting `body`
    names, as its file holds it, or `body`'s fields."""
    sent = (SETTINGS / f"{body}.json").read_bytes() if isinstance(body, str) else body
    return partial(github.call, method, path, sent)


def secret_set(github: GitHub, name: str, value: Callable[[], str], environment: str) -> Callable:
    """The environment's secret `name`, its value (asked only now) sealed to the repository's
    public key as GitHub's API takes it (libsodium's sealed box)."""

    def store() -> None:
        from nacl.public import PublicKey, SealedBox  # noqa: PLC0415

        path = f"/environments/{environment}/secrets"
        key = github.get(f"{path}/public-key")
        sealed = SealedBox(PublicKey(base64.b64decode(key["key"]))).encrypt(value().encode())
        sent = {"encrypted_value": base64.b64encode(sealed).decode(), "key_id": key["key_id"]}
        github.call("PUT", f"{path}/{name}", sent)

    return store


def changes(github: GitHub, choices: Choices) -> list[Change]:
    """Say what is in place; the changes to make (each a step GitHub or the checks refuse is by
    hand)."""
    found: list[Change] = []
    for step in STEPS:
        try:
            for line in step(github, choices):
                if isinstance(line, str):
                    choices.say(f"in place: {line}")
                else:
                    found.append(line)
        except (DeployError, GitHubError) as error:
            found.append(Change(str(error)))
    return found


def set_up(github: GitHub, choices: Choices, *, dry_run: bool) -> int:
    """Say what is in place, then each change before making it; 1 while a step stays undone."""
    say, found = choices.say, changes(github, choices)
    by_hand = 0
    for change in found:
        if change.make is not None:
            say(f"{'would ' if dry_run else ''}change: {change.said}")
        try:
            if change.make is None:
                raise MissingStepError(change.said)
            if not dry_run:
                change.make()
        except (DeployError, GitHubError) as error:
            by_hand += 1
            say(f"by hand: {error}")
    made = len(found) - by_hand
    if not found:
        say("nothing to change: every setting the releases need is in place")
    elif dry_run:
        say(f"{made} change(s) to make, {by_hand} by hand: nothing changed (--dry-run)")
    else:
        say(f"{made} change(s) made, {by_hand} by hand; `--dry-run` checks it all again")
    return 1 if by_hand or (dry_run and made) else 0


def _repository(github: GitHub, _: Choices) -> Found:
    about = github.get("", "metadata: read")
    if not drift(about, setting("repository")):
        return [attested(github, about), "Issues are on: the one issue says what the release needs"]
    said = "turn Issues on (off on a fork by default): the release says what needs you in one issue"
    return [attested(github, about), Change(said, apply(github, "PATCH", "", "repository"))]


def _label(github: GitHub, _: Choices) -> Found:
    if any(label.get("name") == LABEL for label in github.listed("/labels", "issues: read")):
        return [f"the label {LABEL} marks the one issue"]
    said = (
        f"create the label {LABEL}: the one issue is found by it, and GitHub drops a label "
        "a job's token may not create"
    )
    return [Change(said, apply(github, "POST", "/labels", f"labels/{LABEL}"))]


def _rules(github: GitHub, _: Choices) -> Found:
    """The environments, the rulesets and the deploy key, as the release's check finds them."""
    make = partial(apply, github)
    found = [line for name in ENVIRONMENTS for line in environment(github, name, make)]
    found += tag_rules(github, make, partial(_deploy_key, github))
    return found + ruleset("main", rulesets(github, "branch"), make)


def _deploy_key(github: GitHub) -> None:
    """A new deploy key with write access, its private half stored by gh (never on disk); the
    ones setup made before deleted."""
    key = DeployKey.generate()
    made = [k for k in github.listed("/keys") if k.get("title") == KEY_TITLE]
    apply(github, "POST", "/keys", {"title": KEY_TITLE, "key": key.public, "read_only": False})()
    secret_set(github, TAG_KEY_SECRET, lambda: key.private, TAG_ENVIRONMENT)()
    for old in made:
        apply(github, "DELETE", f"/keys/{old['id']}")()


def _variables(github: GitHub, choices: Choices) -> Found:
    held = github.variables()
    owner, repo = github.repository.split("/", 1)
    wanted = {
        v["name"]: v["value"].replace("{owner}", owner).replace("{repo}", repo)
        for v in setting("variables")
    }
    if choices.render_url:
        wanted[SERVICE_VARIABLE] = choices.render_url.rstrip("/")
    found: Found = []
    for name, value in wanted.items():
        fields = {"name": name, "value": value}
        if held.get(name) == value:
            found.append(f"the variable {name} is {value}")
        elif name in held:
            said = f"set the variable {name} to {value} (was {held[name]})"
            found.append(Change(said, apply(github, "PATCH", f"/actions/variables/{name}", fields)))
        else:
            said = f"set the variable {name} to {value}"
            found.append(Change(said, apply(github, "POST", "/actions/variables", fields)))
    if choices.render_off and SERVICE_VARIABLE in held:
        said, path = f"delete the variable {SERVICE_VARIABLE} (Render off)", "/actions/variables"
        found.append(Change(said, apply(github, "DELETE", f"{path}/{SERVICE_VARIABLE}")))
    return found


def _render(github: GitHub, choices: Choices) -> Iterator[str | Change]:
    if HOOK_SECRET in github.secrets():
        said = (
            f"delete the repository secret {HOOK_SECRET}, which any branch's workflow can read "
            "(the hook belongs to the production environment only)"
        )
        yield Change(said, apply(github, "DELETE", f"/actions/secrets/{HOOK_SECRET}"))
    held = HOOK_SECRET in github.secrets("/environments/production")
    service = choices.render_url or github.variables().get(SERVICE_VARIABLE, "")
    on = f"`python -m tools.release setup --repository {github.repository}"
    if choices.render_off and held:
        path = f"/environments/production/secrets/{HOOK_SECRET}"
        yield Change(
            f"delete the production secret {HOOK_SECRET} (Render off)",
            apply(github, "DELETE", path),
        )
    elif choices.render_off or not (held or service):
        unasked = "" if choices.render_off else f" (no {HOOK_SECRET}, no {SERVICE_VARIABLE})"
        yield (
            f"Render is off{unasked}: the release publishes images and deploys nowhere; to "
            f"deploy on Render, {on} --render-service-url https://<service>.onrender.com`"
        )
    elif not ((held and service) or choices.render_url):
        why = "not set, so the deploy job never runs: every release is green, nothing deployed"
        yield Change(
            f"the production environment {'holds' if held else 'has no'} {HOOK_SECRET} but "
            f"the repository variable {SERVICE_VARIABLE} is "
            + (f"set ({service}), so every deploy fails" if service else why)
            + f": {on} --render-service-url https://<service>.onrender.com` sets both "
            f"(asking for the hook), {on} --no-render` removes both"
        )
    else:
        if not held:
            said = f"store Render's deploy hook in the production secret {HOOK_SECRET}"
            yield Change(
                said, secret_set(github, HOOK_SECRET, partial(_hook, choices), "production")
            )
        blueprint(github)
        yield f"Render is on: the deploy hook is set and the deploy polls {service}/healthz"


def _hook(choices: Choices) -> str:
    hook = choices.hook().strip()
    if not hook.startswith("https://"):
        raise ValueError(
            f"{HOOK_SECRET} must be Render's deploy hook (https://api.render.com/deploy/srv-..., "
            "the service's Settings -> Deploy Hook); nothing stored"
        )
    return hook


def _package(github: GitHub, choices: Choices) -> Found:
    render = bool(choices.render_url)
    if not (choices.render_url or choices.render_off):
        hook = HOOK_SECRET in github.secrets("/environments/production")
        render = hook and SERVICE_VARIABLE in github.variables()
    return [package(github, render)]


def _pages(github: GitHub, choices: Choices) -> Found:
    if github.get("/actions/workflows/docs.yml").get("state") == "disabled_manually":
        return [
            "GitHub Pages is off: the docs workflow is disabled, so no site is published (to "
            "publish it, enable the workflow: `gh workflow enable docs.yml`, then setup)"
        ]
    if not choices.pages:
        said = "disable the docs workflow (Pages off)"
        return [Change(said, apply(github, "PUT", "/actions/workflows/docs.yml/disable"))]
    held = github.get_or_none("/pages")
    if not drift(held, setting("pages")):
        return ["GitHub Pages is built from GitHub Actions"]
    said = "build GitHub Pages from GitHub Actions, as pages.json says"
    return [Change(said, apply(github, "PUT" if held else "POST", "/pages", "pages"))]


def _dependabot(github: GitHub, _: Choices) -> Found:
    if (github.get_or_none("/automated-security-fixes") or {}).get("enabled"):
        return ["Dependabot's security updates are on"]

    def make() -> None:
        apply(github, "PUT", "/vulnerability-alerts")()  # the updates need the alerts
        apply(github, "PUT", "/automated-security-fixes")()

    said = "turn on Dependabot's alerts and security updates (a pull request bumps each pin an "
    return [Change(said + "advisory names)", make)]


def schedule(github: GitHub, _: Choices) -> Found:
    """The release workflow enabled with the owner's token (GitHub runs no schedule of a fork
    until then, and mails a scheduled run to who enabled it), and a scheduled run within seven
    hours of that; else the button on the workflow's page."""
    workflow = github.get(runs.WORKFLOW, "actions: read")
    if workflow.get("state") != "active":
        said = (
            f"enable the release workflow (it is {workflow.get('state')}; a fork's schedule is off "
            "until then) with your token: GitHub mails each scheduled run to who enabled it"
        )
        return [Change(said, apply(github, "PUT", f"{runs.WORKFLOW}/enable"))]
    asked = f"{runs.WORKFLOW}/runs?event=schedule&per_page=1"
    last = (github.get(asked, "actions: read").get("workflow_runs") or [{}])[0]
    since = max(str(last.get("created_at") or ""), str(workflow.get("updated_at") or ""))
    said = f"its last scheduled run {last['html_url']}" if last else "no scheduled run yet"
    if since and datetime.now(UTC) - datetime.fromisoformat(since) < SCHEDULE_SILENT:
        return [f"the schedule is on: {said}"]
    page = f"{github.server_url}/{github.repository}/actions/workflows/release.yml"
    return [
        Change(
            f"GitHub started no scheduled run of the release in seven hours ({said}): open {page} "
            f"and press 'Enable workflow' (a fork's schedule may need it there; {SET_UP})"
        )
    ]


def _release_runs(github: GitHub, choices: Choices) -> Found:
    """The release's latest run, else a change that starts one on main."""
    latest = github.get(f"{runs.WORKFLOW}/runs?per_page=1", "actions: read").get("workflow_runs")
    if latest:
        return [f"the release runs: its latest run is {latest[0].get('html_url')}"]
    return [
        Change(
            "start the release on main (Actions on, in the fork)",
            partial(start, github, choices.say),
        )
    ]


STEPS = (
    _repository,
    _label,
    _rules,
    _variables,
    _render,
    _package,
    _pages,
    _dependabot,
    schedule,
    _release_runs,
)


def start(github: GitHub, say: Callable[[str], None]) -> None:
    """Start the release on main and say its run; MissingStepError naming the Actions tab's
    button where GitHub refuses: a fork's workflows run only once its owner enabled them there
    (until then GitHub refuses a start, HTTP 422, and an enable call changes nothing)."""
    try:
        run = runs.start(github, "main")
    except GitHubError as error:
        actions = f"{github.server_url}/{github.repository}/actions"
        raise MissingStepError(
            f"GitHub does not run the release: open {actions} and press 'I understand my "
            f"workflows, go ahead and enable them', then run setup again ({error})"
        ) from None
    say(f"the release started: {run.get('html_url')}")


@dataclass(frozen=True, repr=False)
class DeployKey:
    public: str  # an authorized_keys line: `ssh-ed25519 AAAA... comment`
    private: str  # the OpenSSH private key file's text

    @classmethod
    def generate(cls, comment: str = KEY_TITLE) -> DeployKey:
        from cryptography.hazmat.primitives import serialization as ssh  # noqa: PLC0415
        from cryptography.hazmat.primitives.asymmetric import ed25519  # noqa: PLC0415

        key = ed25519.Ed25519PrivateKey.generate()
        private = key.private_bytes(ssh.Encoding.PEM, ssh.PrivateFormat.OpenSSH, ssh.NoEncryption())
        public = key.public_key().public_bytes(ssh.Encoding.OpenSSH, ssh.PublicFormat.OpenSSH)
        return cls(f"{public.decode()} {comment}", private.decode())


def attested(github: GitHub, about: dict[str, Any]) -> str:
    """Whether GitHub attests the repository's builds (`about`, GitHub's answer): public, or
    on GitHub Enterprise Cloud; MissingStepError otherwise."""
    visibility = about.get("visibility") or ("private" if about.get("private") else "public")
    if visibility == "public":
        return f"{github.repository} is public: attestations, environments and rulesets work"
    owner = about.get("owner") or {}
    path = "/user" if owner.get("type") == "User" else f"/orgs/{owner.get('login')}"
    plan = (github.get(f"/{path}", "none").get("plan") or {}).get("name")
    if plan != "enterprise":
        raise MissingStepError(
            f"{github.repository} is {visibility} on GitHub "
            + (str(plan).title() if plan else "a plan this token cannot see")
            + ": GitHub attests a build of a repository that is not public only on GitHub "
            "Enterprise Cloud, so every release would stop at its attestation, before any tag"
            + (", and Free has no environment secrets or rulesets there" if plan == "free" else "")
            + ". Make it public (`gh repo edit "
            f"{github.repository} --visibility public --accept-visibility-change-consequences`) or "
            f"move it to GitHub Enterprise Cloud ({SET_UP})"
        )
    return f"{github.repository} is {visibility}, on GitHub Enterprise Cloud: attestations work"


def blueprint(github: GitHub) -> str | None:
    """The registry credential render.yaml on main pulls with, once it deploys this
    repository's image (MissingStepError otherwise)."""
    document = github.get_or_none("/contents/render.yaml", "contents: read")
    if document is None:
        raise MissingStepError(f"main holds no render.yaml for Render's Blueprint ({SET_UP})")
    text = base64.b64decode(str(document.get("content", ""))).decode(errors="replace")
    wanted = f"{image_name(github.repository)}:latest"
    if f'url: "{wanted}"' not in text:
        raise MissingStepError(
            f"render.yaml on main does not deploy {wanted}, and Render refuses a deploy from "
            f'another image repository: set each service\'s image url to "{wanted}" '
            f"(docs/release.md, 'Set it up on a fork')"
        )
    return registry_credential(text)


def package(github: GitHub, render: bool) -> str:
    """The image's package, given whether Render (`render`) pulls it."""
    image = f"ghcr.io/{github.repository.lower()}"
    path = package_of(github, image.rsplit("/", 1)[-1])
    settings = f"https://github.com{path[1:]}/settings"
    found = github.get_or_none(path, "packages: read", fix=TOKEN_FIX)
    tags = _release_tags(github)
    imageless = bool(tags) and (found is None or not _release_image(github, image))
    if imageless and (why := restart_refused(github, image, tags)):
        raise MissingStepError(why)
    if found is None:
        return f"package {image}: not published yet (the first release publishes it)"
    linked = str((found.get("repository") or {}).get("full_name") or github.repository)
    if linked.lower() != github.repository.lower():
        raise MissingStepError(
            f"the package {image} belongs to {linked}, not {github.repository}: this repository's "
            "release can push, read and prune it only once the package's settings -> Manage "
            f"Actions access -> Add repository names {github.repository} with the Admin role "
            f"(Write pushes, but retention's deletions need Admin) ({settings})"
        )
    visibility = found.get("visibility")
    role = (
        "; retention's deletions need this repository's role Admin in its Manage Actions access "
        "(GitHub gives it to the repository a package is linked to; no API shows it)"
    )
    if visibility == "public":
        return f"package {image}: public, linked to {github.repository}{role}"
    if not render:
        return f"package {image}: {visibility} (Render is off: nothing pulls it anonymously){role}"
    credential = blueprint(github)
    if credential:
        return f"package {image}: {visibility}; render.yaml pulls it with {credential!r}{role}"
    raise MissingStepError(
        f"the package {image} is {visibility}: Render pulls without credentials, so the deploy "
        "would fail. In its Package settings -> Danger Zone -> Change visibility -> Public "
        f"({settings}), or name a Render registry credential in render.yaml ({SET_UP})"
    )


def _release_tags(github: GitHub) -> dict[Version, str]:
    """The repository's release tags, each version's commit."""
    listed = github.listed("/git/matching-refs/tags/", "contents: read")
    return {
        version: str((item.get("object") or {}).get("sha", ""))
        for item in listed
        if (version := Version.from_tag(str(item.get("ref", "")).removeprefix("refs/tags/")))
    }


def _release_image(github: GitHub, image: str) -> bool:
    """Whether the registry holds a release image of `image` for the next release to extend."""
    name = image.partition("/")[2]
    owner = github.repository.split("/", 1)[0]
    registry = Registry(
        github.registry_url or "https://ghcr.io", name, credentials=f"{owner}:{github.token}"
    )
    try:
        return bool(find_previous(registry, image).digest)
    except (PreviousImageError, RegistryUnknownError) as error:
        raise MissingStepError(f"the registry could not say what {image} holds: {error}") from None
