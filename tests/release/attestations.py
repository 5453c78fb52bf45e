"""`gh attestation verify`, as the release calls it, answered from attestations a test stored:
`<store>/<digest>.json` holds the certificates of the provenance attestations of that digest
(each as `gh attestation verify --format json` prints a verified certificate). The policy is
gh's: a certificate counts when its source repository is `--repo`'s and its signer (the
Subject Alternative Name) matches `--cert-identity-regex` (Go's regexp, searched: the release
anchors it); none, and gh's error, exit 1. Signatures are taken as valid: what is checked here is
what the release asks of the certificate.

Before any attestation, gh resolves the `oci://` subject through its registry
(go-containerregistry's `remote.Get`, with the credentials of Docker's keychain): so does this,
at the address `FAKE_REGISTRY_URL` names for the subject's host, with the credentials the Docker
config (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`) holds for that host, as
`docker login` writes them; a registry that refuses fails it with gh's words.

`python -m tests.release.attestations attestation verify oci://IMAGE@DIGEST ...` with
`FAKE_ATTESTATIONS` naming the store: the stand-in `gh` on the workflow runner's PATH, and make
image-test's."""

from __future__ import annotations

import base64
import json
import os
import re
import sys
from pathlib import Path

from tools.release.registry import Registry

GITHUB = "https://github.com"


def certificate(repository: str, ref: str, workflow: str = ".github/workflows/release.yml") -> dict:
    """A provenance certificate as GitHub's signing of a workflow run on `ref` makes it."""
    signer = f"{GITHUB}/{repository}/{workflow}@{ref}"
    return {
        "subjectAlternativeName": signer,
        "issuer": "https://token.actions.githubusercontent.com",
        "githubWorkflowRepository": repository,
        "githubWorkflowRef": ref,
        "buildSignerURI": signer,
        "runnerEnvironment": "github-hosted",
        "sourceRepositoryURI": f"{GITHUB}/{repository}",
        "sourceRepositoryRef": ref,
        "buildTrigger": "push",
    }


def attest(store: Path, digest: str, *certificates: dict) -> None:
    store.mkdir(parents=True, exist_ok=True)
    (store / f"{digest}.json").write_text(json.dumps(list(certificates)))


# gh's words (pkg/cmd/attestation/artifact/oci) for a registry's UNAUTHORIZED and DENIED.
REFUSED = {
    401: "remote registry authorization failed, please authenticate with the registry and try "
    "again",
    403: "the provided token was denied access to the requested resource, please check the "
    "token's expiration and repository access",
}


def docker_login(config: Path, host: str) -> str:
    """`user:password` the Docker config holds for `host` (`docker login`'s `auths`), or ""."""
    try:
        auths = json.loads((config / "config.json").read_text()).get("auths", {})
    except FileNotFoundError:
        return ""
    encoded = auths.get(host, {}).get("auth", "")
    return base64.b64decode(encoded).decode() if encoded else ""


def resolve(subject: str, registry_url: str, config: Path) -> str:
    """gh's error when the registry does not serve the subject's manifest to the Docker
    config's credentials; "" when it does."""
    host, _, reference = subject.removeprefix("oci://").partition("/")
    name, _, digest = reference.partition("@")
    registry = Registry(registry_url, name, credentials=docker_login(config, host))
    status = registry.get(f"manifests/{digest}").status
    if status == 200:
        return ""
    return REFUSED.get(status, f"failed to fetch remote image: {subject}: HTTP {status}")


def verify(
    arguments: list[str], store: Path, registry_url: str, config: Path
) -> tuple[int, str, str]:
    """(status, standard output, standard error) of `gh attestation verify arguments...`."""
    subject = next(argument for argument in arguments if argument.startswith("oci://"))
    refused = resolve(subject, registry_url, config)
    if refused:
        return 1, "", f"✗ Loading digest for {subject} failed\n\nError: {refused}\n"
    digest = subject.rpartition("@")[2]
    repository = arguments[arguments.index("--repo") + 1]
    identity = arguments[arguments.index("--cert-identity-regex") + 1]
    file = store / f"{digest}.json"
    if not file.exists():
        failed = "✗ Loading attestations from GitHub API failed"
        return 1, "", f"{failed}\n\nError: no attestations found for {subject}\n"
    matching = [
        {"verificationResult": {"signature": {"certificate": found}}}
        for found in json.loads(file.read_text())
        if found["sourceRepositoryURI"].lower() == f"{GITHUB}/{repository}".lower()
        and re.search(identity, found["subjectAlternativeName"])
    ]
    if not matching:
        return (
            1,
            "",
            (
                '✗ Verification failed\n\nError: verifying with issuer "sigstore.dev": failed to '
                "verify certificate identity: no matching CertificateIdentity found\n"
            ),
        )
    return 0, json.dumps(matching), ""


def main(arguments: list[str]) -> int:
    """`gh attestation verify ARGUMENTS...` on the stand-ins' environment: its exit status."""
    status, out, err = verify(
        arguments,
        Path(os.environ["FAKE_ATTESTATIONS"]),
        os.environ["FAKE_REGISTRY_URL"],
        Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker"),
    )
    sys.stdout.write(out)
    sys.stderr.write(err)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[3:]))
