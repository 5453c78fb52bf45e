"""The release image a release extends: found in a real registry (Debian's docker-registry) by
digest, and verified by `gh attestation verify`'s policy on the certificates a test stored
(tests/release/attestations.py); GHCR's refusals and pages from a local server in its shapes
(issue 67, bars 1 and 2)."""

from __future__ import annotations

import itertools
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.release import attestations
from tests.release.attestations import attest, certificate
from tests.release.ghcr import Package
from tools.release.cli import main
from tools.release.previous import Previous, PreviousImageError, find_previous, verify
from tools.release.registry import Registry

REPOSITORY = "octo/cryptopredict"
_names = itertools.count()


@pytest.fixture
def name(oci_registry) -> str:
    return f"octo/cryptopredict-{next(_names)}"


def found(oci_registry, name: str) -> Previous:
    return find_previous(Registry(oci_registry.url, name), f"ghcr.io/{name}")


def gh(registry, store: Path):
    """`gh attestation verify` answering from `store`, the subject's host leading to `registry`
    (no Docker login: a public package)."""

    def run(command):
        arguments = list(command[3:])
        status, out, err = attestations.verify(arguments, store, registry.url, store / "docker")
        return subprocess.CompletedProcess(command, status, out, err)

    return run


@pytest.mark.parametrize(
    ("certificates", "why"),
    [
        ((), "no attestations found"),
        ((certificate("mallory/cryptopredict", "refs/heads/main"),), "no matching"),
        ((certificate(REPOSITORY, "refs/heads/main", ".github/workflows/ci.yml"),), "no matching"),
        ((certificate(REPOSITORY, "refs/heads/feature"),), "no matching"),
        ((certificate(REPOSITORY, "refs/tags/v-x"),), "no matching"),
        (
            (certificate(REPOSITORY, "refs/heads/main", ".github/workflows/release.yml.bak.yml"),),
            "no matching",
        ),
    ],
    ids=[
        "missing",
        "another repository",
        "another workflow",
        "another branch",
        "not a release tag",
        "a workflow whose name starts with release.yml",
    ],
)
def test_a_latest_not_attested_by_this_repositorys_release_fails_naming_its_digest(
    oci_registry, name, tmp_path, certificates, why
):
    digest = oci_registry.push(name, ["latest"])
    if certificates:
        attest(tmp_path, digest, *certificates)
    with pytest.raises(PreviousImageError) as raised:
        verify(found(oci_registry, name), REPOSITORY, gh(oci_registry, tmp_path))
    said = str(raised.value)
    assert f"ghcr.io/{name}@{digest} (latest)" in said
    assert why in said
    assert "start-anew" in said  # the fix, both ways
    assert "imagetools create" in said


@pytest.mark.parametrize(  # gh's own words (cmd/gh/main.go) for GitHub unreachable, Go's, and
    "said",  # GitHub's HTTP 503 (issue 82); or gh not answering within RELEASE_GH_TIMEOUT
    [
        "error connecting to api.github.com\ncheck your internet connection",
        "no such host",
        "HTTP 503: Service Unavailable (https://api.github.com/repos/octo/cryptopredict)",
        None,
    ],
)
def test_gh_failing_to_reach_github_says_re_run_never_start_anew(said):
    """Issue 93: tried again, then re-run, never a new start of the track record."""
    tries = []

    def run(command: list[str]) -> subprocess.CompletedProcess[str]:
        tries.append(command)
        if said is None:
            raise subprocess.TimeoutExpired(command, 0.5)
        return subprocess.CompletedProcess(command, 1, "", said)

    previous = Previous("ghcr.io/octo/cryptopredict", "sha256:0", "latest", "")
    with pytest.raises(PreviousImageError, match=r"3 times.*Re-run the failed jobs") as raised:
        verify(previous, REPOSITORY, run)
    words = "gh attestation verify did not answer within 0.5 s" if said is None else said
    assert " ".join(words.split()) in str(raised.value)
    assert "start-anew" not in str(raised.value)
    assert len(tries) == 3, "tried after each delay"


def test_a_latest_gone_while_release_images_remain_extends_the_newest_of_them(
    oci_registry, name, tmp_path
):
    older = oci_registry.push(name, ["0.1.4", "0.1.4-20261122060000"])
    newest = oci_registry.push(name, ["0.1.5-20261123000000"])
    restamped = oci_registry.push(name, ["0.1.5", "0.1.5-20261123060000"])
    latest = oci_registry.push(name, ["latest", "0.2.0", "0.2.0-20261123120000"])
    oci_registry.delete(name, latest)  # the version, with its tags, as GHCR deletes it
    previous = found(oci_registry, name)
    assert previous.digest not in (older, newest, latest)
    assert (previous.digest, previous.found_as) == (restamped, "0.1.5-20261123060000")
    assert "latest is gone" in previous.why
    attest(tmp_path, restamped, certificate(REPOSITORY, "refs/tags/v0.1.5"))
    assert verify(previous, REPOSITORY, gh(oci_registry, tmp_path)).endswith("a release tag")
    attest(tmp_path, older, certificate(REPOSITORY, "refs/heads/main"))
    (tmp_path / f"{restamped}.json").unlink()  # the newest is not verified: never passed over
    with pytest.raises(PreviousImageError, match=f"@{restamped} \\(0.1.5-20261123060000\\)"):
        verify(previous, REPOSITORY, gh(oci_registry, tmp_path))


def built(version: str, at: str) -> dict[str, str]:
    """The index annotations of a release's build of `version` at `at` (ISO 8601, UTC)."""
    return {"org.opencontainers.image.version": version, "org.opencontainers.image.created": at}


def test_latest_behind_the_newest_release_extends_the_newest_and_says_so(
    oci_registry, name, tmp_path
):
    """Issue 82: a publish cut short after the stamped tag moved and before `latest` (which it
    moves last) leaves `latest` on an older release; so does `latest` moved back by hand. The
    newest release image is extended all the same (extending `latest` would lose every issue
    since), where every later run stopped here. Any other image under `latest` still stops it."""
    older = oci_registry.push(
        name,
        ["latest", "0.1.4", "0.1.4-20261122060000"],
        annotations=built("0.1.4", "2026-11-22T06:00:00Z"),
    )
    newest = oci_registry.push(
        name, ["0.1.5-20261123060000"], annotations=built("0.1.5", "2026-11-23T06:00:00Z")
    )
    attest(tmp_path, newest, certificate(REPOSITORY, "refs/heads/main"))
    previous = found(oci_registry, name)
    assert (previous.digest, previous.found_as) == (newest, "0.1.5-20261123060000")
    assert f"latest still names {older}, an older release (0.1.4-20261122060000)" in previous.why
    assert verify(previous, REPOSITORY, gh(oci_registry, tmp_path)).endswith("a release tag")
    oci_registry.tag(name, oci_registry.push(name, ["sha-1"]), "latest")  # no release's image
    with pytest.raises(PreviousImageError) as raised:
        found(oci_registry, name)
    said = str(raised.value)
    assert f"ghcr.io/{name}:latest names " in said
    assert f"the newest release image in the registry is {newest} (0.1.5-20261123060000)" in said
    assert f"imagetools create --tag ghcr.io/{name}:latest ghcr.io/{name}@{newest}" in said


def test_a_higher_release_tag_pushed_onto_an_older_build_is_refused(oci_registry, name):
    """With `latest` gone, a higher `X.Y.Z-stamp` pushed onto an older build is not that build's
    own: its index was built at another time, as another version."""
    annotations = built("0.1.4", "2026-11-22T06:00:00Z")
    older = oci_registry.push(name, ["0.1.4", "0.1.4-20261122060000"], annotations=annotations)
    assert found(oci_registry, name).digest == older  # built as tagged
    oci_registry.tag(name, older, "0.9.0-20991231000000")
    with pytest.raises(PreviousImageError) as raised:
        found(oci_registry, name)
    said = str(raised.value)
    assert f"ghcr.io/{name}:0.9.0-20991231000000 names {older}" in said
    assert "which was built as 0.1.4-20261122060000: a tag pushed by hand" in said


def test_a_tag_that_is_no_version_is_ignored(oci_registry, name):
    strays = ["01.2.3-20261123060000", "9.9.9-2099", "1.2.3-rc.1", "sha-1", "nightly", "v1.2.3"]
    strays.append("sha256-" + "0" * 64 + ".att")
    oci_registry.push(name, strays)
    digest = oci_registry.push(name, ["0.1.5", "0.1.5-20261123060000"])  # latest gone
    previous = found(oci_registry, name)
    assert (previous.digest, previous.found_as) == (digest, "0.1.5-20261123060000")


@pytest.mark.parametrize("status", [401, 403])
def test_a_registry_refusing_the_token_stops_the_release_naming_the_packages_access(server, status):
    server.route("/token", 200, '{"token": "job-token"}')
    server.answer(401, '{"errors": [{"code": "UNAUTHORIZED"}]}', server.challenge())
    server.answer(status, '{"errors": [{"code": "DENIED"}]}')
    registry = Registry(server.url, REPOSITORY, credentials="octo:ghs_job")
    with pytest.raises(PreviousImageError) as raised:
        find_previous(registry, "ghcr.io/octo/cryptopredict")
    said = str(raised.value)
    assert f"HTTP {status}" in said
    assert "Manage Actions access" in said
    assert "https://github.com/users/octo/packages/container/cryptopredict/settings" in said
    # The job's token went to the token service only, as GHCR's login does.
    assert server.requests[1][1] == server.token_path


@pytest.mark.parametrize("status", [404, 403])
def test_a_package_never_pushed_is_the_first_release_the_same_refusal_of_one_pushed_is_not(
    status, server, capsys, tmp_path, monkeypatch
):
    """Issue 112: GHCR's answer for a package that does not exist is undocumented; the release
    asks GitHub's packages API, which knows none (404), and starts the record either way."""
    monkeypatch.chdir(tmp_path)  # a clone without release tags
    subprocess.run(["git", "init", "-q"], check=True)
    package = Package("octo", "cryptopredict", registry_status=status).at(server)
    url = server.url
    environ = {"RELEASE_REGISTRY_URL": url, "GITHUB_API_URL": url, "GITHUB_TOKEN": "ghs_job"}
    argv = ["previous-image", "--repository", "octo/cryptopredict"]
    assert main(argv, environ) == 0
    assert capsys.readouterr().out.startswith("previous=\nrecord-start=the first release of")
    package.release("0.1.0", datetime(2026, 11, 23, tzinfo=UTC))
    package.registry_status = 403
    assert main(argv, environ) == 1
    assert "the registry refused this job's token (HTTP 403)" in capsys.readouterr().err


def test_the_tags_are_read_page_by_page_as_the_registry_links_them(server):
    tags = "/v2/octo/cryptopredict/tags/list"
    newest = "0.1.5-20261123060000"
    server.route(
        f"{tags}?n=1000",
        200,
        json.dumps({"tags": ["0.1.4-20261122060000"]}),
        {"Link": f'<{tags}?last=0.1.4&n=1000>; rel="next"'},
    )
    server.route(f"{tags}?last=0.1.4&n=1000", 200, json.dumps({"tags": [newest, "sha-1"]}))
    server.route(f"/v2/octo/cryptopredict/manifests/{newest}", 200, '{"manifests": []}')
    server.answer(404, '{"errors": [{"code": "MANIFEST_UNKNOWN"}]}')  # latest
    previous = find_previous(Registry(server.url, REPOSITORY), "ghcr.io/octo/cryptopredict")
    assert previous.found_as == newest
