"""The release workflow as a simulated month runs it (tests/release/month.py): a scratch remote
holding this checkout's workflow, release tooling and lock files, the workflow runner
(tests/release/workflow_runner.py) with the month's stand-ins on its PATH, and the actions no
runner here can run stood in for:

- `docker/build-push-action` (the image job's training build) writes a synthetic release
  (tests/api/synthetic.py) on the month's price path up to the run's hour, extends the track
  record of the previous release image it reads from the registry (`PREVIOUS_IMAGE`, by digest)
  with the real record code (`cryptopredict/training/record.py`, as `train.py --previous` does),
  and pushes the image by digest, annotated as the build annotates it;
- `actions/attest-build-provenance` stores the attestation gh verifies later;
- the test job's machine set-up (apt on Debian as root) is left out, and its `make test` is the
  stand-in's; the smoke test's `docker run` is said, not run.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ci.audit import LOCK_FILES
from cryptopredict.artifact.arrays import BarHistory
from cryptopredict.artifact.record import RecordError
from cryptopredict.artifact.run import TrainingRun, write_run
from cryptopredict.training.record import RecordKeeper
from tests.api.synthetic import BTC, HORIZON_DAYS, bars, write_synthetic
from tests.release.attestations import attest, certificate
from tests.release.github_fork import FAKE_SSH, HOST_KEY, TAG_KEY, blueprint
from tests.release.month_exchanges import PAIRS, Exchanges
from tests.release.month_tools import REFUSED_429, image_files
from tests.release.month_world import HOUR, NAME, REPOSITORY, TIME_SCALE, Build, World
from tests.release.oci_registry import PASSWORD, USER
from tests.release.osv import QUERY
from tests.release.scratch_git import ScratchRepo
from tests.release.workflow_runner import Event, JobRun, Runner, step_label

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"
DOCKERFILE = ROOT / "Dockerfile"
HISTORY_DAYS = 60
LOGIN = f"{USER}:{PASSWORD}"
# The checkout's files the remote holds: what the release's jobs run.
TRACKED = (".github", "tools", "ci", "Dockerfile", *LOCK_FILES)  # the base the image job mirrors
STAND_INS = ("gh", "docker", "skopeo", "make")
PULL_FAILED = "'::error::Docker pull failed with exit code 1'"  # an annotation, as GitHub's
SIGSTORE_DOWN = (
    "Error: Failed to get a signing certificate from Fulcio: HTTP 503 Service Unavailable"
)
CACHE_DENIED = "ERROR: failed to solve: failed to export cache: 403 Forbidden (GitHub's cache)"
RUNNER_LOST = "The hosted runner: GitHub Actions 42 lost communication with the server."


class PricePath:
    """BTC/USD's hourly closes over the month and the history before it: one random walk, so
    every release sees the same close at the same hour."""

    def __init__(self, start: float, hours: int, seed: int = 82) -> None:
        self.first = int(start) - (HISTORY_DAYS + 2) * 24 * HOUR  # the first release's too
        count = (HISTORY_DAYS + 4) * 24 + hours
        rng = np.random.default_rng(seed)
        self.close = BTC.price * np.exp(np.cumsum(rng.normal(0, 0.004, count)))

    def history(self, data_until: int) -> BarHistory:
        """The bars whose close came by `data_until` (an hour's end), the last 60 days'."""
        last = (data_until - HOUR - self.first) // HOUR
        close = self.close[last - HISTORY_DAYS * 24 + 1 : last + 1]
        ds = self.first + HOUR * np.arange(last - len(close) + 1, last + 1, dtype=np.int64)
        return bars(ds, close, np.full(len(ds), 50.0))


def scratch_remote(path: Path, credential: str = "ghcr") -> ScratchRepo:
    """The fork's repository: this checkout's release files and a Blueprint naming its image,
    pulled with the registry credential `credential` (the package is private: Render pulls
    logged in; "": none)."""
    remote = ScratchRepo(path)
    for part in TRACKED:
        source = ROOT / part
        if source.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "node_modules")
            shutil.copytree(source, path / part, ignore=ignore)
        else:
            shutil.copy(source, path / part)
    (path / "render.yaml").write_text(blueprint(REPOSITORY.split("/")[0], credential))
    remote.git("add", "--all")
    # GitHub serves any commit of the repository by its id (actions/checkout fetches so).
    remote.git("config", "uploadpack.allowAnySHA1InWant", "true")
    remote.commit("The release, as the fork holds it")
    return remote


def stand_ins() -> dict[str, str]:
    """gh, docker, skopeo and make: tests/release/month_tools.py's; ssh: GitHub's SSH endpoint
    (FAKE_SSH); each call logged (FAKE_LOG)."""
    run = f"exec {sys.executable} -m tests.release.month_tools"
    scripts = {tool: f'echo "{tool} $*" >>"$FAKE_LOG"\n{run} {tool} "$@"\n' for tool in STAND_INS}
    scripts["ssh"] = FAKE_SSH.split("\n", 1)[1]
    return {name: f"#!/usr/bin/env bash\n{script}" for name, script in scripts.items()}


def month_workflow() -> dict:
    """release.yml as written, but the steps that need a machine of GitHub's: the test job's
    apt set-up (this machine's apt is not touched) and the smoke test's `docker run`."""
    workflow = yaml.safe_load(WORKFLOW.read_text())
    test = workflow["jobs"]["test"]
    test["steps"] = [
        step
        for step in test["steps"]
        if not str(step.get("name", "")).startswith(("Install what the suite", "Let root's git"))
    ]
    for job in workflow["jobs"].values():  # GitHub's runner pulls a job's container first,
        if "container" in job:  # three tries, as its "back off ... before retry" says
            pull, env = 'docker pull "$IMAGE"', {"IMAGE": job["container"]["image"]}
            run = f"{pull} || {pull} || {pull} || {{ echo {PULL_FAILED}; exit 1; }}"
            job["steps"].insert(0, {"name": "Initialize containers", "run": run, "env": env})
    for step in workflow["jobs"]["smoke"]["steps"] + workflow["jobs"]["deploy"]["steps"]:
        if "smoke-image.sh" in str(step.get("run", "")):
            step["run"] = 'echo "smoke test stood in: $IMAGE@$DIGEST on $PLATFORM"'
        elif "tools.release deploy" in str(step.get("run", "")):  # its wait, on the month's clock
            step["run"] = step["run"].rstrip() + f" --timeout {900 / TIME_SCALE:g} --interval 0.5"
    for step in workflow["jobs"]["dispatch"]["steps"]:  # the release's run, asked as often
        if "tools.release dispatch" in str(step.get("run", "")):
            step["run"] = step["run"].rstrip() + f" --interval {60 / TIME_SCALE:g}"
    return workflow


class BuildFailedError(Exception):
    """The synthetic build failed, saying this."""


class ReleaseRunner(Runner):
    """The workflow runner of a fork set up as docs/release.md says (its secrets and Render's
    variable), GitHub's API, Render and OSV's feed at `url`, ghcr.io at `registry`, the calls
    of the stand-ins `tools` logged (calls.log) and the attestations `gh` verifies kept under
    `tmp`."""

    def __init__(
        self, remote: ScratchRepo, tmp: Path, tools: dict[str, str], url: str, registry: str
    ) -> None:
        self.attestations, self.log = tmp / "attestations", tmp / "calls.log"
        self.log.touch()
        (tmp / "jobs").mkdir()
        super().__init__(WORKFLOW, remote, tmp / "jobs", tools=tools, python_path=ROOT)
        self.variables = {"RENDER_SERVICE_URL": url}
        self.secrets = {
            "GITHUB_TOKEN": PASSWORD,  # the job's token: the registry's login too
            "RELEASE_TAG_KEY": TAG_KEY,  # a personal account's repository's deploy key
            "RENDER_DEPLOY_HOOK_URL": f"{url}/deploy/srv-1?key=k",
            "ALPACA_API_KEY": "alpaca-key-0123456789",
            "ALPACA_SECRET_KEY": "alpaca-secret-0123456789abcdef",
            "DASK_SCHEDULER_ADDRESS": "tcp://scheduler.example.invalid:8786",
        }
        self.environ = {
            "FAKE_LOG": str(self.log),
            "FAKE_REMOTE": str(remote.path),
            "FAKE_TAG_KEY": TAG_KEY,
            "FAKE_HOST_KEY": HOST_KEY,
            "FAKE_ATTESTATIONS": str(self.attestations),
            "FAKE_REGISTRY_URL": registry,
            "RELEASE_REGISTRY_URL": registry,
            "GITHUB_API_URL": url,
            "PIP_AUDIT_VULNERABILITY_SERVICE": "osv",  # OSV's API, at `url`
            "PIP_AUDIT_OSV_URL": f"{url}{QUERY}",
        }


class MonthRunner(ReleaseRunner):
    """The workflow runner with the month's stand-ins for the build and the attestation."""

    exchanges: Exchanges | None = None  # BUILD=real's: each build trains on them

    def __init__(self, world: World, prices: PricePath, remote: ScratchRepo, tmp: Path) -> None:
        self.world, self.prices = world, prices
        super().__init__(remote, tmp, stand_ins(), world.url, world.proxy)
        self.variables["RELEASE_ASSETS"] = PAIRS
        self.environ |= {
            "MONTH_URL": world.url,
            "MONTH_CACHE": str(tmp),
            # The tries as shipped; the back-off between them (10 30 90 s), gh's limit a try
            # (60 s) and the jobs' timeout-minutes on the month's clock.
            "RELEASE_RETRY_DELAYS": " ".join(f"{s / TIME_SCALE:g}" for s in (10, 30, 90)),
            "RELEASE_GH_TIMEOUT": f"{60 / TIME_SCALE:g}",
            "MONTH_TIME_SCALE": str(TIME_SCALE),
        }
        self.workflow = month_workflow()
        self.time_scale = TIME_SCALE

    def _action(
        self, uses: str, event: Event, workspace: Path, inputs: Mapping[str, str], step_id: Any
    ) -> dict[str, str]:
        action = uses.split("@", 1)[0]
        self.failing.pop(step_id, None)  # each step of the month's fails as the world says
        if action == "docker/build-push-action":
            try:
                return {"digest": self._build(inputs)}
            except BuildFailedError as error:
                self.failing[step_id] = str(error)  # the runner fails the step, saying this
                return {}
        if action == "actions/attest-build-provenance":
            if self.world.consume("attestation", inputs["subject-digest"]):  # Sigstore's down
                self.failing[step_id] = SIGSTORE_DOWN
            else:
                attest(
                    self.attestations, inputs["subject-digest"], certificate(REPOSITORY, event.ref)
                )
            return {}
        if action in ("docker/setup-qemu-action", "docker/setup-buildx-action"):
            # Each pulls its image (QEMU's, BuildKit's) from Docker Hub.
            if self.world.consume("base-image", f"{action} {dict(inputs)}"):
                self.failing[step_id] = REFUSED_429
            return {}
        if action == "docker/metadata-action":  # its labels and annotations, as it prints them
            lines = [line for line in inputs.get("annotations", "").splitlines() if line]
            return {
                "labels": inputs.get("labels", ""),
                "annotations": "\n".join(f"index:{line}" for line in lines),
            }
        return super()._action(uses, event, workspace, inputs, step_id)

    def _job(
        self, name: str, event: Event, done: Mapping[str, JobRun], cut_at: str | None = None
    ) -> JobRun:
        """A publish the world cuts short is cancelled at its second step that moves a tag,
        as GitHub cancels a job (where one step moves every tag, the stand-in docker cuts it
        after the first)."""
        steps = self.workflow["jobs"][name]["steps"]
        moving = [step_label(step) for step in steps if _moves_a_tag(step)]
        built = "image" in done and done["image"].result == "success"
        built = built and all(job.result != "failure" for job in done.values())
        if name == "publish" and len(moving) > 1 and built:
            cut_at = cut_at or (moving[1] if self.world.consume("publish", moving[1]) else None)
        return super()._job(name, event, done, cut_at)

    def _build(self, inputs: Mapping[str, str]) -> str:
        args = dict(line.split("=", 1) for line in inputs["build-args"].splitlines() if line)
        if self.world.consume("base-image", f"SBOM scanner {inputs.get('sbom', '')}"):
            raise BuildFailedError(f"ERROR: failed to solve: {REFUSED_429}")
        cache = inputs["cache-to"]  # BuildKit fails a build whose cache export fails, unless...
        if self.world.consume("cache-export", cache) and "ignore-error=true" not in cache:
            raise BuildFailedError(CACHE_DENIED)
        with tempfile.TemporaryDirectory(prefix="month-build-") as scratch:
            previous, out = Path(scratch) / "previous", Path(scratch) / "app" / "artifacts"
            previous.mkdir()
            if args["PREVIOUS_IMAGE"]:
                read = partial(image_files, args["PREVIOUS_IMAGE"], LOGIN, self.world.proxy)
                try:
                    files = buildkit(read, SystemExit)
                except SystemExit as error:
                    raise BuildFailedError(f"ERROR: failed to solve: {error}") from None
                for name, data in files.items():
                    target = previous / name.removeprefix("app/artifacts/")
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
            train = self._train if self.exchanges else self._synthetic
            data_until, source = train(previous, out, args)
            if self.world.consume("runner", args["MODEL_VERSION"]):  # gone mid-push
                raise BuildFailedError(RUNNER_LOST)
            try:
                digest = self._push(out.parent.parent, inputs)
            except OSError as error:  # BuildKit's words (HTTP's status, or a time-out)
                said = f"{getattr(error, 'code', '')} {getattr(error, 'reason', error)}"
                raise BuildFailedError(f"ERROR: failed to push ghcr.io/{NAME}: {said}") from None
        tag, sha = args["MODEL_VERSION"], args["GIT_SHA"]
        hosts = " -> ".join(dict.fromkeys(self.exchanges.calls)) if self.exchanges else ""
        build = Build(digest, tag, sha, data_until, self.world.now, source, hosts)
        self.world.builds[digest] = build
        return digest

    def _synthetic(self, previous: Path, out: Path, args: dict[str, str]) -> tuple[int, str]:
        data_until = int(self.world.now // HOUR * HOUR)
        try:
            afresh, image = args["TRACK_RECORD_AFRESH"] or None, args["PREVIOUS_IMAGE"] or None
            keeper = RecordKeeper.open(
                previous, out=out, afresh=afresh, max_horizon_days=HORIZON_DAYS, image=image
            )
        except RecordError as error:
            said = f"train.py: the track record cannot be extended: {error}"
            raise BuildFailedError(said) from None
        keeper.now = int(self.world.now)
        slug, tag = BTC.slug, args["MODEL_VERSION"]
        write_synthetic(out, BTC, history=self.prices.history(data_until), model_version=tag)
        keeper.issued(slug, out / slug)
        keeper.carry({})
        at = datetime.fromtimestamp(self.world.now, UTC)
        write_run(
            out,
            TrainingRun(
                asked=slug, finished_at=at, model_version=tag, trained=(slug,), extends=image
            ),
        )
        return data_until, "synthetic"

    def _train(self, previous: Path, out: Path, args: dict[str, str]) -> tuple[int, str]:
        """The Dockerfile's training step as it is written, on the month's exchanges, its clock
        the month's (`--until`, the one flag added); its newest bar and source, BTC/USD's."""
        step = re.search(r'(ASSETS="\$ASSETS".*?\$TRAIN_ARGS)', DOCKERFILE.read_text(), re.S)
        command = step[1].replace("\\\n", " ").replace("python ", f"{sys.executable} ", 1)
        for path, there in (("/previous/app/artifacts", previous), ("/app/artifacts", out)):
            command = command.replace(path, str(there))
        until = f"{datetime.fromtimestamp(self.world.now, UTC):%Y-%m-%dT%H:%M:%SZ}"
        env = {**os.environ, **args, "CRYPTOPREDICT_CACHE": str(out.parent / "cache")}
        env["TRAIN_ARGS"] = f"{args.get('TRAIN_ARGS', '')} --until {until}"
        assert self.exchanges is not None, "BUILD=real's"
        urls = ("BINANCE_API_URL", "ALPACA_DATA_URL", "HTTPS_PROXY")  # other hosts: through it
        env.update(dict.fromkeys(urls, self.exchanges.url))
        env.update(NO_PROXY="127.0.0.1", REQUESTS_CA_BUNDLE=str(self.exchanges.ca))
        self.exchanges.calls = []
        done = subprocess.run(
            ["bash", "-c", command.replace("/cache/history", "$CRYPTOPREDICT_CACHE")],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode:
            said = [line for line in done.stderr.splitlines() if " ERROR " in line][-3:]
            raise BuildFailedError(f"ERROR: failed to solve: train.py: {' '.join(said)}")
        for pickled in out.glob("*/model.pkl"):  # moved out of the artifacts, as the image does
            pickled.unlink()
        manifest = json.loads((out / "btc-usd" / "manifest.json").read_text())
        data, carried = manifest["data"], manifest["model_version"] != args["MODEL_VERSION"]
        source = "carried" if carried else data["source"]  # carried: the previous release's
        return int(datetime.fromisoformat(data["last"]).timestamp()) + HOUR, source

    def _push(self, root: Path, inputs: Mapping[str, str]) -> str:
        """The image (one layer: /app/artifacts) pushed by digest, untagged, through the proxy
        of the world's faults, each blob as BuildKit pushes it: its index's digest."""
        registry = copy.copy(self.world.registry)
        registry.url, blob = self.world.proxy, registry.blob
        registry.blob = lambda name, data: buildkit(partial(blob, name, data), OSError)
        labels = dict(line.split("=", 1) for line in inputs["labels"].splitlines() if "=" in line)
        annotations = dict(
            line.removeprefix("index:").split("=", 1)
            for line in inputs["annotations"].splitlines()
            if line.startswith("index:")
        )
        files = {
            str(path.relative_to(root)): path.read_bytes()
            for path in sorted((root / "app").rglob("*"))
            if path.is_file()
        }
        return registry.push(NAME, [], labels, annotations, files)


def buildkit(call: Callable[[], Any], failing: type[BaseException]) -> Any:
    """`call` as BuildKit makes a registry's request (a blob pushed, a layer pulled): tried four
    times, after 1, 2 and 4 s on the month's clock, while it fails with `failing` (a 5xx, a
    dropped connection)."""
    for wait in (1, 2, 4):
        try:
            return call()
        except failing:
            time.sleep(wait / TIME_SCALE)
    return call()


def _moves_a_tag(step: Mapping[str, Any]) -> bool:
    return any(
        words in str(step.get("run", "")) for words in ("imagetools create", "move-image-tag")
    )
