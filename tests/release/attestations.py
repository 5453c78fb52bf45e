"""`gh attestation verify`, as the release calls it, answered from attestations a test stored:
`<store>/<digest>.json` holds the certificates of the provenance attestations of that digest
(each as `gh attestation verify --format json` prints a verified certificate). The policy is
gh's: a certificate counts when its source repository is `--repo`'s and its signer (the
Subject Alternative Name) matches `^https://github.com/<--signer-workflow>`, the regular
expression gh builds (a prefix: `release.yml.bak.yml` matches `release.yml`); the verified
results print as gh prints them; none, and gh's error, exit 1. Signatures are taken as valid:
what is checked here is what the release asks of the certificate.

`python -m tests.release.attestations attestation verify oci://IMAGE@DIGEST ...` with
`FAKE_ATTESTATIONS` naming the store: the stand-in `gh` on the workflow runner's PATH."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

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


def verify(arguments: list[str], store: Path) -> tuple[int, str, str]:
    """(status, standard output, standard error) of `gh attestation verify arguments...`."""
    subject = next(argument for argument in arguments if argument.startswith("oci://"))
    digest = subject.rpartition("@")[2]
    repository = arguments[arguments.index("--repo") + 1]
    workflow = arguments[arguments.index("--signer-workflow") + 1]
    file = store / f"{digest}.json"
    if not file.exists():
        failed = "✗ Loading attestations from GitHub API failed"
        return 1, "", f"{failed}\n\nError: no attestations found for {subject}\n"
    matching = [
        {"verificationResult": {"signature": {"certificate": found}}}
        for found in json.loads(file.read_text())
        if found["sourceRepositoryURI"].lower() == f"{GITHUB}/{repository}".lower()
        and re.match(f"^{GITHUB}/{workflow}", found["subjectAlternativeName"])
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


if __name__ == "__main__":
    status, out, err = verify(sys.argv[3:], Path(os.environ["FAKE_ATTESTATIONS"]))
    sys.stdout.write(out)
    sys.stderr.write(err)
    sys.exit(status)
