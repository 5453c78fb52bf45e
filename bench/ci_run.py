""".ci/run from a clean clone, timed (issue 103: at most 15 minutes on a fresh two-core machine
with the base image already built).

`python -m bench.ci_run` clones the committed HEAD of this checkout into a temporary directory
(or `--clone DIR`), runs `bash .ci/run` there as CI does (`CI=true`, no standard input), and
writes to `reports/ci-run.json` its exit status, its seconds, and the load average at its start
and its end. The base image (`make base-image`, once per machine) is built before the clock
starts unless `--with-base` asks to time it too; `.ci/run`'s own output goes to
`reports/ci-run.log`. Run it alone (`heavy --alone`): a timing counts only at load below 2.5.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]
LIMIT_SECONDS = 15 * 60


def clone(target: Path) -> None:
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(target)], check=True)


def timed(command: list[str], cwd: Path, log: Path) -> tuple[int, float]:
    """The exit status and the seconds of `command` in `cwd`, its output into `log`."""
    environ = {**os.environ, "CI": "true"}
    started = time.monotonic()
    with log.open("w") as out:
        done = subprocess.run(
            command,
            check=False,
            cwd=cwd,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
        )
    return done.returncode, round(time.monotonic() - started, 1)


def measure(clone_dir: Path, with_base: bool, reports: Path) -> dict[str, object]:
    reports.mkdir(parents=True, exist_ok=True)
    result: dict[str, object] = {
        "commit": subprocess.check_output(
            ["git", "-C", str(clone_dir), "rev-parse", "--short", "HEAD"], text=True
        ).strip()
    }
    if not with_base:  # the base image built before the clock starts, as the bar assumes
        status, seconds = timed(["make", "base-image"], clone_dir, reports / "base-image.log")
        result["base_image"] = {"status": status, "seconds": seconds}
    result["load_at_start"] = os.getloadavg()[0]
    status, seconds = timed(["bash", ".ci/run"], clone_dir, reports / "ci-run.log")
    result.update(
        status=status,
        seconds=seconds,
        load_at_end=os.getloadavg()[0],
        with_base_image_build=with_base,
        within_15_minutes=status == 0 and seconds <= LIMIT_SECONDS,
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ci_run", description=__doc__)
    parser.add_argument("--clone", type=Path, help="an existing clean clone (default: a new one)")
    parser.add_argument("--with-base", action="store_true", help="time the base image's build too")
    parser.add_argument("--reports", type=Path, default=ROOT / "reports")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ci-run-") as scratch:
        target = args.clone or Path(scratch) / "clone"
        if args.clone is None:
            clone(target)
        result = measure(target, args.with_base, args.reports)
    (args.reports / "ci-run.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result))
    return 0 if result["within_15_minutes"] else 1


if __name__ == "__main__":
    sys.exit(main())
