"""Versions from release tags, and the bump a commit message asks for (what a run does with them:
tests/release/test_plan.py; each bump from v0.4.10, the lower parts reset: test_cli's
next-version)."""

from __future__ import annotations

import fnmatch

import pytest

from tools.release.rules import TAG_RULE, TAG_RULESET
from tools.release.version import RELEASE_TAG, Version, bump_for, latest_version


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.1.0", Version(0, 1, 0)),
        ("10.20.30", Version(10, 20, 30)),
        (" 1.2.3\n", Version(1, 2, 3)),
    ],
)
def test_parse_accepts_plain_versions(text, expected):
    assert Version.parse(text) == expected


@pytest.mark.parametrize("text", ["", "v1.2.3", "1.2", "1.2.3.4", "01.2.3", "1.2.3-rc.1", "a.b.c"])
def test_parse_rejects_anything_else_and_says_what_it_wants(text):
    with pytest.raises(ValueError, match=r"expected MAJOR\.MINOR\.PATCH"):
        Version.parse(text)


@pytest.mark.parametrize(
    "tag",
    [
        "1.2.3",  # no v
        "v1.2",
        "v1.2.3.4",
        "v01.2.3",  # leading zero: not semver
        "v1.2.3-rc.1",  # pre-release: ignored by policy
        "v1.2.3+build.5",
        "V1.2.3",
        "release-1.2.3",
        "v1.2.3-",
        "latest",
        "",
    ],
)
def test_only_exact_release_tags_count(tag):
    assert Version.from_tag(tag) is None


def test_latest_is_numeric_not_lexical_and_ignores_junk():
    tags = ["v0.9.0", "v0.10.0", "v0.2.11", "v1.0.0-rc.1", "v9.9.9-beta", "nightly", "v0.10.0"]
    assert latest_version(tags) == Version(0, 10, 0)
    assert latest_version(["nightly", "v2.0.0-rc.1"]) is latest_version([]) is None


@pytest.mark.parametrize(
    ("message", "bump"),
    [
        ("Fix the grid", "patch"),
        ("Add ETH #minor", "minor"),
        ("Rewrite the API\n\nBreaking: new schema #major", "major"),
        ("both #minor and #major", "major"),
        ("#MINOR in capitals", "minor"),
        ("#minor.", "minor"),
        ("not a word: #minority report", "patch"),
        ("not a tag: ##major", "patch"),
        ("glued: fix#major", "patch"),
        ("", "patch"),
    ],
)
def test_the_head_commit_message_chooses_the_bump(message, bump):
    assert bump_for(message) == bump


def test_the_settings_tag_patterns_hold_every_release_tag():
    """Issue 120: one release-tag pattern, version.RELEASE_TAG; the settings' tag patterns, in
    GitHub's globs (Ruby's File.fnmatch, as fnmatch matches them), take every tag it matches: the
    production environment deploys each, and the tag ruleset keeps each the release's."""
    tags = ["v0.1.0", "v1.2.3", "v10.20.30", "v123.0.4567"]
    assert all(map(RELEASE_TAG.fullmatch, tags))
    assert not any(map(RELEASE_TAG.fullmatch, ["v1.2", "v01.2.3", "1.2.3", "v1.2.3-rc1"]))
    include = TAG_RULESET["conditions"]["ref_name"]["include"]
    for tag in tags:
        assert fnmatch.fnmatchcase(tag, TAG_RULE), tag
        assert any(fnmatch.fnmatchcase(f"refs/tags/{tag}", glob) for glob in include), tag
