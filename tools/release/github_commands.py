"""The `rules`, `tag` and `check-pull` commands."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path

from tools.release.blueprint import BlueprintError, check
from tools.release.environment import TAG_RULE, check_environment
from tools.release.github import GitHub
from tools.release.lineage import Git
from tools.release.registry import RegistryUnknownError, check_pullable
from tools.release.rules import TAG_KEY_SECRET, check_tag_rules
from tools.release.tagging import create_tag


def check_rules(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    what = "checking the repository's rules"
    github = GitHub.from_environ(environ, what, args.repository, environment=args.environment)
    check_environment(github, args.branch)
    print(f"environment {args.environment}: only {args.branch} and tags {TAG_RULE} may deploy")
    print("\n".join(check_tag_rules(github, credential=args.tag_credential)))
    return 0


def make_tag(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    github = GitHub.from_environ(environ, "creating the release tag", environment=args.environment)
    print(create_tag(args.tag, args.sha, github, Git(), key=environ.get(TAG_KEY_SECRET, "")))
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
