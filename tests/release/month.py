"""`make month` (`python -m tests.release.month [--faults FILE] [--out DIR] [--cycles N]`): a
month of the release workflow, simulated (issue 82): 120 scheduled cycles, six hours apart, and
the pushes a fault script names, each run through the release workflow's own jobs and tooling
(tests/release/month_build.py) against stand-ins of GitHub, gh, Render and a registry that asks
for a login (tests/release/month_world.py), with the faults the script injects. It writes
production's data age hour by hour, each fault with what healed it or where it was said, each
push with when production got it, and the track record's issues against the releases made, as
`DIR/month.json` and a plot, `DIR/month.html`. The fault script's format: docs/release.md, "A
month, simulated".
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import logging
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import msgspec

from tests.release.month_build import ROOT, MonthRunner, PricePath, scratch_remote
from tests.release.month_exchanges import Exchanges
from tests.release.month_report import report, write
from tests.release.month_world import (
    CYCLE_HOURS,
    CYCLE_MINUTE,
    HOUR,
    KINDS,
    REPOSITORY,
    Fault,
    World,
    iso,
)
from tests.release.osv import advisory
from tests.release.workflow_runner import Event
from tools.release.github import GitHub
from tools.release.setup import Choices, schedule
from tools.release.version import Version

FAULTS = Path(__file__).with_name("month_faults.json")
ANNOTATION = re.compile(r"^::error[^:]*::(.*)$", re.MULTILINE)  # an error on the run's page


class ScriptError(ValueError):
    """The fault script is not one this simulation reads; the message says where."""


Hours = Annotated[float, msgspec.Meta(ge=0)]


class Person(msgspec.Struct, forbid_unknown_fields=True):
    after_hours: Hours  # when the owner acts, after the fault


class FaultSpec(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    kind: str
    hour: Hours
    count: Annotated[int, msgspec.Meta(ge=1)] | None = None
    call: str = ""
    person: Person | None = None
    package: str | None = None  # an advisory's
    id: str | None = None  # an advisory's
    seconds: Annotated[float, msgspec.Meta(gt=0)] | None = None  # a gh-timeout's hang
    minutes: Annotated[float, msgspec.Meta(gt=0)] | None = None  # a schedule-delayed's
    hours: Annotated[float, msgspec.Meta(gt=0)] | None = None  # an exchange fault's


class Script(msgspec.Struct, forbid_unknown_fields=True):
    faults: list[FaultSpec]
    pushes: list[Hours] = []
    cycles: Annotated[int, msgspec.Meta(ge=1)] = 120
    start: Annotated[datetime, msgspec.Meta(tz=True)] = datetime(2026, 12, 1, tzinfo=UTC)
    description: str = ""


def read_script(path: Path) -> dict[str, Any]:
    """The fault script at `path` (docs/release.md, "The fault script"), checked: every field
    known and of its type, every fault a known kind at an hour of the month."""
    try:
        script = msgspec.json.decode(path.read_bytes(), type=Script)
    except (OSError, msgspec.DecodeError) as error:  # ValidationError is a DecodeError
        raise ScriptError(f"{path}: {error}") from None
    hours = script.cycles * CYCLE_HOURS
    for number, fault in enumerate(script.faults):
        where = f"- at `$.faults[{number}]`"
        if fault.kind not in KINDS:
            raise ScriptError(f"{path}: `kind` must be one of {', '.join(KINDS)} {where}")
        if fault.hour >= hours:
            raise ScriptError(f"{path}: `hour` must be within the month's {hours} hours {where}")
        if fault.kind == "advisory" and not (fault.package and fault.id):
            raise ScriptError(f"{path}: an advisory names its `package` and its `id` {where}")
        if fault.kind == "advisory" and not pinned(ROOT, fault.package or ""):
            raise ScriptError(f"{path}: no lock file pins `{fault.package}` {where}")
    if any(hour >= hours for hour in script.pushes):
        raise ScriptError(f"{path}: each of `pushes` must be within the month's {hours} hours")
    return dict(msgspec.to_builtins(script))


def pinned(root: Path, package: str) -> str:
    """The version of `package` the lock files under `root` pin ("" when none does)."""
    for lock in sorted(root.glob("requirements-*.txt")):
        found = re.search(rf"^{re.escape(package)}==(\S+)", lock.read_text(), re.M | re.I)
        if found:
            return found[1]
    return ""


@dataclass
class RunRecord:
    label: str
    event: str
    start: float  # simulated epoch seconds
    sha: str
    results: dict[str, str]
    released: str = ""  # the build tag deployed, if the run deployed one
    released_sha: str = ""  # the commit it was built from
    summary: str = ""  # the job summaries
    said: str = ""  # the run's page: every step's output with a workflow command in it
    failure: str = ""  # the first failed step, and its last words
    minutes: dict[str, float] = field(default_factory=dict)  # each job's, on the month's clock
    issues: list[str] = field(default_factory=list)  # the open issues' text after the run
    started_by: str = ""  # the run that started it (a dispatch), and waited for it


class Month:
    def __init__(self, script: dict[str, Any], tmp: Path, build: str = "synthetic") -> None:
        self.script = script
        self.tmp = tmp
        self.world = World()
        self.start = datetime.fromisoformat(script["start"])
        self.world.start = self.start.timestamp()
        self.cycles = int(script["cycles"])
        self.prices = PricePath(self.world.start, self.cycles * CYCLE_HOURS)
        self.remote = scratch_remote(tmp / "remote")
        self.runner = MonthRunner(self.world, self.prices, self.remote, tmp)
        if build == "real":
            self.runner.exchanges = Exchanges(self.world, self.at(self.cycles * CYCLE_HOURS), tmp)
        self.runs: list[RunRecord] = []
        self.pushes: list[tuple[float, str]] = []  # (simulated time, commit)
        self.busy_until = 0.0
        self.faults: list[Fault] = []
        self.issue_events: list[dict[str, Any]] = []
        self.world.start_run = self.release
        self.failed: BaseException | None = None  # a release run's, raised by its starter

    def at(self, hour: float) -> float:
        return self.world.start + hour * HOUR

    # The month.

    def simulate(self) -> None:
        self.push(self.at(-CYCLE_HOURS), "The fork's first release")
        events: list[tuple[float, int, str, Any]] = [
            (self.at(k * CYCLE_HOURS + CYCLE_MINUTE), 1, "schedule", None)
            for k in range(self.cycles)
        ]
        events += [(self.at(hour), 2, "push", None) for hour in self.script["pushes"]]
        for spec in self.script["faults"]:
            events.append((self.at(spec["hour"]), 0, "fault", spec))
            if "person" in spec:
                events.append(
                    (self.at(spec["hour"] + spec["person"]["after_hours"]), 0, "person", spec)
                )
        order = itertools.count()
        queue = [(when, rank, next(order), kind, spec) for when, rank, kind, spec in events]
        heapq.heapify(queue)
        while queue:
            when, _, _, kind, spec = heapq.heappop(queue)
            if kind in ("schedule", "late"):  # GitHub may drop a scheduled run, or start it late
                self.world.now, self.world.run_label = max(when, self.world.now), ""
                struck = kind == "schedule" and self.world.consume("schedule", "a scheduled run")
                if struck and struck.kind == "schedule-delayed":
                    late = when + float(struck.spec.get("minutes") or 60) * 60
                    heapq.heappush(queue, (late, 1, next(order), "late", None))
                elif not struck:
                    self.run(Event("schedule", "refs/heads/main", self.main()), "schedule", when)
            elif kind == "push":
                self.push(when, f"Work pushed at hour {self.world.hour(when):g}")
            elif kind == "fault":
                self.inject(when, spec)
            else:
                self.person(when, spec)

    def push(self, when: float, message: str, fault: Fault | None = None) -> str:
        self.remote.checkout(self.main())
        commit = self.remote.commit(message)
        self.remote.move_branch(commit)
        self.pushes.append((when, commit))
        if fault is not None:
            self.world.arm(fault)
        if not self.world.fork.scheduled():  # a disabled workflow runs on nothing
            return commit
        self.run(
            Event("push", "refs/heads/main", commit, {"head_commit": {"message": message}}),
            "push",
            when,
        )
        return commit

    def main(self) -> str:
        return self.remote.git("rev-parse", "refs/heads/main")

    def run(self, event: Event, kind: str, when: float, number: int = 0, by: str = "") -> None:
        start = max(when, self.busy_until)
        self.world.now = start
        label = f"{kind} at hour {self.world.hour(start):g} ({event.ref}, {event.sha[:7]})"
        self.world.run_label, self.world.moved_in_run = label, 0
        deploys = len(self.world.deploys)
        directory = self.runner.workdir = self.tmp / "runs" / f"{len(self.runs)}-{number}"
        directory.mkdir(parents=True)  # its jobs' workspaces
        run = self.runner.run(event)
        if self.failed is not None:
            raise self.failed
        record = RunRecord(
            label, kind, start, event.sha, {n: j.result for n, j in run.jobs.items()}, started_by=by
        )
        record.minutes = {n: round(j.seconds / 60, 1) for n, j in run.jobs.items() if j.seconds}
        record.summary = "\n".join(p.read_text() for p in sorted(directory.glob("*.summary")))
        record.said = "\n".join(s.output for s in run.steps() if "::" in s.output)
        failed = [s for s in run.steps() if s.outcome in ("failure", "cancelled")]
        if failed:
            record.failure = f"{failed[0].job}: {failed[0].name}: {failed[0].output}"
        if len(self.world.deploys) > deploys:
            build = self.world.builds[self.world.deploys[-1][1]]
            record.released, record.released_sha = build.build_tag, build.sha
        record.issues = self.issues_after(record.label)
        self.runs.append(record)
        results = set(record.results.values())
        conclusion = next((r for r in ("failure", "cancelled") if r in results), "success")
        jobs = [
            (name, job.result, [m for s in job.steps for m in ANNOTATION.findall(s.output)])
            for name, job in run.jobs.items()
        ]
        number = number or len(self.world.fork.runs) + 1
        self.world.fork.ran(number, conclusion, jobs, event=event.name, created_at=iso(start))
        shutil.rmtree(directory)
        built = run.jobs.get("image") is not None and run.result("image") != "skipped"
        took = sum(job.seconds for job in run.jobs.values())  # one job after another
        self.busy_until = max(self.busy_until, start + max(HOUR if built else HOUR / 10, took))
        for queued in [r["id"] for r in self.world.fork.runs if r.get("status") == "queued"]:
            if queued not in self.world.running:  # started, though nobody waited for it
                self.world.running.add(queued)
                self.release(queued, by=label)

    def release(self, number: int, by: str = "") -> None:
        """The run GitHub started for the dispatch `number`, while the run that started it
        waits (or after it, where it did not): as the owner's run would see it, an hour's tenth
        after that run's start."""
        dispatched = next(run for run in self.world.fork.runs if run["id"] == number)
        tag, inputs = dispatched["head_branch"], dispatched.get("inputs") or {}
        commit = self.remote.git("rev-parse", f"refs/tags/{tag}^{{commit}}")
        event = Event(
            "workflow_dispatch",
            f"refs/tags/{tag}",
            commit,
            {"inputs": {"start-anew": "", **inputs}},
        )
        world, workdir = self.world, self.runner.workdir
        waiting = (world.now, world.run_label, world.moved_in_run)
        start = world.now + world.late.pop(number, 0.0)  # GitHub's queue held it that long
        self.busy_until = max(self.busy_until, start + HOUR / 10)
        world.releasing.add(number)  # in progress, as the run waiting sees it, until all is back
        try:
            self.run(event, "dispatch", start, number, by or world.run_label)
        except BaseException as error:  # raised by the run that waits for it, once it gives up
            self.failed = error
        finally:
            self.runner.workdir = workdir
            world.now, world.run_label, world.moved_in_run = waiting
            world.releasing.discard(number)

    def issues_after(self, label: str) -> list[str]:
        """The open issues' words (title, body, comments) after a run; what the run did to
        each issue (GitHub's changes of it) noted in `issue_events`."""
        kept = self.world.issues
        self.issue_events += [{**e, "run": label} for e in kept.changes[len(self.issue_events) :]]
        return [
            "\n".join([issue["title"], issue["body"], *kept.comments.get(issue["number"], [])])
            for issue in kept.issues
            if issue["state"] == "open"
        ]

    def inject(self, when: float, spec: dict[str, Any]) -> None:
        kind = spec["kind"]
        target = KINDS[kind][0]
        count = spec.get("count", 10**9 if {"person", "hours"} & set(spec) else 1)
        fault = Fault(kind, spec["hour"], target, count, spec)
        self.faults.append(fault)
        self.world.now = max(when, self.world.now)
        if kind == "failed-push":
            self.push(when, f"Work pushed at hour {spec['hour']:g}, a test flaky", fault)
        elif kind == "advisory":
            version = self.pin(spec["package"])
            fixed = f"{version}.post1"
            self.world.feed.published.append(advisory(spec["id"], spec["package"], version, fixed))
            fault.hits.append(
                {"hour": spec["hour"], "run": "", "call": f"{spec['package']}=={version}"}
            )
        elif kind == "rollback":  # the owner pushes a revert of the newest release's commit
            tags = sorted(self.release_tags(), key=lambda t: tuple(map(int, t[1:].split("."))))
            if not tags:
                fault.hits.append({"hour": spec["hour"], "run": "", "call": "no release to undo"})
                return
            commit = self.remote.git("rev-parse", f"{tags[-1]}^{{commit}}")
            self.remote.checkout(self.main())
            patch = self.remote.git("diff", f"{commit}^", commit) + "\n"
            if patch.strip():
                subprocess.run(
                    ["git", "-C", str(self.remote.path), "apply", "-R", "--index"],
                    input=patch,
                    text=True,
                    check=True,
                )
            pushed = self.push(when, f"Revert {tags[-1]}")
            label = next(r.label for r in self.runs if r.sha == pushed and r.event == "push")
            fault.hits.append({"hour": spec["hour"], "run": label, "call": f"revert {tags[-1]}"})
        else:
            if kind == "schedule-off":  # GitHub disabled it (60 days without activity)
                self.world.fork.workflows["release.yml"] = "disabled_inactivity"
            self.world.arm(fault)

    def person(self, when: float, spec: dict[str, Any]) -> None:
        """What the owner does, when the script says, following what the release said."""
        kind = spec["kind"]
        fault = next(f for f in self.faults if f.spec is spec)
        fault.count = len(fault.hits)  # whatever was armed strikes no more
        if kind == "advisory":
            self.bump(spec["package"], f"{self.pin(spec['package'])}.post1")
            self.push(when, f"Bump {spec['package']} past {spec['id']}")
            fault.person = f"pushed the bump of {spec['package']}"
        elif kind == "retention-refusal":
            fault.person = "gave the repository the package's Admin role"
        elif kind == "issues-disabled":  # as the red run says
            fault.person = "turned Issues on"
        elif kind == "schedule-off":  # as setup --dry-run says: setup enables it, the owner's
            [enable] = schedule(GitHub(self.world.url, REPOSITORY, "the owner's token"), Choices())
            enable.make()
            fault.person = "ran setup, which enabled the release workflow"
        elif kind == "render-hook-refused":  # as the catch-all says: the fix, then a run
            fault.person = "regenerated the deploy hook, set its secret and ran the release"
            inputs = {"inputs": {"start-anew": ""}}
            self.run(
                Event("workflow_dispatch", "refs/heads/main", self.main(), inputs), "person", when
            )
        elif kind == "rollback":  # as the audit says: keep the security bump, revert the rest
            undone = [
                f.spec
                for f in self.faults
                if f.kind == "advisory"
                and f.person
                and self.pin(f.spec["package"]) == pinned(ROOT, f.spec["package"])
            ]
            for advisory in undone:
                self.bump(advisory["package"], f"{pinned(ROOT, advisory['package'])}.post1")
            if undone:
                self.push(when, "Keep the security bump the revert undid")
            fault.person = "pushed the security bump again" if undone else "nothing to do"

    # The repository's files and tags.

    def release_tags(self) -> list[str]:
        return [t for t in self.remote.git("tag", "--list").split() if Version.from_tag(t)]

    def descends(self, commit: str, ancestor: str) -> bool:
        ask = ["git", "-C", str(self.remote.path), "merge-base", "--is-ancestor", ancestor, commit]
        return subprocess.run(ask, capture_output=True, check=False).returncode == 0

    def pin(self, package: str) -> str:
        return pinned(self.remote.path, package)

    def bump(self, package: str, fixed: str) -> None:
        """The pin of `package` raised to `fixed` in every lock file (as `make lock UPGRADE=`)."""
        self.remote.checkout(self.main())
        for lock in sorted(self.remote.path.glob("requirements-*.txt")):
            pinned = re.compile(rf"^{re.escape(package)}==\S+", re.M | re.I)
            lock.write_text(pinned.sub(f"{package}=={fixed}", lock.read_text()))
        self.remote.git("add", "--all")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.release.month", description=__doc__)
    parser.add_argument("--faults", type=Path, default=FAULTS, help="the fault script")
    parser.add_argument("--out", type=Path, default=Path("reports/month"))
    parser.add_argument("--cycles", type=int, help="fewer cycles than the script's (a test)")
    parser.add_argument(
        "--build",
        choices=("synthetic", "real"),
        default="synthetic",
        help="real: each build runs the Dockerfile's training on stand-in exchanges",
    )
    args = parser.parse_args(argv)
    try:
        script = read_script(args.faults)
    except ScriptError as error:
        print(f"month: {error}", file=sys.stderr)
        return 2
    if args.cycles:
        script["cycles"] = args.cycles
    with tempfile.TemporaryDirectory(prefix="month-") as tmp:
        month = Month(script, Path(tmp), args.build)
        try:
            month.simulate()
            result = report(month, str(args.faults))
        finally:
            month.world.stop()
    write(result, args.out)
    return 0 if result["bar_1"]["holds"] else 1


if __name__ == "__main__":
    # The record code's log lines (a record started afresh) are the build's, not the month's;
    # quietened here, not in main(), which tests call in the process whose logs they read.
    logging.getLogger("cryptopredict").setLevel(logging.ERROR)
    sys.exit(main())
