"""The `rules`, `tag` and `check-pull` commands."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

from tools.release.blueprint import BlueprintError, check
from tools.release.environment import TAG_RULE, check_environment
from tools.release.lineage import Git
from tools.release.registry import RegistryUnknownError, check_pullable
from tools.release.rules import TAG_KEY_SECRET, check_tag_rules
from tools.release.tagging import Repository, create_tag

DEFAULT_API_URL = "https://api.github.com"


def check_rules(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    if args.repository:
        environ = {**environ, "GITHUB_REPOSITORY": args.repository}
    api_url, repository, token = github_context(environ, "checking the repository's rules")
    check_environment(api_url, repository, args.environment, token, args.branch)
    print(f"environment {args.environment}: only {args.branch} and tags {TAG_RULE} may deploy")
    said = check_tag_rules(
        api_url,
        repository,
        token,
        credential=args.tag_credential,
        environment=args.environment,
    )
    print("\n".join(said))
    return 0


def make_tag(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    repository = Repository.from_environ(environ)
    key = environ.get(TAG_KEY_SECRET, "")
    said = create_tag(args.tag, args.sha, repository, Git(), key=key, environment=args.environment)
    print(said)
    return 0


def check_pull(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    credential = _blueprint_credential(args.blueprint, args.repository)
    if credential:
        print(f"render.yaml pulls {args.image} with the registry credential {credential!r}")
        return 0
    base_url = environ.get("RELEASE_REGISTRY_URL", "").strip() or None
    try:
        print(check_pullable(args.image, args.digest, args.repository, base_url=base_url))
    except RegistryUnknownError as error:
        print(
            "::warning title=package visibility::the registry could not say whether Render can "
            f"pull {args.image} ({error}): deploying anyway"
        )
    return 0


def _blueprint_credential(path: Path | None, repository: str) -> str | None:
    """The registry credential of the Blueprint generated for `repository`'s image, if any."""
    try:
        return None if path is None else check(path.read_text(), repository).credential
    except (OSError, BlueprintError):
        return None


def github_context(environ: Mapping[str, str], what: str) -> tuple[str, str, str]:
    """(API URL, owner/name, token) from the variables GitHub Actions sets."""
    token = environ.get("GITHUB_TOKEN", "").strip()
    repository = environ.get("GITHUB_REPOSITORY", "").strip()
    if not (token and repository):
        raise ValueError(
            f"{what} needs GITHUB_TOKEN (yours: GITHUB_TOKEN=$(gh auth token)) and the repository "
            "(GITHUB_REPOSITORY, or --repository where the command takes it), and one is not set"
        )
    return environ.get("GITHUB_API_URL", DEFAULT_API_URL), repository, token
