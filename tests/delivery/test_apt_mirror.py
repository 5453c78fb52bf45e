"""The stand-in base image bootstraps from whatever mirror this machine's apt already uses."""

from __future__ import annotations

import pytest

from ci.apt_mirror import NoMirrorError, mirror_for, own_codename

DEB822 = """\
Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://mirror.example/debian/
Suites: forky forky-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example/debian-security
Suites: forky-security
Components: main
"""


@pytest.fixture
def apt(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    return tmp_path


def test_deb822_sources(apt):
    (apt / "sources.list.d" / "debian.sources").write_text(DEB822)
    assert mirror_for("forky", apt) == "http://mirror.example/debian"


def test_one_line_sources_with_options_and_comments(apt):
    (apt / "sources.list").write_text(
        "# deb http://commented.example/debian forky main\n"
        "deb-src http://src.example/debian forky main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://one.example/debian forky main contrib\n"
    )
    assert mirror_for("forky", apt) == "http://one.example/debian"


def test_security_updates_and_other_components_do_not_count(apt):
    (apt / "sources.list").write_text(
        "deb http://sec.example/debian-security forky-security main\n"
        "deb http://np.example/debian forky non-free\n"
    )
    with pytest.raises(NoMirrorError, match="set DEBIAN_MIRROR"):
        mirror_for("forky", apt)


def test_disabled_stanzas_are_skipped(apt):
    disabled = "Types: deb\nURIs: http://off.example/debian\nSuites: forky\n"
    disabled += "Components: main\nEnabled: no\n"
    (apt / "sources.list.d" / "a.sources").write_text(disabled + "\n" + DEB822)
    assert mirror_for("forky", apt) == "http://mirror.example/debian"


def test_no_sources_at_all(tmp_path):
    with pytest.raises(NoMirrorError, match="no enabled apt source for Debian forky main"):
        mirror_for("forky", tmp_path)


def test_another_release_uses_the_mirror_of_the_machines_own_release(apt):
    (apt / "sources.list.d" / "debian.sources").write_text(DEB822)
    assert mirror_for("trixie", apt, own_suite="forky") == "http://mirror.example/debian"


def test_a_source_for_the_suite_itself_wins_over_the_machines_own(apt):
    trixie = "deb http://trixie.example/debian trixie main\n"
    (apt / "sources.list").write_text(trixie)
    (apt / "sources.list.d" / "debian.sources").write_text(DEB822)
    assert mirror_for("trixie", apt, own_suite="forky") == "http://trixie.example/debian"


def test_the_fallback_never_takes_the_security_archive(apt):
    (apt / "sources.list").write_text(
        "deb http://sec.example/debian-security forky-security main\n"
    )
    with pytest.raises(NoMirrorError, match="Debian trixie main"):
        mirror_for("trixie", apt, own_suite="forky")


def test_the_machines_codename_comes_from_os_release(tmp_path):
    release = tmp_path / "os-release"
    release.write_text('PRETTY_NAME="Debian GNU/Linux 14 (forky)"\nVERSION_CODENAME=forky\n')
    assert own_codename(release) == "forky"
    release.write_text('NAME="Some Linux"\n')
    assert own_codename(release) is None
    assert own_codename(tmp_path / "absent") is None
