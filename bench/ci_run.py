""".ci/run from a clean clone: its seconds (issue 103: at most 15 minutes on a fresh two-core
machine with the base image already built) and its CPU seconds (issue 120: at most 60% of
d8b98b5's, side by side on the same machine, and green).

`python -m bench.ci_run` clones the committed HEAD of this checkout (`--commit` another commit)
into a temporary directory (or `--clone DIR`), runs `bash .ci/run` there as CI does (`CI=true`,
no standard input), and writes to `reports/ci-run.json` its exit status, its seconds, its CPU
seconds (user and system, of every process it started: counted by a cpuacct control group of
its own where the machine lets root make one, else of those it waited for), and the load average
at its start and its end; `.ci/run`'s own output goes to `reports/ci-run.log`. The base image
(`make base-image`, once per machine) is built before the clock starts unless `--with-base` asks
to count it too. Run it alone (`heavy --alone`; side by side, `heavy --both`): a timing counts
only at load below 2.5.

`--fresh` runs it as on a new machine, sharing nothing another run could touch: empty buildah
storage (`CONTAINERS_STORAGE_CONF`: the base image built and counted, image-test's fixed image
names its own), temporary folder (`TMPDIR`: pytest's, buildah's cache mounts) and download
caches (`XDG_CACHE_HOME`: uv's and pip's; npm's), IPython's history too, all under the temporary
directory.
`--side-by-side COMMIT` runs two `--fresh` runs at once, HEAD's (or `--commit`'s) and COMMIT's,
reports under `reports/side-by-side/ours/` and `theirs/`, and writes both with the ratio of their
CPU seconds to `reports/side-by-side.json`; it exits 0 when ours is green within 60% of theirs.
Every server either run starts listens on a free port (tests/ports.py; image-test's registry),
so they share no port by name. Apt is the machine's: run `make tools` once before, so that
neither run installs a Debian package while the other does.

`--stages` runs `.ci/run`'s make targets one after another instead (`STAGES`: what it installs and
the base image, then the suite, the end-to-end checks and the image), each in a control group of
its own, with `.ci/run`'s environment: where the CPU seconds go, under `stages` in the report, their
sum as the run's (with `--side-by-side`, both runs' stages, the ratio of their sums).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]
LIMIT_SECONDS = 15 * 60
CPUACCT = Path("/sys/fs/cgroup/cpuacct")
WITHIN = 0.6  # issue 120: ours at most 60% of theirs
# .ci/run's make targets, one at a time (`--stages`), and the environment it gives them.
STAGES = ("tools base-image", "test", "e2e", "image-test")
CI_RUN_ENV = "unset PYTHONDONTWRITEBYTECODE; export CRYPTOPREDICT_FAIL_ON_SKIP=1; make {} WITHOUT="


def clone(source: Path, target: Path, commit: str | None) -> None:
    subprocess.run(["git", "clone", "--quiet", str(source), str(target)], check=True)
    if commit:
        subprocess.run(["git", "-C", str(target), "checkout", "--quiet", commit], check=True)


def control_group(name: str) -> Path | None:
    """A cpuacct control group of its own (cgroup v1, as root), or None where there is none."""
    group = CPUACCT / name
    try:
        group.mkdir(exist_ok=True)
        (group / "tasks").read_text()
    except OSError:
        return None
    return group


def cpu_seconds(group: Path | None, before: resource.struct_rusage) -> dict[str, object]:
    """User and system seconds of what ran: the group's, else the children waited for."""
    if group is not None:
        ticks = dict(line.split() for line in (group / "cpuacct.stat").read_text().splitlines())
        user, system = (int(ticks[kind]) / os.sysconf("SC_CLK_TCK") for kind in ("user", "system"))
        counted = "cpuacct control group"
    else:
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
        counted = "processes waited for"
    return {"user": round(user, 1), "system": round(system, 1), "counted": counted}


def timed(command: list[str], cwd: Path, log: Path, env: dict[str, str]) -> tuple[int, float, dict]:
    """The exit status, the seconds and the CPU seconds of `command` in `cwd`, its output into
    `log`."""
    group = control_group(f"ci-run-{os.getpid()}-{log.stem}")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    with log.open("w") as out:
        done = subprocess.run(
            command,
            check=False,
            cwd=cwd,
            env={**os.environ, "CI": "true", **env},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            preexec_fn=None if group is None else lambda: (group / "tasks").write_text("0"),
        )
    seconds = round(time.monotonic() - started, 1)
    cpu = cpu_seconds(group, before)
    if group is not None and not (group / "tasks").read_text():
        group.rmdir()  # else a process outlived the run: the group is left to it
    return done.returncode, seconds, cpu


def fresh(scratch: Path) -> dict[str, str]:
    """The environment of a run with a machine's state of its own, empty, under `scratch`."""
    scratch.chmod(0o755)  # PostgreSQL's own user reaches its socket under TMPDIR
    (scratch / "tmp").mkdir()
    (scratch / "tmp").chmod(0o1777)  # as /tmp is
    conf = scratch / "storage.conf"
    conf.write_text(
        f'[storage]\ndriver = "overlay"\nrunroot = "{scratch}/run"\ngraphroot = "{scratch}/graph"\n'
    )
    return {
        "CONTAINERS_STORAGE_CONF": str(conf),
        "TMPDIR": str(scratch / "tmp"),
        "XDG_CACHE_HOME": str(scratch / "cache"),
        "npm_config_cache": str(scratch / "npm"),
        "IPYTHONDIR": str(scratch / "ipython"),  # the notebook kernel's history database
    }


def measure(
    clone_dir: Path, with_base: bool, reports: Path, env: dict[str, str], stages: bool = False
) -> dict[str, object]:
    reports.mkdir(parents=True, exist_ok=True)
    result: dict[str, object] = {
        "commit": subprocess.check_output(
            ["git", "-C", str(clone_dir), "rev-parse", "--short", "HEAD"], text=True
        ).strip()
    }
    if not with_base and not stages:  # the base image built before the clock, as the bar assumes
        status, seconds, cpu = timed(
            ["make", "base-image"], clone_dir, reports / "base-image.log", env
        )
        result["base_image"] = {"status": status, "seconds": seconds, "cpu_seconds": cpu}
    result["load_at_start"] = os.getloadavg()[0]
    if stages:
        status, seconds, cpu = staged(clone_dir, reports, env, result)
    else:
        status, seconds, cpu = timed(["bash", ".ci/run"], clone_dir, reports / "ci-run.log", env)
    result.update(
        status=status,
        seconds=seconds,
        cpu_seconds=cpu,
        load_at_end=os.getloadavg()[0],
        with_base_image_build=with_base,
        within_15_minutes=status == 0 and seconds <= LIMIT_SECONDS,
    )
    (reports / "ci-run.json").write_text(json.dumps(result, indent=1) + "\n")
    return result


def staged(
    clone_dir: Path, reports: Path, env: dict[str, str], result: dict[str, object]
) -> tuple[int, float, dict]:
    """`STAGES` one after another, each timed on its own into `result["stages"]`: the worst
    status, and the sums of their seconds and CPU seconds."""
    runs = {}
    for stage in STAGES:
        command = ["bash", "-c", CI_RUN_ENV.format(stage)]
        runs[stage] = timed(command, clone_dir, reports / f"{stage.split()[0]}.log", env)
    result["stages"] = {
        stage: {"status": status, "seconds": seconds, "cpu_seconds": cpu}
        for stage, (status, seconds, cpu) in runs.items()
    }
    statuses, seconds, cpus = zip(*runs.values(), strict=True)
    cpu = {kind: round(sum(one[kind] for one in cpus), 1) for kind in ("user", "system")}
    return max(statuses), round(sum(seconds), 1), {**cpu, "counted": cpus[0]["counted"]}


def side_by_side(
    source: Path, ours: str, theirs: str, reports: Path, stages: bool = False
) -> dict[str, object]:
    """Two fresh runs at once, of `ours` and `theirs`: each one's result, and the ratio of their
    CPU seconds (user + system)."""
    runs = {}
    for side, commit in (("ours", ours), ("theirs", theirs)):
        sha = subprocess.check_output(["git", "-C", str(source), "rev-parse", commit], text=True)
        where = ["--source", str(source), "--reports", str(reports / "side-by-side" / side)]
        runs[side] = subprocess.Popen(
            [sys.executable, "-m", "bench.ci_run", "--fresh", "--commit", sha.strip(), *where]
            + ["--stages"] * stages,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
    for run in runs.values():
        run.wait()
    result = {
        side: json.loads((reports / "side-by-side" / side / "ci-run.json").read_text())
        for side in runs
    }
    ratio = total_cpu(result["ours"]) / total_cpu(result["theirs"])
    within = result["ours"]["status"] == 0 and ratio <= WITHIN
    return {**result, "cpu_ratio": round(ratio, 3), "green_within_60_percent": within}


def total_cpu(result: dict) -> float:
    return result["cpu_seconds"]["user"] + result["cpu_seconds"]["system"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ci_run", description=__doc__)
    parser.add_argument("--clone", type=Path, help="an existing clean clone (default: a new one)")
    parser.add_argument("--commit", default="HEAD", help="the commit to clone (default: HEAD)")
    parser.add_argument("--with-base", action="store_true", help="time the base image's build too")
    parser.add_argument("--fresh", action="store_true", help="storage, temp, caches of its own")
    parser.add_argument("--side-by-side", metavar="COMMIT", help="two fresh runs at once")
    parser.add_argument("--stages", action="store_true", help=".ci/run's targets one at a time")
    parser.add_argument("--source", type=Path, default=ROOT, help="the repository to clone")
    parser.add_argument("--reports", type=Path, default=ROOT / "reports")
    args = parser.parse_args(argv)
    if args.side_by_side:
        both = side_by_side(args.source, args.commit, args.side_by_side, args.reports, args.stages)
        (args.reports / "side-by-side.json").write_text(json.dumps(both, indent=1) + "\n")
        print(json.dumps(both))
        return 0 if both["green_within_60_percent"] else 1
    with tempfile.TemporaryDirectory(prefix="ci-run-", ignore_cleanup_errors=True) as scratch:
        env = fresh(Path(scratch)) if args.fresh else {}
        target = args.clone or Path(scratch) / "clone"
        if args.clone is None:
            clone(args.source, target, args.commit)
        result = measure(target, args.with_base or args.fresh, args.reports, env, args.stages)
    print(json.dumps(result))
    return 0 if result["within_15_minutes"] else 1


if __name__ == "__main__":
    sys.exit(main())
