"""The stand-in base image bootstraps from whatever mirror this machine's apt already uses."""

from __future__ import annotations

import pytest

from ci.apt_mirror import NoMirrorError, mirror_for

DEB822 = """\
Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://mirror.example/debian/
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
"""


@pytest.fixture
def apt(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    return tmp_path


def test_deb822_sources(apt):
    (apt / "sources.list.d" / "debian.sources").write_text(DEB822)
    assert mirror_for("bookworm", apt) == "http://mirror.example/debian"


def test_one_line_sources_with_options_and_comments(apt):
    (apt / "sources.list").write_text(
        "# deb http://commented.example/debian bookworm main\n"
        "deb-src http://src.example/debian bookworm main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://one.example/debian bookworm main contrib\n"
    )
    assert mirror_for("bookworm", apt) == "http://one.example/debian"


def test_security_updates_and_other_components_do_not_count(apt):
    (apt / "sources.list").write_text(
        "deb http://sec.example/debian-security bookworm-security main\n"
        "deb http://np.example/debian bookworm non-free\n"
    )
    with pytest.raises(NoMirrorError, match="set DEBIAN_MIRROR"):
        mirror_for("bookworm", apt)


def test_disabled_stanzas_are_skipped(apt):
    disabled = "Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\n"
    disabled += "Components: main\nEnabled: no\n"
    (apt / "sources.list.d" / "a.sources").write_text(disabled + "\n" + DEB822)
    assert mirror_for("bookworm", apt) == "http://mirror.example/debian"


def test_no_sources_at_all(tmp_path):
    with pytest.raises(NoMirrorError, match="no enabled apt source for Debian bookworm main"):
        mirror_for("bookworm", tmp_path)
