"""Print the Debian mirror this machine's apt uses for a suite: `python ci/apt_mirror.py trixie`.

The stand-in base image is bootstrapped from the same mirror the machine already trusts, read at
run time so no host's mirror is ever written into the repository. A machine of another release
(a Debian 14 machine bootstrapping trixie) has no source for that suite: then the mirror serving
the machine's own release is used, since a Debian mirror carries every release.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

APT = Path("/etc/apt")


class NoMirrorError(LookupError):
    """No enabled apt source serves the suite's main component."""


def mirror_for(suite: str, apt_dir: Path = APT, own_suite: str | None = None) -> str:
    """The mirror of the first enabled source for `suite` main, else for `own_suite` main."""
    for wanted in dict.fromkeys(s for s in (suite, own_suite) if s):
        for uri, suites, components in _sources(apt_dir):
            if wanted in suites and "main" in components:
                return uri.rstrip("/")
    raise NoMirrorError(
        f"no enabled apt source for Debian {suite} main under {apt_dir}; "
        f"set DEBIAN_MIRROR (e.g. http://deb.debian.org/debian)"
    )


def own_codename(os_release: Path = Path("/etc/os-release")) -> str | None:
    """This machine's release codename (VERSION_CODENAME in os-release), if it says."""
    if not os_release.is_file():
        return None
    for line in os_release.read_text().splitlines():
        name, _, value = line.partition("=")
        if name == "VERSION_CODENAME":
            return value.strip().strip('"') or None
    return None


def _sources(apt_dir: Path) -> Iterator[tuple[str, list[str], list[str]]]:
    one_line = [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*.list"))]
    for path in one_line:
        if path.is_file():
            yield from _one_line_entries(path.read_text())
    for path in sorted((apt_dir / "sources.list.d").glob("*.sources")):
        yield from _deb822_entries(path.read_text())


def _one_line_entries(text: str) -> Iterator[tuple[str, list[str], list[str]]]:
    for raw in text.splitlines():
        words = raw.split("#", 1)[0].split()
        if not words or words[0] != "deb":
            continue
        if len(words) > 1 and words[1].startswith("["):
            closing = next((i for i, word in enumerate(words) if word.endswith("]")), None)
            if closing is None:
                continue
            words = [words[0], *words[closing + 1 :]]
        if len(words) >= 4:
            yield words[1], [words[2]], words[3:]


def _deb822_entries(text: str) -> Iterator[tuple[str, list[str], list[str]]]:
    for stanza in text.split("\n\n"):
        fields = _deb822_fields(stanza)
        if "deb" not in fields.get("types", "").split():
            continue
        if fields.get("enabled", "yes").lower() == "no":
            continue
        suites = fields.get("suites", "").split()
        components = fields.get("components", "").split()
        for uri in fields.get("uris", "").split():
            yield uri, suites, components


def _deb822_fields(stanza: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    name = None
    for line in stanza.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0].isspace() and name is not None:
            fields[name] += " " + line.strip()
            continue
        name, _, value = line.partition(":")
        name = name.strip().lower()
        fields[name] = value.strip()
    return fields


if __name__ == "__main__":
    try:
        print(mirror_for(sys.argv[1] if len(sys.argv) > 1 else "trixie", own_suite=own_codename()))
    except NoMirrorError as error:
        sys.exit(f"error: {error}")
