"""`python ci/audit.py`: pip-audit the lock files the image and training install, or say
plainly why it cannot run.

pip-audit looks every pinned version up in a vulnerability service (PyPI's JSON API by
default; OSV's API where PIP_AUDIT_VULNERABILITY_SERVICE=osv, at PIP_AUDIT_OSV_URL when set: how
`make month` points it at its stand-in feed). Where that service cannot be reached (an offline
machine, a registry mirror without the JSON API), the audit is skipped with the reason printed
and exit status 0, unless AUDIT_REQUIRE_INDEX=1 is set (the release's test gate sets it): then it
fails, saying why. pip-audit failing otherwise fails it, with pip-audit's own words.

A known vulnerability fails it, but in a rebuild of a released tag, the release's scheduled
retraining ($GITHUB_REF_TYPE tag: the release builds no other tag, no other workflow runs on one):
every pin there was already shipped by that release, the running image holds it too, and refusing
the rebuild would only stop the forecasts. There it is a warning, and the release says it in the
one repository issue (the test job's last step); a push keeps the gate. Either way, what was found
(the advisories, the pins, the bump) is written as Markdown to --findings (reports/audit.md; empty
when nothing was found).

An advisory a person reviewed and accepted, for a while, is in ci/audit-ignore.toml, each entry
with its id, the package, why, who reviewed it and an expiry date: past it, the entry is ignored
no more and the audit says so.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK_FILES = ("requirements-api.txt", "requirements-train.txt")
# pip-audit asks PyPI for each pinned version's JSON, which lists its known vulnerabilities, or
# POSTs a query for it to OSV's API.
PROBE = "https://pypi.org/pypi/{name}/{version}/json"
OSV = "https://api.osv.dev/v1/query"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)", re.MULTILINE)
TIMEOUT_SECONDS = 10
# Set to 1 where an audit that cannot run must fail rather than skip (the release workflow).
REQUIRE_INDEX = "AUDIT_REQUIRE_INDEX"
IGNORE_FILE = ROOT / "ci" / "audit-ignore.toml"
IGNORE_KEYS = {"id", "package", "reason", "reviewed", "expires"}
FINDINGS = ROOT / "reports" / "audit.md"


@dataclass(frozen=True)
class Finding:
    package: str
    version: str
    advisory: str  # with its aliases
    fixed: tuple[str, ...]


def _first_pin(root: Path) -> tuple[str, str]:
    """The name and version first pinned in the first lock file."""
    name, version = _PIN.search((root / LOCK_FILES[0]).read_text()).groups()
    return name, version


def probe_url(root: Path = ROOT) -> str:
    """The lookup pip-audit makes of PyPI for the first version pinned in the first lock file."""
    name, version = _first_pin(root)
    return PROBE.format(name=name, version=version)


def probe(root: Path = ROOT) -> tuple[str, bytes | None]:
    """The first lookup pip-audit will make, of the service it is set to ask: (URL, the query
    it POSTs, None for a GET)."""
    if os.environ.get("PIP_AUDIT_VULNERABILITY_SERVICE", "pypi").lower() != "osv":
        return probe_url(root), None
    name, version = _first_pin(root)
    query = {"package": {"name": name, "ecosystem": "PyPI"}, "version": version}
    return os.environ.get("PIP_AUDIT_OSV_URL") or OSV, json.dumps(query).encode()


def unreachable_reason(url: str, query: bytes | None = None) -> str | None:
    """Why the vulnerability service cannot be used, or None when it answers."""
    request = urllib.request.Request(url, data=query)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:
            if answer.status == 200:
                return None
            return f"{url} answered HTTP {answer.status}"
    except urllib.error.HTTPError as error:
        return f"{url} answered HTTP {error.code}"
    except (urllib.error.URLError, OSError) as error:
        return f"{url} is unreachable ({getattr(error, 'reason', error)})"


def accepted(path: Path, today: date) -> tuple[list[str], list[str]]:
    """(the advisory ids the ignore file accepts today, a line for each entry past its expiry);
    ValueError naming what is wrong with an entry."""
    try:
        entries = tomllib.loads(path.read_text()).get("ignore", []) if path.exists() else []
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path.name} is not TOML: {error}") from None
    ids: list[str] = []
    expired: list[str] = []
    for number, entry in enumerate(entries, 1):
        # A date, not a time of day (a datetime is a date too, which compares with none)
        if (
            not isinstance(entry, dict)
            or set(entry) != IGNORE_KEYS
            or type(entry["expires"]) is not date
        ):
            raise ValueError(
                f"{path.name}: entry {number} must have exactly {', '.join(sorted(IGNORE_KEYS))}, "
                "`expires` a date (expires = 2027-01-31)"
            )
        if entry["expires"] < today:
            expired.append(
                f"{path.name} accepted {entry['id']} ({entry['package']}) until "
                f"{entry['expires']}: it counts again. Review it: renew the entry with a new "
                "date, or bump the pin"
            )
        else:
            ids.append(str(entry["id"]))
    return ids, expired


def found_in(document: dict) -> list[Finding]:
    """The vulnerabilities of pip-audit's JSON report (`--format json`)."""
    return [
        Finding(
            dependency["name"],
            dependency["version"],
            " ".join([vuln["id"], *(f"({alias})" for alias in vuln.get("aliases", []))]),
            tuple(vuln.get("fix_versions", [])),
        )
        for dependency in document.get("dependencies", [])
        for vuln in dependency.get("vulns", [])
    ]


def locks_holding(root: Path) -> dict[str, str]:
    """Each pinned package (its canonical name) and the lock files that pin it."""
    held: dict[str, list[str]] = {}
    for lock in LOCK_FILES:
        for name, _ in _PIN.findall((root / lock).read_text()):
            held.setdefault(re.sub(r"[-_.]+", "-", name).lower(), []).append(lock)
    return {name: ", ".join(files) for name, files in held.items()}


def said(found: list[Finding], expired: list[str], locks: dict[str, str], shipped: str) -> str:
    """What was found, in Markdown, for the job summary and the repository issue."""
    rows = [
        f"| {f.package} | {f.version} | {f.advisory} | {', '.join(f.fixed) or 'no fix yet'} | "
        f"{locks.get(f.package, '')} |"
        for f in found
    ]
    fixes: dict[str, list[str]] = {}
    for finding in found:
        fixes.setdefault(finding.package, []).extend(finding.fixed)
    # Each package to the highest version that fixes every advisory found against it.
    bumps = [f"{name}=={max(fixed, key=_version)}" for name, fixed in fixes.items() if fixed]
    where = (
        f"Meanwhile the scheduled rebuilds of {shipped} go on: they ship the pins its image "
        "already ships, and stopping them would only stop the forecasts."
        if shipped
        else "A push ships nothing new with a known vulnerability: this run's release stops here "
        "(a revert that undoes a security bump too: keep the bump, revert the rest)."
    )
    return "\n".join(
        [
            "pip-audit knows of vulnerabilities in pins the release ships:",
            "",
            "| Package | Pinned | Advisory | Fixed in | Lock files |",
            "|---|---|---|---|---|",
            *rows,
            "",
            f'**The bump**: `make lock UPGRADE="{" ".join(bumps)}"`, then commit the lock files '
            "and push (or merge Dependabot's security update, which does the same): that push's "
            f"release ships the fixed pins, and heals this. {where} An advisory that does not "
            "apply to this project can be accepted for a while in `ci/audit-ignore.toml` (why, "
            "who reviewed it, until when).",
            *(f"\n{line}." for line in expired),
            "",
        ]
    )


def _today() -> date:
    return datetime.now(UTC).date()


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python ci/audit.py", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "--root", type=Path, default=ROOT, help="the checkout whose lock files to audit (this one)"
    )
    parser.add_argument(
        "--findings", type=Path, default=FINDINGS, help="where to write what was found"
    )
    args = parser.parse_args(argv)
    reason = unreachable_reason(*probe(args.root))
    if reason is not None and os.environ.get(REQUIRE_INDEX) == "1":
        print(f"pip-audit could not run: {reason}; {REQUIRE_INDEX}=1 makes that a failure")
        return 1
    if reason is not None:
        print(f"pip-audit skipped: {reason}")
        return 0
    try:
        ignored, expired = accepted(args.root / IGNORE_FILE.relative_to(ROOT), _today())
    except ValueError as error:
        print(f"ci/audit.py: {error}")
        return 1
    command = [sys.executable, "-m", "pip_audit", "--strict", "--progress-spinner=off"]
    for lock in LOCK_FILES:
        # Fully pinned files: audit exactly these versions, without resolving anything.
        command += ["--requirement", str(args.root / lock)]
    for advisory in ignored:
        command += ["--ignore-vuln", advisory]
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "audit.json"
        command += ["--no-deps", "--disable-pip", "--format=json", f"--output={report}"]
        code = subprocess.run(command, check=False).returncode
        text = report.read_text() if report.exists() else ""
    found = found_in(json.loads(text)) if text.strip() else []
    if code != 0 and not found:
        print(f"pip-audit could not finish (exit {code}): its words are above")
        return code
    tag = os.environ.get("GITHUB_REF_TYPE") == "tag"
    shipped = os.environ.get("GITHUB_REF_NAME", "") if tag else ""
    findings = said(found, expired, locks_holding(args.root), shipped) if found else ""
    args.findings.parent.mkdir(parents=True, exist_ok=True)
    args.findings.write_text(findings)
    print(findings or "\n".join(["pip-audit: no known vulnerability in the pins", *expired]))
    if not found or not shipped:
        return 1 if found else 0
    # A workflow command: GitHub shows it as a warning on the run's summary page.
    print(
        f"::warning title=pip-audit::known vulnerabilities in pins {shipped} already ships: "
        "its rebuild goes on, and the release says so in the repository issue"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
