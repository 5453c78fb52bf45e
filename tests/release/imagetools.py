"""`docker buildx imagetools inspect --raw IMAGE:TAG`, as the publish job runs it: the manifest the
registry serves, as it serves it, from the registry `FAKE_REGISTRY_URL` stands for, with the
credentials `docker login` left in the Docker config; docker's "not found" when there is none.

`python -m tests.release.imagetools IMAGE:TAG`: the workflow runner's stand-in `docker` runs it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.release.attestations import docker_login
from tools.release.registry import Registry


def inspect_raw(reference: str, registry_url: str, config: Path) -> tuple[int, bytes, str]:
    """(status, standard output, standard error) of `imagetools inspect --raw reference`."""
    host, _, path = reference.partition("/")
    name, _, tag = path.rpartition(":")
    registry = Registry(registry_url, name, credentials=docker_login(config, host))
    answer = registry.get(f"manifests/{tag}")
    if answer.status == 200:
        return 0, answer.body, ""
    if answer.status == 404:
        return 1, b"", f"ERROR: {reference}: not found\n"
    return 1, b"", f"ERROR: {reference}: HTTP {answer.status}\n"


if __name__ == "__main__":
    status, out, err = inspect_raw(
        sys.argv[1],
        os.environ["FAKE_REGISTRY_URL"],
        Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker"),
    )
    sys.stdout.buffer.write(out)
    sys.stderr.write(err)
    sys.exit(status)
