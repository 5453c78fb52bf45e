"""Run a workflow's jobs as GitHub Actions would, on this machine, against a scratch remote.

What it does as GitHub does:
- jobs in the order of their `needs`; a job runs only when every job it needs succeeded and its
  `if:` holds (GitHub's implicit `success()`); a failed or skipped need skips it;
- steps in order, a step's `if:` evaluated; after a failing step only the steps whose `if:`
  calls a status function (`failure()`, `always()`) run, the job failed; its outputs are read
  whatever its result, as GitHub's runner reads them when it completes a job;
- `${{ }}` expressions in `if:`, `env:` and `with:`, over the contexts `github` (from the event
  payload), `vars`, `secrets`, `needs`, `steps`, `env` and `matrix`, in the subset of GitHub's
  expression language the workflows use: literals, property access, `== != && || !`,
  parentheses and `startsWith`; strings compare ignoring case, as GitHub's do;
- `run:` steps through `bash --noprofile --norc -eo pipefail` (what `shell: bash` runs), in the
  job's checkout, with GITHUB_OUTPUT (read back as the step's outputs), GITHUB_STEP_SUMMARY
  (the job's summary file, beside its workspace), the github context's values (GITHUB_REF,
  GITHUB_SHA, GITHUB_ACTOR, GITHUB_EVENT_NAME, ...), GITHUB_WORKSPACE and RUNNER_TEMP;
- `actions/checkout`: a fresh clone of the scratch remote at the run's commit, `origin/<branch>`
  pointing at that commit for a run on a branch, as the action leaves it;
- `docker/login-action`: what its `docker login` leaves, the registry's credentials in the
  job's Docker config (`~/.docker/config.json`); each job has a home of its own, as each job
  has a machine of its own on GitHub, so no job finds another's login;
- a step's `continue-on-error`: its failure is its `outcome`, and the job goes on;
- "Re-run failed jobs": `reuse` gives jobs that are not run again, with the outputs of the
  attempt that ran them;
- a job cancelled at its `timeout-minutes` (GitHub's 360 where it says none), on the clock
  (`time_scale` simulated seconds a second: a month's) or where `time_out` names the step
  running when the limit came; that step is cancelled (its `outcome`), the job's result is
  `cancelled`, and after it only the steps whose `if:` calls a status function run (`always()`
  documentedly does); the workflow goes on, and a job that needs it is skipped unless its
  `if:` says otherwise. Each job's `seconds` is the simulated time it took.

What it does not: any other action (`setup-python`, docker's builds, the attestation) is a no-op
that evaluates its inputs (so a secret it would read is recorded) and returns the outputs the
test gives for its step id, or fails saying what `failing` gives for it; containers, services and
environments' rules are not emulated; a matrix runs its first combination. Every read of the
`secrets` context is recorded, with its job and step, before the step runs.
"""

from __future__ import annotations

import base64
import graphlib
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.release.scratch_git import ScratchRepo, checkout_run

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>\d+(?:\.\d+)?)"
    r"|(?P<op>==|!=|&&|\|\||[!().,\[\]])|(?P<name>[A-Za-z_][\w-]*))"
)


# The job status functions, by the results of every job the job needs, directly or not (GitHub's
# `success()` is false when any of them was skipped or failed).
STATUS = "(status)"
STATUS_FUNCTIONS = re.compile(r"\b(success|failure|always|cancelled)\s*\(")


LITERALS = {"true": True, "false": False, "null": None}
QUOTE = "'"  # a string's, doubled inside it


class ExpressionError(ValueError):
    """An expression outside the subset this runner evaluates."""


def evaluate(expression: str, contexts: Mapping[str, Any], reads: list[str]) -> Any:
    """The value of one expression (without `${{ }}`); `reads` gets each `secrets.X` read. The
    expression is read as Python whose operators GitHub's values keep (_Value): `&&` and `||`
    are `and` and `or` (each returns an operand, the right one unevaluated where the left one
    decides, as GitHub's do), `!` binds as tightly as GitHub's, and `a.b-c` is `a['b-c']`."""
    tokens: list[tuple[str, str]] = []
    position = 0
    source = expression.strip()
    while position < len(source):
        match = _TOKEN.match(source, position)
        if match is None or match.end() == position:
            raise ExpressionError(f"cannot read {source[position:]!r} in {expression!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    python = []
    for number, (kind, token) in enumerate(tokens):
        before = tokens[number - 1][1] if number else ""
        after = tokens[number + 1][1] if number + 1 < len(tokens) else ""
        if kind == "string":
            python.append(f"_v({token[1:-1].replace(2 * QUOTE, QUOTE)!r})")
        elif kind == "number":
            python.append(f"_v({float(token)!r})")
        elif kind == "op":
            python.append({"&&": " and ", "||": " or ", "!": "~", ".": ""}.get(token, token))
        elif before == ".":
            python.append(f"[{token!r}]")
        elif token in LITERALS:
            python.append(f"_v({LITERALS[token]!r})")
        else:
            python.append(f"{'_f' if after == '(' else '_c'}({token!r})")

    def context(name: str) -> _Value:
        if name not in contexts:
            raise ExpressionError(f"unknown context {name!r}")
        return _Value(contexts[name], reads if name == "secrets" else None)

    def function(name: str) -> Any:
        status = contexts.get(STATUS, {})
        if name.lower() == "startswith":
            return lambda a, b: _Value(text(a.raw).lower().startswith(text(b.raw).lower()))
        if name in status:
            return lambda: _Value(status[name])
        raise ExpressionError(f"the function {name}() is not one this runner evaluates")

    scope = {"__builtins__": {}, "_v": _Value, "_c": context, "_f": function}
    try:
        return eval("".join(python), scope).raw
    except SyntaxError:
        raise ExpressionError(f"cannot read {expression!r}") from None


class _Value:
    """A value of an expression: true as GitHub takes it, equal to another ignoring case."""

    def __init__(self, raw: Any, reads: list[str] | None = None) -> None:
        self.raw, self.reads = raw, reads

    def __getitem__(self, key: Any) -> _Value:
        name = text(key.raw if isinstance(key, _Value) else key)
        if self.reads is not None:
            self.reads.append(name)
        return _Value(self.raw.get(name) if isinstance(self.raw, Mapping) else None)

    def __eq__(self, other: object) -> _Value:  # type: ignore[override]
        raw = other.raw if isinstance(other, _Value) else other
        return _Value(text(self.raw).lower() == text(raw).lower())

    def __ne__(self, other: object) -> _Value:  # type: ignore[override]
        return _Value(not (self == other).raw)

    def __invert__(self) -> _Value:
        return _Value(not truthy(self.raw))

    def __bool__(self) -> bool:
        return truthy(self.raw)

    __hash__ = None  # type: ignore[assignment]


def truthy(value: Any) -> bool:
    return value not in (None, "", False, 0)


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def interpolate(template: Any, contexts: Mapping[str, Any], reads: list[str]) -> str:
    """A value with every `${{ }}` replaced by its text."""
    return re.sub(
        r"\$\{\{(.*?)\}\}",
        lambda m: text(evaluate(m.group(1), contexts, reads)),
        text(template),
        flags=re.DOTALL,
    )


def condition(source: Any, contexts: Mapping[str, Any], reads: list[str]) -> bool:
    """An `if:` (with or without `${{ }}`), as GitHub reads it."""
    if source is None:
        return True
    if isinstance(source, bool):
        return source
    expression = str(source).strip()
    if expression.startswith("${{") and expression.endswith("}}"):
        expression = expression[3:-2]
    return truthy(evaluate(expression, contexts, reads))


@dataclass
class StepRun:
    job: str
    name: str
    outcome: str  # success, failure, skipped, cancelled
    output: str = ""
    secrets: list[str] = field(default_factory=list)
    inputs: dict[str, str] = field(default_factory=dict)  # an action's `with:`, evaluated


@dataclass
class JobRun:
    name: str
    result: str  # success, failure, skipped, cancelled
    outputs: dict[str, str] = field(default_factory=dict)
    steps: list[StepRun] = field(default_factory=list)
    seconds: float = 0.0  # simulated


@dataclass
class WorkflowRun:
    jobs: dict[str, JobRun]

    def result(self, job: str) -> str:
        return self.jobs[job].result

    def steps(self) -> list[StepRun]:
        return [step for job in self.jobs.values() for step in job.steps]

    def secrets_read(self) -> list[tuple[str, str, str]]:
        """(job, step, secret) of every step that ran, or was about to, reading a secret."""
        return [
            (step.job, step.name, secret)
            for step in self.steps()
            if step.outcome != "skipped"
            for secret in step.secrets
        ]

    def failure(self) -> StepRun:
        [failed] = [step for step in self.steps() if step.outcome == "failure"]
        return failed


@dataclass
class Event:
    """What GitHub hands a run: the event's name and payload, the ref and the commit."""

    name: str
    ref: str
    sha: str
    payload: dict[str, Any] = field(default_factory=dict)
    repository: str = "octo/cryptopredict"


class Runner:
    """Runs jobs of `workflow` for `event` against the scratch `remote`, in `workdir`."""

    def __init__(
        self,
        workflow: Path,
        remote: ScratchRepo,
        workdir: Path,
        *,
        tools: Mapping[str, str],
        python_path: Path,
    ) -> None:
        self.workflow = yaml.safe_load(workflow.read_text())
        self.remote = remote
        self.workdir = workdir
        # The repository's address on GitHub leads to the scratch remote (git's insteadOf).
        self.gitconfig = workdir.parent / "gitconfig"
        url = "https://github.com/octo/cryptopredict.git"
        self.gitconfig.write_text(f'[url "{remote.path}"]\n\tinsteadOf = {url}\n')
        self.tools = workdir.parent / "bin"  # the stand-ins on PATH, and this Python as python
        self.tools.mkdir()
        for name, script in tools.items():
            (self.tools / name).write_text(script)
            (self.tools / name).chmod(stat.S_IRWXU)
        for name in ("python", "python3"):
            (self.tools / name).symlink_to(sys.executable)
        self.python_path = python_path
        # The repository's variables and secrets, the jobs' environment beside GitHub's, each
        # action step's outputs by its id, and what each fails with (a step id's words).
        self.variables: dict[str, str] = {}
        self.secrets: dict[str, str] = {}
        self.environ: dict[str, str] = {}
        self.action_outputs: dict[str, dict[str, str]] = {}
        self.failing: dict[str, str] = {}
        self.time_scale = 1.0  # simulated seconds a real second

    def run(
        self,
        event: Event,
        *,
        only: list[str] | None = None,
        reuse: Mapping[str, Mapping[str, str]] | None = None,
        time_out: Mapping[str, str] | None = None,
    ) -> WorkflowRun:
        """Run the workflow's jobs (or `only` those), the jobs in `reuse` standing as succeeded
        with the outputs given (a re-run of failed jobs), each job in `time_out` cancelled at its
        limit while the step named there runs."""
        jobs: dict[str, JobRun] = {
            name: JobRun(name, "success", dict(outputs)) for name, outputs in (reuse or {}).items()
        }
        needs = {name: _needs(job) for name, job in self.workflow["jobs"].items()}
        for name in graphlib.TopologicalSorter(needs).static_order():
            if name not in jobs and (only is None or name in only):
                jobs[name] = self._job(name, event, jobs, (time_out or {}).get(name))
        return WorkflowRun(jobs)

    def _github(self, event: Event) -> dict[str, Any]:
        return {
            "event_name": event.name,
            "event": event.payload,
            "ref": event.ref,
            "ref_name": event.ref.split("/", 2)[-1],
            "ref_type": "tag" if event.ref.startswith("refs/tags/") else "branch",
            "sha": event.sha,
            "repository": event.repository,
            "actor": "octo",
            "server_url": "https://github.com",
            "run_id": "1",
            "run_attempt": "1",
            "token": self.secrets.get("GITHUB_TOKEN", ""),
        }

    def _ancestors(self, name: str) -> set[str]:
        direct = set(_needs(self.workflow["jobs"][name]))
        return direct.union(*(self._ancestors(parent) for parent in direct))

    def _job(
        self, name: str, event: Event, done: Mapping[str, JobRun], cut_at: str | None = None
    ) -> JobRun:
        definition = self.workflow["jobs"][name]
        needs = _needs(definition)
        if any(parent not in done for parent in needs):
            return JobRun(name, "skipped")
        results = [done[job].result for job in self._ancestors(name) if job in done]
        succeeded = all(result == "success" for result in results)
        if not STATUS_FUNCTIONS.search(str(definition.get("if", ""))) and not succeeded:
            return JobRun(name, "skipped")
        contexts: dict[str, Any] = {
            "github": self._github(event),
            "vars": self.variables,
            "secrets": self.secrets,
            "needs": {
                parent: {"outputs": done[parent].outputs, "result": done[parent].result}
                for parent in needs
            },
            "matrix": _first_combination(definition),
            "steps": {},
            "env": {},
            STATUS: {
                "success": succeeded,
                "failure": "failure" in results,
                "always": True,
                "cancelled": False,
            },
        }
        reads: list[str] = []

        def evaluated(values: Mapping[str, Any] | None) -> dict[str, str]:
            return {k: interpolate(v, contexts, reads) for k, v in (values or {}).items()}

        if not condition(definition.get("if"), contexts, reads):
            return JobRun(name, "skipped")
        workspace = self.workdir / f"{name}-{len(list(self.workdir.iterdir()))}"
        workspace.mkdir()
        job_env = contexts["env"] = evaluated(definition.get("env"))
        run = JobRun(name, "success")
        started = time.monotonic()
        limit = float(definition.get("timeout-minutes", 360)) * 60 / self.time_scale
        for step in definition.get("steps", []):
            label = step_label(step)
            reads = []
            # After a failed or cancelled step only the steps that ask for it run (`if:
            # failure()`, `cancelled()`, `always()`).
            stopped = run.result != "success"
            contexts[STATUS] = {
                **contexts[STATUS],
                "success": not stopped,
                "failure": run.result == "failure",
                "cancelled": run.result == "cancelled",
            }
            asks = STATUS_FUNCTIONS.search(str(step.get("if", "")))
            if (stopped and not asks) or not condition(step.get("if"), contexts, reads):
                run.steps.append(StepRun(name, label, "skipped"))
                continue
            env, inputs = evaluated(step.get("env")), evaluated(step.get("with"))
            record = StepRun(name, label, "success", secrets=list(reads), inputs=inputs)
            run.steps.append(record)
            if label == cut_at:  # the limit came while it ran
                outputs, record.outcome = {}, "cancelled"
            elif "run" in step:
                outputs = self._shell(
                    step["run"],
                    event,
                    workspace,
                    {**job_env, **env},
                    record,
                    deadline=None if stopped else started + limit,
                )
            else:
                outputs = self._action(step["uses"], event, workspace, inputs, step.get("id"))
                record.output = self.failing.get(step.get("id"), "")
                record.outcome = "failure" if record.output else "success"
            if "id" in step:
                contexts["steps"][step["id"]] = {"outputs": outputs, "outcome": record.outcome}
            if record.outcome == "cancelled" or (
                record.outcome == "failure" and not step.get("continue-on-error")
            ):
                run.result = record.outcome
        run.seconds = (time.monotonic() - started) * self.time_scale
        reads = []  # whatever the job's result, as GitHub's runner completes a job
        run.outputs = evaluated(definition.get("outputs"))
        return run

    def _shell(
        self,
        script: str,
        event: Event,
        workspace: Path,
        env: Mapping[str, str],
        record: StepRun,
        *,
        deadline: float | None,
    ) -> dict[str, str]:
        """A `run:` step, cancelled (its whole process group) at `deadline` (time.monotonic)."""
        output_file = workspace.parent / f"{workspace.name}.output"
        output_file.write_text("")
        temp = workspace.parent / f"{workspace.name}.temp"
        temp.mkdir(exist_ok=True)
        environment = {
            "PATH": f"{self.tools}:{os.environ['PATH']}",
            "HOME": str(_home(workspace)),
            "PYTHONPATH": str(self.python_path),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": str(self.gitconfig),
            **self.environ,
            **env,
            "GITHUB_ACTIONS": "true",
            **{  # the github context's: GITHUB_REF, GITHUB_SHA, GITHUB_RUN_ID, ...
                f"GITHUB_{key.upper()}": value
                for key, value in self._github(event).items()
                if isinstance(value, str) and key != "token"
            },
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_OUTPUT": str(output_file),
            "GITHUB_STEP_SUMMARY": str(workspace.parent / f"{workspace.name}.summary"),
            "RUNNER_TEMP": str(temp),
        }
        process = subprocess.Popen(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=workspace,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            left = None if deadline is None else max(deadline - time.monotonic(), 0.01)
            out, err = process.communicate(timeout=left)
            record.outcome = "success" if process.returncode == 0 else "failure"
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            out, err = process.communicate()
            err += "##[error]The job has exceeded the maximum execution time (timeout-minutes)\n"
            record.outcome = "cancelled"
        record.output = out + err
        return read_outputs(output_file.read_text())

    def _action(
        self, uses: str, event: Event, workspace: Path, inputs: Mapping[str, str], step_id: Any
    ) -> dict[str, str]:
        action = uses.split("@", 1)[0]
        if action == "actions/checkout":
            assert "ref" not in inputs, "the runner checks out the run's own commit only"
            checkout_run(self.remote, workspace, event.sha, event.ref)
            return {}
        if action == "docker/login-action":
            login = f"{inputs['username']}:{inputs['password']}".encode()
            config = _home(workspace) / ".docker" / "config.json"
            config.parent.mkdir(parents=True, exist_ok=True)
            auth = {"auth": base64.b64encode(login).decode()}
            config.write_text(json.dumps({"auths": {inputs["registry"]: auth}}))
        return dict(self.action_outputs.get(str(step_id), {}))


def step_label(step: Mapping[str, Any]) -> str:
    """A step's name in a run's record: its name, else what it uses or runs."""
    return str(step.get("name") or step.get("uses") or step.get("run", "")[:40])


def _home(workspace: Path) -> Path:
    """The job's home directory, beside its workspace."""
    home = workspace.parent / f"{workspace.name}.home"
    home.mkdir(exist_ok=True)
    return home


def _needs(definition: Mapping[str, Any]) -> list[str]:
    needs = definition.get("needs", [])
    return [needs] if isinstance(needs, str) else list(needs)


def _first_combination(definition: Mapping[str, Any]) -> dict[str, Any]:
    matrix = (definition.get("strategy") or {}).get("matrix") or {}
    return {key: values[0] for key, values in matrix.items() if isinstance(values, list)}


def read_outputs(source: str) -> dict[str, str]:
    """$GITHUB_OUTPUT's `name=value` and `name<<DELIMITER` forms, as the runner reads them."""
    values: dict[str, str] = {}
    lines = iter(source.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            values[name] = "\n".join(iter(lines.__next__, delimiter))
        elif "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
    return values
