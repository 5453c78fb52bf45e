"""`python ci/audit.py [--report]`: pip-audit the lock files the image and training install, or
say plainly why it cannot run.

pip-audit looks every pinned version up in a vulnerability service (PyPI's JSON API by
default; OSV's API where PIP_AUDIT_VULNERABILITY_SERVICE=osv, at PIP_AUDIT_OSV_URL when set: how
`make month` points it at its stand-in feed). Where that service cannot be reached (an offline
machine, a registry mirror without the JSON API), the audit is skipped with the reason printed
and exit status 0, unless AUDIT_REQUIRE_INDEX=1 is set (the release's test gate sets it): then it
fails, saying why. Any other failure, and any known vulnerability, fails with pip-audit's own
report.

`--report` never fails on a finding (it reports it, on GitHub as a warning on the run): for a
look at lock files without gating anything, such as another checkout's, named with `--root DIR`.
The release gates on the plain audit, through `make test`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python ci/audit.py", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--report", action="store_true", help="report findings, never fail")
    parser.add_argument(
        "--root", type=Path, default=ROOT, help="the checkout whose lock files to audit (this one)"
    )
    args = parser.parse_args(argv)
    reason = unreachable_reason(*probe(args.root))
    if reason is not None and os.environ.get(REQUIRE_INDEX) == "1":
        print(f"pip-audit could not run: {reason}; {REQUIRE_INDEX}=1 makes that a failure")
        return 1
    if reason is not None:
        print(f"pip-audit skipped: {reason}")
        return 0
    command = [sys.executable, "-m", "pip_audit", "--strict", "--progress-spinner=off"]
    for lock in LOCK_FILES:
        # Fully pinned files: audit exactly these versions, without resolving anything.
        command += ["--requirement", str(args.root / lock)]
    code = subprocess.run([*command, "--no-deps", "--disable-pip"], check=False).returncode
    if code == 0 or not args.report:
        return code
    message = (
        f"pip-audit found known vulnerabilities (or could not finish: exit {code}) in "
        f"{', '.join(LOCK_FILES)}; reported, not gating. Update the pins (make lock)."
    )
    # A workflow command: GitHub shows it as a warning on the run's summary page.
    print(f"::warning title=pip-audit::{message}" if os.environ.get("GITHUB_ACTIONS") else message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
