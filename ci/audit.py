"""`python ci/audit.py [--report]`: pip-audit the lock files the image and training install, or
say plainly why it cannot run.

pip-audit looks every pinned version up in a vulnerability service (PyPI's JSON API by
default). Where that service cannot be reached (an offline machine, a registry mirror without
the JSON API), the audit is skipped with the reason printed and exit status 0, unless
AUDIT_REQUIRE_INDEX=1 is set (the release's test gate sets it): then it fails, saying why. Any
other failure, and any known vulnerability, fails with pip-audit's own report.

`--report` never fails on a finding (it reports it, on GitHub as a warning on the run): for a
look at lock files without gating anything, such as another checkout's, named with `--root DIR`.
The release gates on the plain audit, through `make test`.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK_FILES = ("requirements-api.txt", "requirements-collect.txt", "requirements-train.txt")
# pip-audit asks PyPI for each pinned version's JSON, which lists its known vulnerabilities.
PROBE = "https://pypi.org/pypi/{name}/{version}/json"
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)", re.MULTILINE)
TIMEOUT_SECONDS = 10
# Set to 1 where an audit that cannot run must fail rather than skip (the release workflow).
REQUIRE_INDEX = "AUDIT_REQUIRE_INDEX"


def probe_url(root: Path = ROOT) -> str:
    """The lookup pip-audit makes for the first version pinned in the first lock file."""
    name, version = _PIN.search((root / LOCK_FILES[0]).read_text()).groups()
    return PROBE.format(name=name, version=version)


def unreachable_reason(url: str) -> str | None:
    """Why the vulnerability service cannot be used, or None when it answers."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as answer:
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
    reason = unreachable_reason(probe_url(args.root))
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
