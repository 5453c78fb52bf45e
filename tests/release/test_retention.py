"""Registry retention after a release deploys (issue 68, bar 4; issue 76, bar 3): a month of
six-hourly releases of a package on a local stand-in for GHCR's packages API, registry and
production's /healthz (tests/release/ghcr.py), `python -m tools.release retention` run as the
retention job runs it, after a deploy; and a retention that fails closed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from tests.release.ghcr import Package
from tools.release.cli import main

START = datetime(2026, 10, 1, 0, 23, tzinfo=UTC)


@pytest.fixture
def package(server) -> Package:
    """octo/cryptopredict's package, its registry and production answering at the test server."""
    return Package("octo", "cryptopredict").at(server)


def retention(package: Package, *args: str, now: datetime, monkeypatch, **job: str) -> int:
    """The retention job's command, with production served beside the package (Render on);
    `job`: more of its environment."""
    monkeypatch.setattr("tools.release.cli.datetime", SimpleNamespace(now=lambda _: now))
    url = package.url
    environ = {
        "GITHUB_API_URL": url,
        "RELEASE_REGISTRY_URL": url,
        "GITHUB_TOKEN": "ghs_job",
        **job,
    }
    argv = ["retention", "--repository", "octo/cryptopredict", "--service-url", url]
    return main([*argv, "--keep-days", "7", *args], environ)


def test_a_month_of_releases_keeps_exactly_what_the_rule_keeps(package, monkeypatch, capsys):
    """120 releases six hours apart, a push to main (a new X.Y.Z) every third, each deployed,
    the rule applied after each day's last (after each release, a run asks the registry some 200
    times: four times the runs would prove the same rule at four times the cost)."""
    released: list[tuple[str, datetime, str]] = []  # (version, pushed at, index digest)
    for number in range(120):
        at = START + timedelta(hours=6 * number)
        version = f"0.{1 + number // 3}.0"
        released.append((version, at, package.release(version, at)))
        package.serving = f"{version}-{at:%Y%m%d%H%M%S}"
        if number % 4 < 3:
            continue
        assert retention(package, now=at + timedelta(minutes=40), monkeypatch=monkeypatch) == 0
        assert "nothing was deleted" not in capsys.readouterr().out
    last = released[-1][1]
    newest_of_each = {version: digest for version, _, digest in released}  # X.Y.Z's tag
    kept_indexes = {
        digest
        for version, at, digest in released
        if newest_of_each[version] == digest  # a live tag: latest, or its X.Y.Z
        or at >= last + timedelta(minutes=40) - timedelta(days=7)  # the last week's builds
    }
    assert len(kept_indexes) == 40 + 28 - 10, "every X.Y.Z, and the week's rebuilds of them"
    # Each kept image whole: its index, the manifests it names, its provenance and bundle.
    assert images(package) == kept_indexes
    assert package.digests() == whole(package, kept_indexes)
    assert package.tagged("latest") == released[-1][2]


def images(package: Package) -> set[str]:
    """The release images the package holds: its tagged indexes but the referrers'."""
    return {
        v.digest
        for v in package.versions.values()
        if v.tags and not v.tags[0].startswith("sha256-")
    }


def whole(package: Package, indexes: set[str]) -> set[str]:
    """Every digest the release images `indexes` need: each index, the manifests it names, its
    referrers index and the bundle that names."""
    named = {v.digest: v.manifests for v in package.versions.values()}
    found = set()
    for digest in indexes:
        referrers = package.tagged(digest.replace(":", "-", 1))
        found |= {digest, *named[digest], referrers, *named[referrers]}
    return found


def test_retention_under_the_role_write_stops_at_the_first_refusal_with_one_warning(
    package, monkeypatch, capsys, tmp_path
):
    """Issue 82: GitHub refuses every deletion to a repository whose role in the package is
    Write (a package another repository created); the run says so once, naming the role, and
    asks no more, where it made 100 refused deletions and 101 warnings every run."""
    summary = tmp_path / "summary.md"
    job = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": "octo/cryptopredict",
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    for day in range(30):
        package.release("0.1.0", START + timedelta(days=day))
    package.refuse.update(package.versions)  # the role Write: every deletion refused
    package.serving = "0.1.0-20261030002300"
    now = START + timedelta(days=29, minutes=40)
    assert retention(package, now=now, monkeypatch=monkeypatch, **job) == 0
    said = capsys.readouterr().out
    [warning] = [line for line in said.splitlines() if line.startswith("::warning")]
    assert "Resource not accessible by integration" in warning, "GitHub's words"
    assert "role Admin in the package's settings -> Manage Actions access" in warning
    assert "(Write is not enough)" in warning
    assert "kept 42 versions, deleted 0; 137 more the rule does not keep wait" in said
    assert len(package.versions) == 30 * 6, "nothing deleted"
    assert package.deletions == 1, "asked once"
    # Where the owner looks: the job summary and the one issue, until the role is given.
    [issue] = package.issues.open()
    assert "### retention" in issue["body"]
    assert "(Write is not enough)" in issue["body"]
    assert "### Needs you: retention" in summary.read_text()
    # Refused again, on another version (the oldest went): the same words, no new mail.
    package.refuse.discard(min(package.refuse))
    assert retention(package, now=now, monkeypatch=monkeypatch, **job) == 0
    assert package.issues.comments == {}, "one mail for one refusal, not one a run"
    package.refuse.clear()
    assert retention(package, now=now, monkeypatch=monkeypatch, **job) == 0
    assert "deleted 100; 37 more" in capsys.readouterr().out
    assert package.issues.open() == [], "healed: the issue closed"


def two_builds_of_0_1_0_then_0_2_0(package: Package) -> tuple[str, str, str]:
    """0.1.0 built on the first, again on the second (its tag moves), 0.2.0 on the tenth."""
    first = package.release("0.1.0", START)
    again = package.release("0.1.0", START + timedelta(days=1))
    return first, again, package.release("0.2.0", START + timedelta(days=9))


NOW = START + timedelta(days=9, minutes=40)


@pytest.mark.parametrize(
    "fault", ["registry error", "registry unreachable", "no /healthz", "no such repository"]
)
def test_a_call_that_goes_unanswered_deletes_nothing_and_says_so(
    package, fault, monkeypatch, capsys
):
    two_builds_of_0_1_0_then_0_2_0(package)
    package.serving = "0.2.0-20261010002300"
    package.registry_status = 500 if fault == "registry error" else None
    if fault == "no such repository":  # GitHub's API answers 404: the package is not listed
        package.github.repository = "octo/elsewhere"
    job = {"RELEASE_REGISTRY_URL": "http://127.0.0.1:9"} if fault == "registry unreachable" else {}
    held = package.digests()
    service = ["--service-url", "http://127.0.0.1:9"] if fault == "no /healthz" else []
    assert retention(package, *service, now=NOW, monkeypatch=monkeypatch, **job) == 0
    assert package.digests() == held, "the first build would have gone"
    said = capsys.readouterr().out
    assert said.startswith(
        "::warning title=retention::nothing was deleted from ghcr.io/octo/cryptopredict this run: "
    )
    assert "deleted" not in said.split("this run: ", 1)[1]


def test_production_is_kept_whole_whatever_the_run_was_asked(package, monkeypatch, capsys):
    """A start-anew run names no previous image: production's comes from the service itself.
    Here the deploy of the second 0.1.0 failed, so production still serves the first build,
    which no tag keeps and whose week is over."""
    first, again, newest = two_builds_of_0_1_0_then_0_2_0(package)
    package.serving = "0.1.0-20261001002300"
    assert retention(package, now=NOW, monkeypatch=monkeypatch) == 0
    assert images(package) == {first, again, newest}
    assert package.digests() == whole(package, {first, again, newest})
    assert "kept 18 versions, deleted 0" in capsys.readouterr().out


def test_a_new_index_keeps_the_older_manifests_it_names(package, monkeypatch, capsys):
    """A rebuild whose platform manifests did not change names the versions an older build
    pushed (one digest, one package version): they stay while the new index does."""
    first = package.release("0.1.0", START)
    package.release("0.1.0", START + timedelta(days=1))
    old = next(v for v in package.versions.values() if v.digest == first).manifests
    at = START + timedelta(days=20)
    rebuilt = package.push("0.2.0 rebuilt", at, ["latest", "0.2.0", "0.2.0-stamp"], old)
    package.serving = "0.2.0-stamp"
    assert retention(package, now=at + timedelta(minutes=40), monkeypatch=monkeypatch) == 0
    assert set(old) <= package.digests(), "the new index's manifests stay"
    assert first not in package.digests(), "the old index itself goes"
    assert rebuilt in package.digests()
    capsys.readouterr()


def test_an_entry_without_a_creation_time_is_kept_with_a_warning(package, monkeypatch, capsys):
    undated = package.release("0.0.9", START - timedelta(days=1))
    package.release("0.0.9", START - timedelta(hours=12))
    [entry] = [v.id for v in package.versions.values() if v.digest == undated]
    package.undated.add(entry)
    _, again, newest = two_builds_of_0_1_0_then_0_2_0(package)
    package.serving = "0.2.0-20261010002300"
    assert retention(package, now=NOW, monkeypatch=monkeypatch) == 0
    said = capsys.readouterr().out
    assert f"::warning title=retention::{undated} (0.0.9-20260930002300) is listed without" in said
    assert images(package) == {undated, package.tagged("0.0.9"), again, newest}
    assert package.digests() == whole(package, images(package)), "the rest of the rule applied"


@pytest.mark.parametrize("kind", ["User", "Organization"])  # /users/ or /orgs/: GitHub's path
def test_a_run_deletes_at_most_its_cap_the_oldest_first(server, kind, monkeypatch, capsys):
    package = Package("octo", "cryptopredict", kind).at(server)
    oldest = package.release("0.1.0", START - timedelta(days=1))
    oldest_build = whole(package, {oldest})
    _, again, newest = two_builds_of_0_1_0_then_0_2_0(package)
    package.serving = "0.2.0-20261010002300"
    cap = ["--max-deletions", "4"]
    assert retention(package, *cap, now=NOW, monkeypatch=monkeypatch) == 0
    said = capsys.readouterr().out
    assert "kept 12 versions, deleted 4" in said
    assert "deleted 4; 8 more the rule does not keep wait for the next run" in said
    assert len(oldest_build - package.digests()) == 4, "the four deleted are the oldest"
    assert retention(package, now=NOW, monkeypatch=monkeypatch) == 0
    assert "kept 12 versions, deleted 8" in capsys.readouterr().out
    assert package.digests() == whole(package, {again, newest})


def test_250_versions_are_read_whole_page_by_page(package, monkeypatch, capsys):
    """Issue 112: GitHub pages a package's versions (100 a page at most, the next page linked);
    the rule judges all 250, the release production serves among the last listed."""
    served = START - timedelta(days=30)
    package.release("0.1.0", served)
    for number in range(244):
        package.push(f"build {number}", START - timedelta(days=20, minutes=number), [], [])
    package.serving = f"0.1.0-{served:%Y%m%d%H%M%S}"
    assert retention(package, now=START, monkeypatch=monkeypatch) == 0
    said = capsys.readouterr().out
    assert said.startswith("kept 6 versions, deleted 100; 144 more the rule does not keep wait")
