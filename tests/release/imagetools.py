"""`docker buildx imagetools`, as the publish and deploy jobs run it, against the registry
`FAKE_REGISTRY_URL` stands for, with the credentials `docker login` left in the Docker config:

- `inspect --raw IMAGE:TAG`: the manifest the registry serves, as it serves it; docker's "not
  found" when there is none;
- `inspect --format '{{json .Manifest}}' IMAGE:TAG`: its digest; `FAKE_LATEST`, where the test
  sets one, instead (what `latest` names, for a registry the test only answers reads from);
- `create --tag=IMAGE:TAG IMAGE@DIGEST`: the index put under the tag, as it is, where the test
  sets no `FAKE_LATEST`; else nothing.

`python -m tests.release.imagetools buildx imagetools ...`: the workflow runner's stand-in `docker`
runs it."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
import urllib.request
from pathlib import Path

from tests.release.attestations import docker_login
from tools.release.registry import Registry

INDEX = "application/vnd.oci.image.index.v1+json"


def inspect_raw(reference: str, registry_url: str, config: Path) -> tuple[int, bytes, str]:
    """(status, standard output, standard error) of `imagetools inspect --raw reference`."""
    host, _, path = reference.partition("/")
    name, _, tag = path.rpartition(":") if "@" not in path else path.partition("@")
    registry = Registry(registry_url, name, credentials=docker_login(config, host))
    answer = registry.get(f"manifests/{tag}")
    if answer.status == 200:
        return 0, answer.body, ""
    if answer.status == 404:
        return 1, b"", f"ERROR: {reference}: not found\n"
    return 1, b"", f"ERROR: {reference}: HTTP {answer.status}\n"


def imagetools(
    args: list[str], registry_url: str, config: Path, latest: str
) -> tuple[int, bytes, str]:
    """(status, standard output, standard error) of `docker buildx imagetools ARGS...`."""
    if "--raw" in args:
        return inspect_raw(args[-1], registry_url, config)
    if latest:  # a registry the test answers reads from: nothing moves, `latest` is this
        return 0, json.dumps({"digest": latest}).encode() + b"\n" if "inspect" in args else b"", ""
    status, body, said = inspect_raw(args[-1], registry_url, config)
    if status:
        return status, b"", said
    if "inspect" in args:
        digest = f"sha256:{hashlib.sha256(body).hexdigest()}"
        return 0, json.dumps({"digest": digest}).encode() + b"\n", ""
    for reference in [arg.removeprefix("--tag=") for arg in args if arg.startswith("--tag=")]:
        host, _, path = reference.partition("/")
        name, _, tag = path.rpartition(":")
        login = base64.b64encode(docker_login(config, host).encode()).decode()
        request = urllib.request.Request(
            f"{registry_url}/v2/{name}/manifests/{tag}",
            data=body,
            method="PUT",
            headers={"Content-Type": INDEX, "Authorization": f"Basic {login}"},
        )
        urllib.request.urlopen(request, timeout=10).close()
    return 0, b"", ""


if __name__ == "__main__":
    status, out, err = imagetools(
        sys.argv[3:],
        os.environ["FAKE_REGISTRY_URL"],
        Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker"),
        os.environ.get("FAKE_LATEST", ""),
    )
    sys.stdout.buffer.write(out)
    sys.stderr.write(err)
    sys.exit(status)
