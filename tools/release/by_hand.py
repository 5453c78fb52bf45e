"""The set-up steps `python -m tools.release setup` checks but leaves to the owner: the
repository's plan, the Blueprint on main, the image's package; each missing one names its fix."""

from __future__ import annotations

import base64
import urllib.parse

from tools.release.blueprint import BlueprintError, Image, check
from tools.release.github import GitHub, GitHubError
from tools.release.previous import PreviousImageError, find_previous
from tools.release.registry import Registry, RegistryUnknownError
from tools.release.render import DeployError
from tools.release.rules import SET_UP
from tools.release.version import Version

HOOK_SECRET = "RENDER_DEPLOY_HOOK_URL"
SERVICE_VARIABLE = "RENDER_SERVICE_URL"
# What the owner's token needs beyond `repo` to read the package (GitHub's packages API).
TOKEN_FIX = "`gh auth refresh -s read:packages`, then run it again"


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


def blueprint(fork: GitHub) -> Image:
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


def package(fork: GitHub, render: bool) -> str:
    """The image's package, given whether Render (`render`) pulls it."""
    owner, name = fork.repository.split("/", 1)
    image = f"ghcr.io/{fork.repository.lower()}"
    kind = fork.get(f"//users/{owner}", "none").get("type")
    plural = "orgs" if kind == "Organization" else "users"
    path = f"//{plural}/{owner}/packages/container/{urllib.parse.quote(name.lower())}"
    try:
        found = fork.get(path, "packages: read", fix=TOKEN_FIX)
    except GitHubError as error:
        if error.status != 404:
            raise
        found = None
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
            "(Write pushes, but retention's deletions need Admin) "
            f"(https://github.com/{plural}/{owner}/packages/container/{name.lower()}/settings)"
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
    credential = blueprint(fork).credential
    if credential:
        return f"package {image}: {visibility}; render.yaml pulls it with {credential!r}{role}"
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
    owner = fork.tag_owner(newest, targets[newest])
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
