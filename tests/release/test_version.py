"""Which version a release run builds, from the repository's tags and the triggering event."""

from __future__ import annotations

import pytest

from tools.release.version import (
    Bump,
    Release,
    Version,
    bump_for,
    latest_version,
    plan_release,
)

FIRST = Version(0, 1, 0)


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


def test_latest_of_no_release_tags_is_none():
    assert latest_version(["nightly", "v2.0.0-rc.1"]) is None
    assert latest_version([]) is None


@pytest.mark.parametrize(
    ("message", "bump"),
    [
        ("Fix the grid", Bump.PATCH),
        ("Add ETH #minor", Bump.MINOR),
        ("Rewrite the API\n\nBreaking: new schema #major", Bump.MAJOR),
        ("both #minor and #major", Bump.MAJOR),
        ("#MINOR in capitals", Bump.MINOR),
        ("#minor.", Bump.MINOR),
        ("not a word: #minority report", Bump.PATCH),
        ("not a tag: ##major", Bump.PATCH),
        ("glued: fix#major", Bump.PATCH),
        ("", Bump.PATCH),
    ],
)
def test_the_head_commit_message_chooses_the_bump(message, bump):
    assert bump_for(message) is bump


@pytest.mark.parametrize(
    ("part", "expected"),
    [
        (Bump.PATCH, Version(1, 4, 8)),
        (Bump.MINOR, Version(1, 5, 0)),
        (Bump.MAJOR, Version(2, 0, 0)),
    ],
)
def test_bump_resets_the_lower_parts(part, expected):
    assert Version(1, 4, 7).bump(part) == expected


def test_a_push_bumps_the_latest_tag_and_creates_the_new_one():
    release = plan_release("push", "Fix #minor", ["v0.3.2", "v0.2.9"], [], FIRST)
    assert release == Release(Version(0, 4, 0), create_tag=True)
    assert release.version.tag == "v0.4.0"


@pytest.mark.parametrize("event", ["schedule", "workflow_dispatch"])
def test_a_schedule_or_manual_run_reuses_the_latest_tag(event):
    release = plan_release(event, "#major ignored here", ["v0.3.2", "v0.2.9"], [], FIRST)
    assert release == Release(Version(0, 3, 2), create_tag=False)


@pytest.mark.parametrize("event", ["push", "schedule", "workflow_dispatch"])
def test_the_first_release_uses_the_configured_first_version(event):
    release = plan_release(event, "#major", ["nightly", "v1.0.0-rc.1"], [], Version(1, 0, 0))
    assert release == Release(Version(1, 0, 0), create_tag=True)


def test_a_rerun_of_a_tagged_push_reuses_its_tag_instead_of_bumping_again():
    tags = ["v0.3.2", "v0.3.3"]
    release = plan_release("push", "Fix", tags, ["v0.3.3"], FIRST)
    assert release == Release(Version(0, 3, 3), create_tag=False)


def test_non_release_tags_on_the_head_commit_do_not_count_as_a_rerun():
    release = plan_release("push", "Fix", ["v0.3.2"], ["nightly", "v0.4.0-rc.1"], FIRST)
    assert release == Release(Version(0, 3, 3), create_tag=True)


@pytest.mark.parametrize("event", ["pull_request", "release", ""])
def test_other_events_are_refused(event):
    with pytest.raises(ValueError, match="expected one of"):
        plan_release(event, "", ["v0.1.0"], [], FIRST)
