"""`python -m tools.release preflight`: every set-up step a fork's releases need, each said."""

from __future__ import annotations

import base64
import urllib.parse
from collections.abc import Callable

from tools.release.blueprint import BlueprintError, Image, check
from tools.release.environment import check_environment
from tools.release.github import GitHub, GitHubError
from tools.release.previous import PreviousImageError, find_previous
from tools.release.registry import Registry, RegistryUnknownError
from tools.release.render import DeployError
from tools.release.rules import (
    SET_UP,
    check_tag_rules,
    covers_main,
    missing_branch_rules,
    read_rulesets,
)
from tools.release.upstream import tag_owner
from tools.release.version import Version

HOOK_SECRET = "RENDER_DEPLOY_HOOK_URL"
SERVICE_VARIABLE = "RENDER_SERVICE_URL"
# What the owner's token needs beyond `repo` to read the package (GitHub's packages API).
TOKEN_FIX = "`gh auth refresh -s read:packages`, then run it again"

OK, OFF = "ok", "off"


class MissingStepError(DeployError):
    """A set-up step missing; the message names its fix."""


def _setup(fork: GitHub, flags: str = "") -> str:
    return f"`python -m tools.release setup --repository {fork.repository}{flags}`"


Check = Callable[[GitHub], tuple[str, str]]


def preflight(fork: GitHub) -> tuple[list[tuple[str, str]], list[str]]:
    """The steps that hold or are off, (OK or OFF, line), and those missing with their fix."""
    checks: list[Check] = [
        _repository,
        _environment,
        lambda fork: (OK, "; ".join(check_tag_rules(fork))),
        _branch,
        _render,
        _repository_hook,
        _package,
        _schedule,
        _pages,
        _workflow,
        _dependabot,
    ]
    holds, missing = [], []
    for step in checks:
        try:
            holds.append(step(fork))
        except (DeployError, GitHubError) as error:
            missing.extend(str(error).split("; and "))
    return holds, missing


def _repository(fork: GitHub) -> tuple[str, str]:
    repository = fork.get("", "metadata: read")
    visibility = repository.get("visibility") or (
        "private" if repository.get("private") else "public"
    )
    if visibility == "public":
        return OK, f"{fork.repository} is public: attestations, environments and rulesets work"
    owner = repository.get("owner") or {}
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
    return OK, f"{fork.repository} is {visibility}, on GitHub Enterprise Cloud: attestations work"


def _environment(fork: GitHub) -> tuple[str, str]:
    check_environment(fork, "main")
    return OK, f"environment {fork.environment}: only main and the release tags may deploy"


def _branch(fork: GitHub) -> tuple[str, str]:
    rulesets = read_rulesets(fork, target="branch")[1]
    missing = missing_branch_rules(rulesets)
    if missing:
        raise MissingStepError(
            f"no active branch ruleset of {fork.repository} restricts {', '.join(sorted(missing))} "
            "of main: anyone who can push could rewrite or delete the history the releases "
            f"descend from: {_setup(fork)} makes one (or adds the rules to yours)"
        )
    names = ", ".join(sorted(repr(str(r.get("name"))) for r in rulesets if covers_main(r)))
    return OK, f"main can be neither deleted nor force-pushed ({names})"


def _render_state(fork: GitHub) -> tuple[bool, str]:
    """Whether the environment holds the deploy hook, and RENDER_SERVICE_URL."""
    hook = HOOK_SECRET in fork.secrets(fork.env_path)  # no environment: said by its own check
    return hook, fork.variables().get(SERVICE_VARIABLE, "").strip()


def _render(fork: GitHub) -> tuple[str, str]:
    hook, service = _render_state(fork)
    if not hook and not service:
        return OFF, (
            f"Render is off (no {HOOK_SECRET}, no {SERVICE_VARIABLE}): the release publishes "
            "images and deploys nowhere; to deploy on Render, "
            f"{_setup(fork, ' --render-service-url https://<service>.onrender.com')}"
        )
    if hook and not service:
        raise MissingStepError(
            f"the {fork.environment} environment holds {HOOK_SECRET} but the repository variable "
            f"{SERVICE_VARIABLE} is not set, so the deploy job never runs: every release is "
            f"green and nothing is deployed. Set it: `gh variable set {SERVICE_VARIABLE} --repo "
            f"{fork.repository} --body https://<service>.onrender.com`; or, to deploy nowhere, "
            f"`gh secret delete {HOOK_SECRET} --env {fork.environment} --repo {fork.repository}`"
        )
    if not hook:
        raise MissingStepError(
            f"{SERVICE_VARIABLE} is set ({service}) but the {fork.environment} environment has no "
            f"{HOOK_SECRET}, so every deploy fails: `gh secret set {HOOK_SECRET} --env "
            f"{fork.environment} --repo {fork.repository}` and paste the service's Settings -> "
            f"Deploy Hook from Render; or, to deploy nowhere, `gh variable delete "
            f"{SERVICE_VARIABLE} --repo {fork.repository}`"
        )
    _blueprint(fork)
    return OK, f"Render is on: the deploy hook is set and the deploy polls {service}/healthz"


def _blueprint(fork: GitHub) -> Image:
    """The image render.yaml on main deploys, checked to be this repository's."""
    fix = (
        f"`python -m tools.release blueprint --repository {fork.repository} --output "
        "render.yaml`, commit and push it"
    )
    try:
        document = fork.get("/contents/render.yaml", "contents: read")
    except GitHubError as error:
        if error.status != 404:
            raise
        raise MissingStepError(f"main holds no render.yaml for Render's Blueprint: {fix}") from None
    text = base64.b64decode(str(document.get("content", ""))).decode(errors="replace")
    try:
        return check(text, fork.repository)
    except BlueprintError as error:
        raise MissingStepError(f"render.yaml on main: {error}") from None


def _repository_hook(fork: GitHub) -> tuple[str, str]:
    if HOOK_SECRET in fork.secrets():
        raise MissingStepError(
            f"{fork.repository} has a repository secret {HOOK_SECRET}, which a workflow on any "
            f"branch can read, and the deploy hook deploys: `gh secret delete {HOOK_SECRET} --repo "
            f"{fork.repository}` (the hook belongs to the {fork.environment} environment only)"
        )
    return (
        OK,
        f"no repository secret {HOOK_SECRET}: only the {fork.environment} environment holds it",
    )


def _package(fork: GitHub) -> tuple[str, str]:
    owner, name = fork.repository.split("/", 1)
    image = f"ghcr.io/{fork.repository.lower()}"
    kind = fork.get(f"//users/{owner}", "none").get("type")
    plural = "orgs" if kind == "Organization" else "users"
    path = f"//{plural}/{owner}/packages/container/{urllib.parse.quote(name.lower())}"
    try:
        package = fork.get(path, "packages: read", fix=TOKEN_FIX)
    except GitHubError as error:
        if error.status != 404:
            raise
        package = None
    tags = _own_release_tags(fork)
    if package is None:
        if tags:
            raise MissingStepError(_tags_without_image(fork, image, tags, "no package"))
        return OK, f"package {image}: not published yet (the first release publishes it)"
    linked = str((package.get("repository") or {}).get("full_name") or fork.repository)
    if linked.lower() != fork.repository.lower():
        raise MissingStepError(
            f"the package {image} belongs to {linked}, not {fork.repository}: this repository's "
            "release can push, read and prune it only once the package's settings -> Manage "
            f"Actions access -> Add repository names {fork.repository} with the Admin role "
            "(Write pushes, but retention's deletions need Admin) "
            f"(https://github.com/{plural}/{owner}/packages/container/{name.lower()}/settings)"
        )
    if tags and not _release_image(fork, image):
        raise MissingStepError(_tags_without_image(fork, image, tags, "no release image"))
    visibility = package.get("visibility")
    role = (
        "; retention's deletions need this repository's role Admin in its Manage Actions access "
        "(GitHub gives it to the repository a package is linked to; no API shows it)"
    )
    if visibility == "public":
        return OK, f"package {image}: public, linked to {fork.repository}{role}"
    if not all(_render_state(fork)):
        return (
            OK,
            f"package {image}: {visibility} (Render is off: nothing pulls it anonymously){role}",
        )
    credential = _blueprint(fork).credential
    if credential:
        return OK, f"package {image}: {visibility}; render.yaml pulls it with {credential!r}{role}"
    raise MissingStepError(
        f"the package {image} is {visibility}: Render pulls without credentials, so the deploy "
        "would fail. In its Package settings -> Danger Zone -> Change visibility -> Public "
        f"(https://github.com/{plural}/{owner}/packages/container/{name.lower()}/settings), or "
        "name a Render registry credential in render.yaml (`python -m tools.release blueprint "
        f"--registry-credential`) ({SET_UP})"
    )


def _own_release_tags(fork: GitHub) -> list[str]:
    """The repository's release tags, none if its newest is its fork parent's."""
    listed = fork.listed("/git/matching-refs/tags/v?per_page=100", "contents: read")
    targets = {
        name: str((item.get("object") or {}).get("sha", ""))
        for item in listed
        if Version.from_tag(name := str(item.get("ref", "")).removeprefix("refs/tags/"))
    }
    if not targets:
        return []
    newest = max(targets, key=lambda tag: Version.from_tag(tag) or Version(0, 0, 0))
    owner = tag_owner(fork, newest, targets[newest])
    return list(targets) if owner == fork.repository else []


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


def _tags_without_image(fork: GitHub, image: str, tags: list[str], what: str) -> str:
    newest = max(tags, key=lambda tag: Version.from_tag(tag) or Version(0, 0, 0))
    return (
        f"{fork.repository} has {len(tags)} release tag(s), the newest {newest}, "
        f"and {what} of {image}: the release's version job stops, its track record having nothing "
        "to extend. A renamed repository or a deleted package: the record is under the old "
        "image; restore it, or start anew on purpose: run the release by hand on main with the "
        "input start-anew saying why (`gh workflow run release.yml --ref main -f start-anew="
        "'...'`; docs/release.md, 'The track record')"
    )


def _schedule(fork: GitHub) -> tuple[str, str]:
    named = fork.variables().get("RELEASE_REPOSITORY", "").strip()
    if named.lower() != fork.repository.lower():
        now = f"names {named}" if named else "is not set"
        raise MissingStepError(
            f"the repository variable RELEASE_REPOSITORY {now}, so the schedule lapses after 60 "
            f"days without a push: `gh variable set RELEASE_REPOSITORY --repo {fork.repository} "
            f"--body {fork.repository}` ({_setup(fork)} sets it)"
        )
    return OK, "RELEASE_REPOSITORY names this repository: the release keeps its schedule on"


def _pages(fork: GitHub) -> tuple[str, str]:
    docs = fork.get("/actions/workflows/docs.yml", "actions: read")
    if docs.get("state") == "disabled_manually":
        return OFF, "GitHub Pages is off: the docs workflow is disabled, so no site is published"
    try:
        pages = fork.get("/pages", "pages: read")
    except GitHubError as error:
        if error.status != 404:
            raise
        pages = {}
    if pages.get("build_type") != "workflow":
        raise MissingStepError(
            "GitHub Pages does not build from GitHub Actions, so the docs workflow fails on every "
            f"push: {_setup(fork)} sets it, or {_setup(fork, ' --no-pages')} disables the docs "
            "workflow (Pages off)"
        )
    return OK, "GitHub Pages: built by the docs workflow"


def _workflow(fork: GitHub) -> tuple[str, str]:
    workflow = fork.get("/actions/workflows/release.yml", "actions: read")
    if workflow.get("state") != "active":
        raise MissingStepError(
            f"the release workflow is {workflow.get('state')}: its schedule does not run. "
            f"{_setup(fork)} enables it (or Actions -> release -> Enable workflow)"
        )
    return OK, "the release workflow is enabled: its schedule runs every six hours"


def _dependabot(fork: GitHub) -> tuple[str, str]:
    if not fork.get("/automated-security-fixes").get("enabled"):
        raise MissingStepError(
            "Dependabot's security updates are off (a fork's are, until its owner turns them "
            "on), so a pin an advisory names waits for you to bump it: "
            f"{_setup(fork)} turns them on (or Settings -> Advanced Security)"
        )
    return OK, "Dependabot's security updates are on: an advisory's bump comes as a pull request"
