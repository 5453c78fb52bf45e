"""Registry retention after a release publishes (issue 68, bar 4): a month of six-hourly releases
of a package on a local stand-in for GHCR's packages API and registry (tests/release/ghcr.py),
`python -m tools.release retention` run after each one, as the publish job runs it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.release.ghcr import Package, serving
from tools.release.cli import main

START = datetime(2026, 10, 1, 0, 23, tzinfo=UTC)


def retention(url: str, production: str, *, now: datetime, monkeypatch) -> int:
    monkeypatch.setattr("tools.release.cli.datetime", _Clock(now))
    environ = {"GITHUB_API_URL": url, "RELEASE_REGISTRY_URL": url, "GITHUB_TOKEN": "ghs_job"}
    argv = ["retention", "--repository", "octo/cryptopredict", "--production", production]
    return main([*argv, "--keep-days", "7"], environ)


class _Clock:
    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self, tz=None) -> datetime:
        return self._now


def a_month(package: Package, url: str, monkeypatch, capsys) -> list[tuple[str, datetime, str]]:
    """120 releases six hours apart, a push to main (a new X.Y.Z) every third, each then kept
    by the rule; (version, pushed at, index digest) of each."""
    released: list[tuple[str, datetime, str]] = []
    for number in range(120):
        at = START + timedelta(hours=6 * number)
        version = f"0.{1 + number // 3}.0"
        production = f"ghcr.io/octo/cryptopredict@{released[-1][2]}" if released else ""
        released.append((version, at, package.release(version, at)))
        assert (
            retention(url, production, now=at + timedelta(minutes=40), monkeypatch=monkeypatch) == 0
        )
        capsys.readouterr()
    return released


@pytest.mark.parametrize("kind", ["User", "Organization"])
def test_a_month_of_releases_keeps_exactly_what_the_rule_keeps(kind, monkeypatch, capsys):
    package = Package("octo", "cryptopredict", kind)
    with serving(package) as url:
        released = a_month(package, url, monkeypatch, capsys)
    last = released[-1][1]
    newest_of_each = {version: digest for version, _, digest in released}  # X.Y.Z's tag
    kept_indexes = {
        digest
        for version, at, digest in released
        if newest_of_each[version] == digest  # a live tag: latest, or its X.Y.Z
        or at >= last + timedelta(minutes=40) - timedelta(days=7)  # the last week's builds
        or digest == released[-2][2]  # production's, until the deploy that follows
    }
    assert len(kept_indexes) == 40 + 28 - 10, "every X.Y.Z, and the week's rebuilds of them"
    # Each kept image whole: its index, the manifests it names, its provenance and bundle.
    indexes = {v.digest: v for v in package.versions.values() if v.manifests and v.tags[:1] != []}
    images = {digest for digest in indexes if not indexes[digest].tags[0].startswith("sha256-")}
    assert images == kept_indexes
    whole = set()
    for digest in kept_indexes:
        whole |= {digest, *indexes[digest].manifests}
        referrers = package.tagged(digest.replace(":", "-", 1))
        whole |= {referrers, *indexes[referrers].manifests}
    assert package.digests() == whole
    assert package.tagged("latest") == released[-1][2]


def test_a_deletion_github_refuses_is_said_and_the_release_stays_green(monkeypatch, capsys):
    package = Package("octo", "cryptopredict")
    with serving(package) as url:
        first = package.release("0.1.0", START)
        package.release("0.1.0", START + timedelta(days=8))
        package.release("0.2.0", START + timedelta(days=9))
        [refused] = [v.id for v in package.versions.values() if v.digest == first]
        package.refuse.add(refused)
        now = START + timedelta(days=9, minutes=40)
        assert retention(url, "", now=now, monkeypatch=monkeypatch) == 0
    said = capsys.readouterr().out
    assert f"::warning title=retention::{first} (0.1.0-20261001002300; pushed" in said
    assert "Resource not accessible by integration" in said
    assert first in package.digests(), "refused, so still there"
    assert "deleted 5" in said, "the rest of the old build went: its manifests and provenance"


def test_a_package_github_will_not_list_deletes_nothing_and_says_so(monkeypatch, capsys):
    package = Package("octo", "elsewhere")  # the repository's API answers 404
    with serving(package) as url:
        package.release("0.1.0", START)
        assert retention(url, "", now=START + timedelta(days=30), monkeypatch=monkeypatch) == 0
    said = capsys.readouterr().out
    assert said.startswith("::warning title=retention::nothing was deleted from ghcr.io/")
    assert len(package.versions) == 6
