"""The commands a simulated month's jobs find on their PATH (tests/release/month.py), each asking
the world (`MONTH_URL`: tests/release/month_world.py) whether a fault strikes it first:

- `gh`: `attestation verify` (tests/release/attestations.py); a fault answers as gh does to
  GitHub's HTTP 503, or hangs (a time-out);
- `docker`: `buildx imagetools inspect` and `create` against the registry (`FAKE_REGISTRY_URL`)
  with the job's `docker login`, `create`/`cp`/`rm` reading a file out of a pushed image, and any
  pull of Docker Hub's base image, which a fault refuses with HTTP 429 (none where no world runs:
  tests/release/test_workflow_runs.py's);
- `skopeo copy docker://ghcr.io/...`: every blob of the image into an OCI layout, read logged
  in, for the secret scan;
- `make test`: the test job's gate, stood in for (it needs Debian as root and an hour), failing
  where a fault says (a flaky test), and running the checkout's audit (`ci/audit.py`) against the
  world's vulnerability feed.

`python -m tests.release.month_tools TOOL ARGS...`
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from tests.release import attestations
from tests.release.attestations import docker_login
from tests.release.oci_registry import digest_of
from tools.release.registry import Registry
from tools.release.render import Answer

HOST = "ghcr.io"
REFUSED_429 = (
    "failed to resolve source metadata for docker.io: unexpected status from HEAD request to "
    "https://registry-1.docker.io/v2/: 429 Too Many Requests: toomanyrequests: You have reached "
    "your unauthenticated pull rate limit. https://www.docker.com/increase-rate-limit"
)
INDEX = "application/vnd.oci.image.index.v1+json"


def fault(target: str, detail: str, *, after_a_move: bool = False) -> dict:
    """The fault the world says strikes this call ({} when none does, or no world runs)."""
    if "MONTH_URL" not in os.environ:  # tests/release/test_workflow_runs.py's docker
        return {}
    asked = {"target": target, "detail": detail, "after_a_move": "1" if after_a_move else ""}
    query = urllib.parse.urlencode(asked)
    with urllib.request.urlopen(f"{os.environ['MONTH_URL']}/_month/consume?{query}") as answer:
        return dict(json.loads(answer.read()))


class Once(Registry):
    """The registry as docker and skopeo ask it: each request once, never again on a 5xx
    (skopeo's --retry-times is 0); gh's go-containerregistry retries (attestations.py)."""

    def get(self, path: str) -> Answer:
        return self._get(path)


def registry(credentials: str | None = None, base: str = "") -> Registry:
    """The registry ghcr.io stands for (`base`, else $FAKE_REGISTRY_URL), logged in with
    `credentials`, else as the job's `docker login` left it."""
    config = Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker")
    login = docker_login(config, HOST) if credentials is None else credentials
    return Once(base or os.environ["FAKE_REGISTRY_URL"], "", credentials=login, timeout=30)


def manifest(reference: str, credentials: str | None = None, base: str = "") -> bytes:
    """The manifest `ghcr.io/owner/name:tag` (or `@digest`) names; SystemExit as docker's."""
    path = reference.removeprefix(f"{HOST}/")
    name, _, tag = path.rpartition("@") if "@" in path else path.rpartition(":")
    answer = registry(credentials, base).get(f"/v2/{name}/manifests/{tag}")
    if answer.status != 200:
        said = "not found" if answer.status == 404 else f"HTTP {answer.status}"
        raise SystemExit(f"ERROR: {reference}: {said}")
    return answer.body


def image_files(reference: str, credentials: str | None = None, base: str = "") -> dict[str, bytes]:
    """Every file of the one-platform image `reference` (ghcr.io/owner/name@digest)."""
    name = reference.removeprefix(f"{HOST}/").partition("@")[0]
    index = json.loads(manifest(reference, credentials, base))
    child = f"{name}@{index['manifests'][0]['digest']}"
    platform = json.loads(manifest(child, credentials, base))
    files: dict[str, bytes] = {}
    for layer in platform["layers"]:
        blob = registry(credentials, base).get(f"/v2/{name}/blobs/{layer['digest']}")
        if blob.status != 200:
            raise SystemExit(f"ERROR: {reference}: its layer answered HTTP {blob.status}")
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob.body))) as archive:
            for member in archive.getmembers():
                if member.isfile():
                    files[member.name] = archive.extractfile(member).read()  # type: ignore[union-attr]
    return files


def gh(args: list[str]) -> int:
    struck = fault("gh", "gh " + " ".join(args))
    if struck.get("kind") == "gh-timeout":
        scale = float(os.environ["MONTH_TIME_SCALE"])  # `seconds` on the month's clock
        time.sleep(float(struck.get("seconds", 2 * 60)) / scale)
        print("Post https://api.github.com/graphql: context deadline exceeded", file=sys.stderr)
        return 1
    if struck:
        url = "https://api.github.com/repos/octo/cryptopredict"
        print(f"HTTP 503: Service Unavailable ({url})", file=sys.stderr)
        return 1
    if args[:2] == ["attestation", "verify"]:
        return attestations.main(args[2:])
    print(f"gh {' '.join(args)}: not a command this stand-in answers", file=sys.stderr)
    return 1


def docker(args: list[str]) -> int:
    if any("docker.io/" in arg for arg in args) and fault("base-image", " ".join(args)):
        print(f"ERROR: {REFUSED_429}", file=sys.stderr)
        return 1
    if args[:2] == ["buildx", "imagetools"]:
        return _imagetools(args[2], args[3:])
    containers = Path.home() / ".containers"
    if args[0] == "create":
        containers.mkdir(exist_ok=True)
        (containers / "c1").write_text(args[-1])
        print("c1")
    elif args[0] == "cp":
        container, _, path = args[1].partition(":")
        files = image_files((containers / container).read_text())
        Path(args[2]).write_bytes(files[path.lstrip("/")])
    return 0  # `pull` (GitHub's runner pulls a job's container first), `rm`


def _imagetools(command: str, args: list[str]) -> int:
    mirrored = Path(os.environ.get("MONTH_CACHE", "")) / "mirrored"  # the base's digests copied
    if command == "create" and args[-1].startswith("docker.io/"):
        # The base copied from Docker Hub into the repository's package: the bytes are the
        # Hub's, which the world has not, so the copy is noted by its digest.
        mirrored.mkdir(exist_ok=True)
        (mirrored / args[-1].rpartition("@")[2]).touch()
        return 0
    if command == "create":
        return _move_tags(
            [a.removeprefix("--tag=") for a in args if a.startswith("--tag=")], args[-1]
        )
    if "/base@" in args[-1]:
        return 0 if (mirrored / args[-1].rpartition("@")[2]).exists() else 1
    body = manifest(args[-1])
    if "--raw" in args:
        sys.stdout.buffer.write(body)
    else:
        print(json.dumps({"mediaType": INDEX, "digest": digest_of(body), "size": len(body)}))
    return 0


def _move_tags(refs: list[str], source: str) -> int:
    """`imagetools create --tag=...`: each tag pointed at the source's index; a publish the
    world cancels stops after the first."""
    index = manifest(source)
    client = registry()
    basic = base64.b64encode(client.credentials.encode()).decode()
    for ref in refs:
        name, _, tag = ref.removeprefix(f"{HOST}/").rpartition(":")
        if fault("publish", ref, after_a_move=True):
            print("Error: The operation was canceled.", file=sys.stderr)
            return 143
        request = urllib.request.Request(
            f"{client.base_url}/v2/{name}/manifests/{tag}",
            data=index,
            method="PUT",
            headers={"Content-Type": INDEX, "Authorization": f"Basic {basic}"},
        )
        try:
            urllib.request.urlopen(request, timeout=30).close()
        except OSError as error:
            print(f"ERROR: failed to push {ref}: {error}", file=sys.stderr)
            return 1
        print(f"pushed {ref}")
    return 0


def skopeo(args: list[str]) -> int:
    """`skopeo copy --all docker://IMAGE@DIGEST oci:DIR`: every blob of the image (its index,
    manifests, configs and layers) into DIR's OCI layout, read logged in."""
    reference = next(arg for arg in args if arg.startswith("docker://")).removeprefix("docker://")
    name = reference.removeprefix(f"{HOST}/").partition("@")[0]
    blobs = Path(args[-1].removeprefix("oci:")) / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    index = manifest(reference)
    documents = [
        index,
        *(manifest(f"{name}@{m['digest']}") for m in json.loads(index)["manifests"]),
    ]
    for document in documents:
        (blobs / digest_of(document).removeprefix("sha256:")).write_bytes(document)
        parsed = json.loads(document)
        for blob in [parsed.get("config"), *parsed.get("layers", [])]:
            if blob:
                answer = registry().get(f"/v2/{name}/blobs/{blob['digest']}")
                if answer.status != 200:  # skopeo's words
                    said = f"fetching blob: received unexpected HTTP status: {answer.status}"
                    raise SystemExit(f"Error: reading blob {blob['digest']}: {said}")
                (blobs / blob["digest"].removeprefix("sha256:")).write_bytes(answer.body)
    return 0


def make(args: list[str]) -> int:
    struck = fault("make-test", os.environ.get("GITHUB_SHA", ""))
    if struck:
        print("FAILED tests/collect/test_poller.py::test_a_poll_survives_a_reset - flaky")
        print("make: *** [Makefile:170: test] Error 1", file=sys.stderr)
        return 2
    print(f"make {' '.join(args)}: the suite stood in for (it needs Debian as root); the audit:")
    return audit()


def audit() -> int:
    """`python ci/audit.py`, as make test runs it, against the world's feed; its answer (its
    words, its exit status, the findings it writes) kept for the same lock files, ignore file,
    advisories, kind of ref (a release tag or not) and day: pip-audit takes seconds a run."""
    with urllib.request.urlopen(f"{os.environ['MONTH_URL']}/_month/advisories") as answer:
        key = hashlib.sha256(answer.read())
    tag = os.environ.get("GITHUB_REF_TYPE") == "tag"
    key.update(f"{tag} {time.strftime('%F')}".encode())  # what ci/audit.py reads of them
    for path in [*sorted(Path().glob("requirements-*.txt")), Path("ci/audit-ignore.toml")]:
        key.update(path.read_bytes() if path.exists() else b"")
    kept = Path(os.environ["MONTH_CACHE"]) / f"audit-{key.hexdigest()}.json"
    findings = Path("reports/audit.md")
    if not kept.exists():
        ask = [sys.executable, "ci/audit.py"]
        done = subprocess.run(ask, capture_output=True, text=True, check=False)
        written = findings.read_text() if findings.exists() else None
        kept.write_text(json.dumps([done.returncode, done.stdout + done.stderr, written]))
    status, said, written = json.loads(kept.read_text())
    if written is not None:
        findings.parent.mkdir(exist_ok=True)
        findings.write_text(written)
    print(said, end="")
    return int(status)


def lost(args: list[str]) -> int:
    """0 where the world says the answer to this call (`args`) is lost after GitHub acted."""
    return 0 if fault("answer-lost", " ".join(args)) else 1


TOOLS = {"gh": gh, "docker": docker, "skopeo": skopeo, "make": make, "lost": lost}

if __name__ == "__main__":
    sys.exit(TOOLS[sys.argv[1]](sys.argv[2:]))
