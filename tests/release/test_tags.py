"""Image tags, names and the created stamp of one build (an image name lower-cased: test_cli's
next-version of Octo/CryptoPredict)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tools.release.version import Version, build_tag, created, image_name

BUILT = datetime(2026, 3, 9, 18, 0, 7, tzinfo=UTC)


def test_the_stamp_is_utc_whatever_the_zone_of_the_build_time():
    paris = BUILT.astimezone(timezone(timedelta(hours=1)))
    assert build_tag(Version(0, 1, 0), paris) == "0.1.0-20260309180007"
    assert created(paris) == "2026-03-09T18:00:07Z"


def test_a_naive_build_time_is_refused():
    with pytest.raises(ValueError, match="no time zone"):
        build_tag(Version(0, 1, 0), datetime(2026, 1, 1))


@pytest.mark.parametrize("repository", ["", "octo", "octo/", "/repo", "a/b/c"])
def test_malformed_repository_names_are_refused(repository):
    with pytest.raises(ValueError, match="owner/name"):
        image_name(repository)
