"""release.yml run as GitHub would run it (tests/release/workflow_runner.py), on event payloads,
against a scratch remote (issue 42, bars 1, 2 and 4; issue 51, bars 1 to 3).

The remote's first commit holds the workflow, `tools/` and `ci/` as they are in this checkout, so
each job runs this commit's tooling from its own checkout. The repository's address on GitHub
leads to the scratch remote (git's `insteadOf`), which serves any commit by its id, as GitHub
does. `gh`, `docker`, `skopeo` and `ssh` are the month's stand-ins on PATH, recording their
calls (tests/release/month_tools.py): `gh attestation verify` resolves the image through the
registry and answers from the attestations the test stored (tests/release/attestations.py),
`docker` and `skopeo` read and move the registry's images, and `ssh` lets a push through to the
scratch remote's own `git receive-pack` only with the deploy key the test gave and GitHub's host
key in the known hosts file. GitHub's own side (its REST API: the repository, the environment's
rules, the tag rulesets, the SSH host keys, creating a ref) and Render are a local server; the
registry a real one (Debian's docker-registry), holding v0.1.5's image and the run's build.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest
import yaml

from ci.audit import LOCK_FILES
from cryptopredict.artifact.run import RUN, TrainingRun
from tests.release.attestations import attest, certificate
from tests.release.ghcr import Package
from tests.release.github_fork import SERVER_ERRORS, TAG_KEY, Fork
from tests.release.month_build import ROOT, WORKFLOW, ReleaseRunner, scratch_remote, stand_ins
from tests.release.month_world import REPOSITORY, VERSIONS
from tests.release.oci_registry import LocalRegistry, digest_of
from tests.release.osv import Feed, advisory
from tests.release.scratch_git import ScratchRepo
from tests.release.workflow_runner import Event, Runner, WorkflowRun, evaluate
from tools.release.registry import Registry
from tools.release.version import CREATED, RECORD_FORMAT, VERSION

LATER_JOBS = ["dispatch", "test", "image", "smoke", "scan", "attest", "tag", "publish", "deploy"]
SIGSTORE_DOWN = "Error: Failed to get a signing certificate from Fulcio: HTTP 503"
# The previous release, v0.1.5's image: its annotations and tags.
V015 = {VERSION: "0.1.5", CREATED: "2026-11-23T06:00:00Z"}
LATEST_TAGS = ["latest", "0.1.5", "0.1.5-20261123060000"]
# What a build trained, as its image holds it (artifacts/run.json).
TRAINED = msgspec.json.encode(
    TrainingRun(
        asked="btc-usd,eth-usd",
        finished_at=datetime(2026, 11, 23, 6, 0, tzinfo=UTC),
        model_version="0.2.0-20261123060000",
        trained=("btc-usd", "eth-usd"),
    )
)


class Release:
    """The scratch remote (v0.1.5 released at b, main at c), a real registry holding v0.1.5's
    image and this run's build, the stand-ins and the runner."""

    def __init__(self, tmp: Path, server, registry: LocalRegistry) -> None:
        self.tmp = tmp
        self.server = server
        self.remote = scratch_remote(tmp / "remote", credential="")
        self.remote.git("tag", "v0.1.4")
        self.b = self.remote.commit("push B", tag="v0.1.5")
        self.c = self.remote.commit("push C")
        self.remote.checkout(self.b)
        self.branch = self.remote.commit("a branch's work, never merged")
        self.remote.checkout(self.c)
        # GitHub's side set up as docs/release.md says, and a public package.
        self.fork = Fork.set_up(job_token=True, host=server.url.removeprefix("http://"))
        self.released("success")  # the run on the tag a run on main starts, and waits for
        # The package's versions, as the retention job lists them: none to delete.
        server.route(VERSIONS, 200, "[]")
        # The repository's issues, where the runs say what needs the owner; OSV's feed, which
        # the audit asks.
        self.issues, self.feed = self.fork.issues, Feed()
        server.handler = lambda *asked: (
            self.fork.handle(*asked) or self.feed.handle(*asked) or self.fault(*asked)
        )
        self.hub_429 = 0  # Docker Hub refuses the next this many pulls
        self.runner = ReleaseRunner(self.remote, tmp, stand_ins(), server.url, registry.url)
        self.attestations = self.runner.attestations
        self.runner.environ |= {
            "RELEASE_RETRY_DELAYS": "0 0",  # a transient failure tried again at once
            "PIP_AUDIT_CACHE_DIR": str(tmp / "pip-audit"),
            "MONTH_URL": server.url,  # the stand-ins' faults (self.fault)
            "MONTH_CACHE": str(tmp),  # the base image's digests mirrored: the Dockerfile's
        }
        (tmp / "mirrored").mkdir()
        (tmp / "mirrored" / BASE_IMAGE[1]).touch()
        # The catch-all, which asks the service and GitHub after every run, has its own tests
        # (tests/release/test_say.py, the month's); here it would take the answers scripted.
        del self.runner.workflow["jobs"]["production"]
        self.use(registry)
        # The previous release, attested by v0.1.5's run.
        self.v015 = registry.push(REPOSITORY, LATEST_TAGS, annotations=V015)
        attest(self.attestations, self.v015, certificate(REPOSITORY, "refs/tags/v0.1.5"))

    def use(self, registry: LocalRegistry) -> None:
        """Where ghcr.io leads, for the tooling and for gh, docker and skopeo: `registry`, this
        run's build pushed into it."""
        self.registry = registry
        for name in ("RELEASE_REGISTRY_URL", "FAKE_REGISTRY_URL"):
            self.runner.environ[name] = registry.url
        self.digest = self.build()

    def build(self, outputs: dict[str, str] | None = None, files: dict | None = None) -> str:
        """What the image and attest jobs leave for a release run's `outputs`: its index (the
        app and what it trained, and `files`) pushed by digest, annotated as the build annotates
        it, attested by a run on main."""
        annotations = {VERSION: outputs["version"], CREATED: outputs["created"]} if outputs else {}
        files = {
            "app/api.py": b"print('serving')\n",
            f"app/artifacts/{RUN}": TRAINED,
            **(files or {}),
        }
        digest = self.registry.push(REPOSITORY, [], annotations=annotations, files=files)
        attest(self.attestations, digest, certificate(REPOSITORY, "refs/heads/main"))
        self.runner.action_outputs["build"] = {"digest": digest}
        return digest

    def fault(self, _: str, path: str, __: bytes) -> tuple | None:
        """The fault striking a stand-in's call, as the month's world answers it: Docker Hub's
        429 while `hub_429` lasts, nothing else."""
        if not path.startswith("/_month/consume"):
            return None
        struck = "target=base-image" in path and self.hub_429 > 0
        self.hub_429 -= struck
        return 200, json.dumps({"kind": "base-image-429"} if struck else {}).encode()

    def released(self, conclusion: str, failed: str = "") -> None:
        """The run on the tag a dispatch starts as GitHub shows it: concluded, its job `failed`
        failing."""
        self.fork.ends = (conclusion, [(failed, "failure", [SIGSTORE_DOWN])] if failed else [])

    def push(self, message: str) -> str:
        """A commit pushed to main."""
        self.remote.checkout(self.remote.git("rev-parse", "refs/heads/main"))
        commit = self.remote.commit(message)
        self.remote.move_branch(commit)
        return commit

    def tagged(self, message: str, tag: str = "v0.1.6") -> Event:
        """A push, tagged as its run's tag job tags it: the run its dispatch starts on the tag."""
        commit = self.push(message)
        self.remote.git("tag", tag, commit)
        return tag_event(tag, commit)

    def calls(self) -> list[str]:
        return self.runner.log.read_text().splitlines()

    def hook_calls(self) -> list[tuple[str, str]]:
        """The requests Render's deploy hook got."""
        return [request for request in self.server.requests if request[1].startswith("/deploy")]


@pytest.fixture
def release(tmp_path, server, registry_of_its_own) -> Release:
    return Release(tmp_path, server, registry_of_its_own)


def push_event(commit: str, message: str = "") -> Event:
    return Event("push", "refs/heads/main", commit, {"head_commit": {"message": message}})


def tag_event(tag: str, commit: str) -> Event:
    return Event("workflow_dispatch", f"refs/tags/{tag}", commit)


def planned(
    release: Release, event: Event, *jobs: str, time_out: dict | None = None, **done: dict
) -> WorkflowRun:
    """The `jobs` of a run for `event` (every job where none is named), its version job run
    first and the jobs `done` standing as succeeded with the outputs given (a re-run of failed
    jobs); each job in `time_out` cancelled at its limit while the step named there runs."""
    outputs = release.runner.run(event, only=["version"]).jobs["version"].outputs
    reuse, only = {"version": outputs, **done}, list(jobs) or None
    return release.runner.run(event, reuse=reuse, only=only, time_out=time_out)


def published(release: Release) -> dict[str, dict[str, str]]:
    """What the image and publish jobs leave for the deploy: the pushed digest, published."""
    return {"image": {"digest": release.digest}, "publish": {"published": "true"}}


def only_version_ran(run: WorkflowRun) -> None:
    assert run.result("version") == "failure"
    assert {job: run.result(job) for job in LATER_JOBS} == dict.fromkeys(LATER_JOBS, "skipped")


def test_a_branch_built_by_hand_reads_no_secret_but_its_job_token(release):
    """Issue 95: a manual run on a branch builds, smoke-tests and scans its head, publishing
    nothing; the training's secrets (Alpaca's keys, the Dask scheduler) reach no step of it."""
    event = Event("workflow_dispatch", "refs/heads/feature", release.branch)
    run = planned(release, event, test={}, smoke={})
    assert [run.result(job) for job in ("image", "scan", "publish", "tag")] == [
        "success",
        "success",
        "skipped",
        "skipped",
    ]
    assert run.secrets_read() == [], "its job token alone (github.token)"


def test_a_run_on_a_tag_that_is_no_release_tag_stops_in_its_first_minute(release):
    release.remote.git("tag", "v-x", release.branch)
    run = release.runner.run(tag_event("v-x", release.branch))
    only_version_ran(run)
    assert "refs/tags/v-x is not a release tag (vX.Y.Z): nothing to build" in run.failure().output
    assert run.secrets_read() == []


# Issue 103: a push tests and tags main's head; a tag builds; one guard at publish.


@pytest.mark.slow  # a run of main: git, the tag pushed with the deploy key, gh
def test_a_push_is_tested_tagged_with_the_deploy_key_and_its_tag_started_building_nothing(release):
    x = release.push("Add a pair #minor")
    run = release.runner.run(push_event(x, "Add a pair #minor"), reuse={"test": {}})
    assert {job: run.result(job) for job in ("version", "tag", "dispatch")} == dict.fromkeys(
        ("version", "tag", "dispatch"), "success"
    )
    assert [run.result(job) for job in ("image", "attest", "publish", "deploy")] == ["skipped"] * 4
    assert release.remote.git("rev-parse", "refs/tags/v0.2.0") == x
    calls = release.calls()
    [tag] = [call for call in calls if call.startswith("ssh ")]
    assert "StrictHostKeyChecking=yes" in tag, "GitHub's host key checked strictly"
    assert tag.endswith("git@github.com git-receive-pack 'octo/cryptopredict.git'")
    [started] = [each for each in release.fork.runs if each["event"] == "workflow_dispatch"]
    assert (started["head_branch"], started["inputs"]) == ("v0.2.0", {"start-anew": ""})
    assert {(job, secret) for job, _, secret in run.secrets_read()} == {
        ("tag", "RELEASE_TAG_KEY")
    }, "no training secret, no hook: nothing is built on main"
    assert not list((release.tmp / "jobs").rglob("key")), "the key's file gone with its job"
    assert TAG_KEY not in "".join(step.output for step in run.steps())


@pytest.mark.slow  # a run of main: git, the tag pushed with the deploy key, gh
def test_the_run_on_main_waits_for_the_release_it_started_and_fails_with_it(release):
    """Issue 112: GitHub mails a run's actor, never for a run the workflow's token started: the
    owner's run (a push, the schedule) fails with the release it started, naming its failed
    job and that job's words, so that GitHub's own mail carries it, Issues on or off. Issue 119:
    the dispatch's answer is lost once GitHub started the run, which is found, not started
    again; GitHub then fails the wait's next four calls, each with one of its server errors."""
    release.released("failure", failed="sign the tested image's build provenance")
    handled, lost, failed = release.server.handler, [], []

    def github(method: str, path: str, body: bytes) -> tuple | None:
        if path.endswith("/runs/2") and len(failed) < 4:  # the wait's calls
            failed.append(SERVER_ERRORS[len(failed)])
            return failed[-1]
        answer = handled(method, path, body)
        if path.endswith("/dispatches"):  # GitHub starts the run; its first answer is lost
            lost.append(answer)
            return SERVER_ERRORS[1] if len(lost) == 1 else answer
        return answer

    release.server.handler = github
    steps = release.runner.workflow["jobs"]["dispatch"]["steps"]
    [dispatch] = [step for step in steps if "tools.release dispatch" in step.get("run", "")]
    dispatch["run"] = dispatch["run"].rstrip() + " --interval 0.1"  # the wait's asks
    x = release.push("Add a pair")
    run = release.runner.run(push_event(x), reuse={"base": {}, "test": {}})
    assert [run.result(job) for job in ("tag", "dispatch")] == ["success", "failure"]
    assert (len(lost), len(failed)) == (1, 4), "one start; the wait outlasted four failures"
    said = run.failure().output
    assert "::error title=release dispatch::the release https://" in said
    assert f"ended failure: sign the tested image's build provenance: {SIGSTORE_DOWN}" in said
    assert ("GET", "/repos/octo/cryptopredict/actions/runs/2") in release.server.requests


def rebuilt(release: Release, event: Event) -> tuple[WorkflowRun, dict[str, str]]:
    """A run on a release tag, its version planned first; test and smoke (a container, docker)
    stood in for as succeeded."""
    version = release.runner.run(event, only=["version"])
    assert version.result("version") == "success", version.failure().output
    outputs = version.jobs["version"].outputs
    # Render's answers: the deploy hook's, then /healthz reporting the build.
    release.server.answer(200, '{"deploy": {"id": "dep-1"}}')
    release.server.answer(200, json.dumps({"model_version": outputs["build-tag"]}))
    # The package as publish leaves it, for the retention job: the new image, tagged.
    package, tags = Package("octo", "cryptopredict"), [outputs["version"], outputs["build-tag"]]
    package.add(release.digest, datetime.now(UTC), ["latest", *tags], [])
    release.server.route(VERSIONS, *package.handle("GET", VERSIONS, b""))
    run = release.runner.run(event, reuse={"version": outputs, "test": {}, "smoke": {}})
    return run, outputs


@pytest.mark.slow  # a whole run: dozens of git and Python processes
def test_a_run_on_the_tag_is_built_scanned_attested_published_and_deployed(release):
    run, outputs = rebuilt(release, release.tagged("Add a pair"))
    assert outputs["version"] == "0.1.6"
    jobs = ("image", "scan", "attest", "publish", "deploy", "retention")
    assert {job: run.result(job) for job in jobs} == dict.fromkeys(jobs, "success")
    assert [run.result(job) for job in ("tag", "dispatch")] == ["skipped"] * 2
    # The run's summary says what the image trained, from the run.json inside it.
    [summary] = (release.tmp / "jobs").glob("publish-*.summary")
    assert summary.read_text().startswith("## v0.1.6: 2 of 2 pairs trained\n")
    assert run.jobs["publish"].outputs == {"published": "true"}, "the guard's answer"
    # Each tag moved (after the scan, a tag a step, latest last: tests/delivery/test_workflows').
    assert tags_of(release, outputs["build-tag"], "0.1.6", "latest") == [release.digest] * 3
    assert release.hook_calls()
    secrets = {(job, secret) for job, _, secret in run.secrets_read()}
    assert ("image", "ALPACA_SECRET_KEY") in secrets
    assert ("deploy", "RENDER_DEPLOY_HOOK_URL") in secrets
    assert "RELEASE_TAG_KEY" not in {secret for _, secret in secrets}
    [kept] = run.jobs["retention"].steps[-1:]
    assert "kept 1 versions, deleted 0" in kept.output


@pytest.mark.slow  # a whole run: dozens of git and Python processes
def test_a_run_a_newer_release_tag_overtook_moves_no_image_tag_and_deploys_nothing(release):
    """The one guard: v0.1.6's run, queued behind v0.1.7's tag, refuses at publish."""
    event = release.tagged("Add a pair")
    release.remote.git("tag", "v0.1.7", release.push("Add another pair"))
    run, _ = rebuilt(release, event)
    assert run.result("publish") == "failure"
    failed = run.failure()
    assert failed.name == "Check that this is the newest release tag and no newer build is latest"
    assert "refusing to publish v0.1.6: the newest release tag is v0.1.7" in failed.output
    assert [run.result(job) for job in ("deploy", "retention")] == ["skipped"] * 2
    assert not [call for call in release.calls() if "imagetools create" in call]
    assert release.hook_calls() == []


@pytest.mark.slow  # a whole run: dozens of git and Python processes
def test_sigstore_failing_twice_is_tried_again_within_the_attest_job(release):
    release.runner.failing.update(attest=SIGSTORE_DOWN, again=SIGSTORE_DOWN)
    run, _ = rebuilt(release, release.tagged("Add a pair"))
    assert [run.result(job) for job in ("attest", "publish")] == ["success", "success"]
    assert [s.outcome for s in run.jobs["attest"].steps if "attest-build" in s.name] == [
        "failure",
        "failure",
        "success",
    ]
    waits = [s for s in run.jobs["attest"].steps if s.name.startswith("Wait")]
    assert [s.outcome for s in waits] == ["success", "success"]


@pytest.mark.slow  # a whole run: dozens of git and Python processes
def test_a_secret_in_the_pushed_image_stops_the_release_before_latest_moves(release):
    release.build(files={"app/settings.py": b"KEY = 'alpaca-secret-0123456789abcdef'\n"})
    run, _ = rebuilt(release, release.tagged("Add a pair"))
    assert run.result("scan") == "failure"
    output = run.failure().output
    assert "ALPACA_SECRET_KEY IS in the image" in output
    assert "alpaca-secret-0123456789abcdef" not in output, "the scan never prints the secret"
    assert [run.result(job) for job in ("attest", "publish", "deploy")] == ["skipped"] * 3
    assert not [call for call in release.calls() if "imagetools create" in call]


@pytest.mark.slow  # the version job: git, the registry, gh
def test_a_fork_without_render_is_told_each_run_that_latest_is_stale_and_no_word_of_render(
    release,
):
    """Issue 105: no RENDER_SERVICE_URL: the production job runs all the same and says in the
    one issue that the image latest names was built longer ago than the service's promise;
    nothing in the run speaks of render.yaml."""
    release.runner.variables["RENDER_SERVICE_URL"] = ""
    production = yaml.safe_load(WORKFLOW.read_text())["jobs"]["production"]
    release.runner.workflow["jobs"]["production"] = production
    jobs = ["version", "attest", "deploy", "production"]
    run = release.runner.run(tag_event("v0.1.5", release.b), only=jobs)
    assert [run.result(job) for job in jobs] == ["success", "skipped", "skipped", "success"]
    [issue] = release.issues.open()
    assert "ghcr.io/octo/cryptopredict:latest, which no deploy serves" in issue["body"]
    assert "(2026-11-23T06:00:00Z, its created annotation): its data is older" in issue["body"]
    assert not [step for step in run.steps() if "render.yaml" in step.output]


def test_a_run_that_will_deploy_without_the_rules_stops_in_its_first_minute(release):
    """Issue 51: the deploy would refuse hours later; the version job says so first."""
    release.fork.rulesets = []
    run = release.runner.run(release.tagged("Add a pair"))
    only_version_ran(run)
    assert run.failure().name == "Check the repository's rules now, when this run deploys"
    assert "create the tag ruleset 'release tags', as rulesets/release-tags.json" in (
        run.failure().output
    )
    assert "::error title=release rules::" in run.failure().output, "on the run's page"


def test_the_runner_reads_expressions_as_github_does():
    contexts = {"github": {"ref": "refs/tags/V1"}, "vars": {}, "secrets": {"A": "x"}}
    reads: list[str] = []
    assert evaluate("startsWith(github.ref, 'refs/tags/v')", contexts, reads) is True
    assert evaluate("vars.NOPE || '3'", contexts, reads) == "3"
    assert evaluate("vars.NOPE != ''", contexts, reads) is False
    assert evaluate("!(github.ref == 'refs/tags/v1') && secrets.A", contexts, reads) is False
    assert reads == [], "&& stops before the secret"
    assert evaluate("secrets.A == 'X'", contexts, reads) is True
    assert reads == ["A"]


@pytest.fixture(autouse=True)
def _no_token_from_outside(monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    os.environ.pop("GIT_CONFIG_COUNT", None)


# Issue 82: heal on the next cycle, or say it where the owner looks.

INSTALL = "Install what the suite needs, from the Debian snapshot of the pinned image"


def audit_job(release: Release, event: Event) -> WorkflowRun:
    """The test and audit jobs of a run for `event`, the gate standing in for `make test` by the
    part of it this is about, the audit (the suite needs Debian as root, its apt step a Debian
    image); the audit job, which holds the token that writes issues, says what it found."""
    steps = release.runner.workflow["jobs"]["test"]["steps"]
    steps[:] = [step for step in steps if step.get("name") != INSTALL]
    [gate] = [step for step in steps if step.get("name", "").startswith("make test")]
    gate["run"] = f"{sys.executable} ci/audit.py"  # the interpreter pip-audit is installed in
    return planned(release, event, "test", "audit", base={})


@pytest.mark.slow  # pip-audit on the lock files, four runs
def test_a_new_advisory_lets_a_scheduled_rebuild_go_on_green_saying_it_and_a_push_stops(release):
    """Issue 82, bar 3: an advisory against a pin v0.1.5 ships. Its scheduled rebuild goes on,
    green, and opens one issue naming the advisory and the bump; a push is red; once a run on
    main's audit finds nothing, the issue closes (issue 112: a tag's clean audit says nothing
    of main's head, where a revert the audit refused stays said, mentioned once)."""
    name, version = re.search(
        r"^(jinja2)==(\S+)", (ROOT / LOCK_FILES[0]).read_text(), re.M
    ).groups()
    release.feed.published.append(advisory("GHSA-2026-0001", name, version, "9.9.9"))
    rebuild = audit_job(release, tag_event("v0.1.5", release.b))
    assert rebuild.result("test") == "success", rebuild.failure().output
    [issue] = release.issues.open()  # the findings' words: tests/release/test_audit.py
    assert f"| {name} | {version} | GHSA-2026-0001 | 9.9.9 |" in issue["body"]
    [summary] = sorted((release.tmp / "jobs").glob("audit-*.summary"))
    assert "### Needs you: audit" in summary.read_text()
    # A push with the same pins: the gate stops it, and it is said in the same issue.
    push = audit_job(release, push_event(release.push("Add a pair")))
    assert push.result("test") == "failure"
    assert push.failure().name.startswith("make test")
    assert push.result("audit") == "success"
    assert [i["number"] for i in release.issues.issues] == [1], "one issue, not one a run"
    assert "this run's release stops here" in release.issues.comments[1][-1]
    # Again on the next cycle: no new comment; then the pin bumped (the feed no longer names
    # it): the tag's clean audit heals nothing, the push's heals it and the issue closes.
    audit_job(release, tag_event("v0.1.5", release.b))
    assert len(release.issues.comments[1]) == 2
    release.feed.published.clear()
    assert audit_job(release, tag_event("v0.1.5", release.b)).result("test") == "success"
    assert len(release.issues.open()) == 1
    assert audit_job(release, push_event(release.push("Bump"))).result("test") == "success"
    assert release.issues.open() == []
    assert release.issues.comments[1][-1].startswith("Healed: audit")


BASE_IMAGE = re.search(r"python:\S+@(sha256:[0-9a-f]{64})", (ROOT / "Dockerfile").read_text())
MIRROR_STEP = "Mirror the base image into this repository's package, once a base"


@pytest.mark.slow  # runs of the image job
def test_the_build_reads_its_base_from_the_mirror_and_docker_hubs_429_is_waited_out(release):
    """Issue 82: Docker Hub limits anonymous pulls. The base is copied into the repository's own
    package once (by digest), the build reads it there; Docker Hub's 429 is tried again."""
    event = release.tagged("Add a pair")
    mirrored = release.tmp / "mirrored" / BASE_IMAGE[1]
    run = planned(release, event, "image", test={})
    mirror = f"ghcr.io/octo/cryptopredict/base@{BASE_IMAGE[1]}"
    assert build_step(run).inputs["build-contexts"] == f"{BASE_IMAGE[0]}=docker-image://{mirror}"
    assert not [call for call in release.calls() if "docker.io/library" in call], "not asked"
    # A new base: Docker Hub refuses twice, then serves it, copied into the mirror.
    mirrored.unlink()
    release.hub_429 = 2
    run = planned(release, event, "image", test={})
    assert build_step(run).outcome == "success"
    copies = [call for call in release.calls() if "create --tag ghcr.io/" in call]
    assert len(copies) == 3
    tag = BASE_IMAGE[0].split("@")[0].removeprefix("python:")
    assert copies[-1].endswith(
        f"--tag ghcr.io/octo/cryptopredict/base:{tag} docker.io/library/{BASE_IMAGE[0]}"
    )
    # Refused on every try: the job stops there, saying re-run; nothing is built.
    mirrored.unlink()
    release.hub_429 = 9
    run = planned(release, event, "image", test={})
    failed = run.failure()
    assert failed.name == MIRROR_STEP
    assert "429 Too Many Requests" in failed.output
    assert "a transient failure; re-run the failed jobs, or leave it to the next" in failed.output
    assert build_step(run).outcome == "skipped"


FIND_PREVIOUS = "Find the release image this one extends, by digest, verified"


# Issue 51: a personal account's repository tags with a deploy key; every failure says what to do.


def test_a_deploy_key_github_does_not_know_is_named(release):
    release.runner.secrets["RELEASE_TAG_KEY"] = (
        "-----BEGIN OPENSSH PRIVATE KEY-----\nanother\n-----END"
    )
    run = planned(release, push_event(release.push("Add a pair")), "tag", test={})
    said = run.failure().output
    assert "Permission denied (publickey)" in said
    assert "add its public half as a deploy key of this repository" in said
    assert "another" not in said, "the key is never printed"


def test_a_private_package_fails_the_deploy_within_a_minute_naming_its_visibility(release):
    """Bar 3: GHCR answers an anonymous manifest request with 401 and a bearer challenge whose
    token service refuses a token: the package is private, and Render could not pull it."""
    release.runner.environ["RELEASE_REGISTRY_URL"] = release.server.url
    manifest = f"/v2/octo/cryptopredict/manifests/{release.digest}"
    release.server.route(
        manifest, 401, '{"errors":[{"code":"UNAUTHORIZED"}]}', release.server.challenge()
    )
    release.server.route("/token", 403, '{"errors":[{"code":"DENIED"}]}')
    started = time.monotonic()
    run = planned(release, release.tagged("Add a pair"), "deploy", **published(release))
    took = time.monotonic() - started
    assert run.failure().name == "Check that Render can pull the image (the package's visibility)"
    said = run.failure().output
    assert "the package's visibility is private" in said  # its words: test_registry's
    assert took < 60, f"the deploy job failed after {took:.0f} s"
    assert release.hook_calls() == [], "Render was never asked to deploy"
    [after] = [s for s in run.jobs["deploy"].steps if s.name.startswith("Say that production")]
    assert after.outcome == "success"
    assert "latest is ahead of production" in after.output


# Issue 67: the build extends the track record of the release image the registry names, by
# digest, verified in the version job; a fork's first release starts the record; the input
# start-anew starts it anew for one run.


def build_step(run: WorkflowRun):
    [build] = [step for step in run.jobs["image"].steps if step.name.startswith("Train, build")]
    return build


def labels(run: WorkflowRun) -> str:
    """The labels docker/metadata-action hands the build (the no-op action's inputs)."""
    [meta] = [step for step in run.jobs["image"].steps if step.name == "OCI labels and annotations"]
    return meta.inputs["labels"]


def build_args(run: WorkflowRun) -> dict[str, str]:
    lines = build_step(run).inputs["build-args"].splitlines()
    return dict(line.split("=", 1) for line in lines if line)


@pytest.mark.slow
def test_an_empty_registry_over_the_repositorys_own_tags_starts_anew_only_when_asked(release):
    """Issue 76: v0.1.5 is this repository's own release (it is no fork), yet the registry holds
    no image: a deleted package or a renamed repository. The record restarts only when the
    run's input start-anew says why, in one line whatever it holds (a build argument among
    others); else the version job stops, naming that input. Whose release tags count as the
    repository's own (a fork's parent's on the same commits do not): test_setup's tags test,
    the same rule (tools/release/previous.py's restart_refused)."""
    release.registry.delete(REPOSITORY, release.v015)
    event = release.tagged("Add a pair")
    refused = release.runner.run(event)
    only_version_ran(refused)
    said = refused.failure().output
    assert refused.failure().name == FIND_PREVIOUS
    assert "octo/cryptopredict's own release tags exist (the newest v0.1.5" in said
    assert "the input start-anew saying why" in said
    assert refused.secrets_read() == []
    why = "the package was deleted\nPREVIOUS_IMAGE=ghcr.io/mallory/x@sha256:0"
    anew = Event(event.name, event.ref, event.sha, {"inputs": {"start-anew": why}})
    built = planned(release, anew, "image", test={})
    outputs = built.jobs["version"].outputs
    assert (outputs["previous"], outputs["record-start"]) == ("", " ".join(why.split()))
    args = build_args(built)
    assert (args["PREVIOUS_IMAGE"], args["TRACK_RECORD_AFRESH"]) == ("", outputs["record-start"])
    assert "cryptopredict.extends=none\n" in labels(built)


@pytest.mark.slow  # a whole run: dozens of git and Python processes
def test_a_private_packages_release_extends_the_previous_verified(release, private_registry):
    """Issue 76, bar 2: GHCR packages are private when created; a fork set up without Render
    releases on one. The version job reads the registry as the job's token can (it logs in
    before gh resolves the image), and the release extends the previous one, verified (a
    private package's releases one after another: each cycle of the month's, whose registry
    asks for a login)."""
    release.use(private_registry)
    release.runner.variables["RENDER_SERVICE_URL"] = ""  # Render off: nothing pulls anonymously
    v015 = private_registry.push(REPOSITORY, LATEST_TAGS)
    attest(release.attestations, v015, certificate(REPOSITORY, "refs/tags/v0.1.5"))
    event = release.tagged("Add a pair")
    run, outputs = rebuilt(release, event)
    # The digest the registry named `latest` when the version job ran, in the build's
    # arguments (the Dockerfile's `previous` stage), its label and the summary (issue 67).
    extended = f"ghcr.io/octo/cryptopredict@{v015}"
    assert (outputs["version"], outputs["previous"]) == ("0.1.6", extended)
    [summary] = (release.tmp / "jobs").glob("version-*.summary")
    assert f"this release extends {extended}, which latest names" in summary.read_text()
    assert f"{v015} is verified: built by octo/cryptopredict's release workflow on a release " in (
        summary.read_text()
    )
    jobs = ("image", "attest", "publish")
    assert {job: run.result(job) for job in jobs} == dict.fromkeys(jobs, "success")
    args = build_args(run)
    assert (args["PREVIOUS_IMAGE"], args["TRACK_RECORD_AFRESH"]) == (extended, "")
    assert f"cryptopredict.extends={extended}\n" in labels(run)
    assert "PREVIOUS" not in build_step(run).inputs["build-contexts"], "the base's alone"
    assert "vars.TRACK_RECORD_AFRESH" not in WORKFLOW.read_text()  # issue 67, bar 3
    # Without the login, gh cannot resolve the image of a private package.
    steps = release.runner.workflow["jobs"]["version"]["steps"]
    steps[:] = [step for step in steps if "login" not in str(step)]
    refused = release.runner.run(event, only=["version"])
    assert refused.failure().name == "Find the release image this one extends, by digest, verified"
    said = refused.failure().output
    assert "remote registry authorization failed, please authenticate" in said, "gh's words"
    assert "the version job must log in to the registry (docker/login-action" in said


# Issue 62: a job cancelled at its limit (`timeout-minutes`), and the re-run of failed jobs
# after it.

DEPLOY = "Deploy the pushed digest on Render and wait for it"


@pytest.mark.slow
def test_a_deploy_cut_at_its_limit_says_production_was_not_updated(release):
    event, cut = release.tagged("Add a pair"), {"deploy": DEPLOY}
    run = planned(release, event, "deploy", time_out=cut, **published(release))
    assert run.result("deploy") == "cancelled"
    [deploy] = [step for step in run.jobs["deploy"].steps if step.name == DEPLOY]
    assert deploy.outcome == "cancelled"
    [said] = [s for s in run.jobs["deploy"].steps if s.name.startswith("Say that production")]
    assert said.outcome == "success"
    assert "::error title=production not updated::" in said.output
    assert release.hook_calls() == []


CUT = "Point X.Y.Z at the tested digest"


def tags_of(release: Release, *tags: str) -> list[str]:
    """The digests the registry's `tags` name ("" for a tag it does not hold)."""
    registry = Registry(release.registry.url, REPOSITORY)
    answers = [registry.get(f"manifests/{tag}") for tag in tags]
    return [digest_of(a.body) * (a.status == 200) for a in answers]


@pytest.mark.slow  # two whole runs: dozens of git and Python processes
def test_a_publish_cut_short_after_one_tag_moved_is_repaired_by_the_next_run(release):
    """A publish cancelled at its limit after the stamped tag moved (publish moves it first and
    `latest` last) leaves `latest` on v0.1.5's image; the next run (the schedule's rebuild of
    the tag) extends the newest verified release image, says so in its summary, and its publish
    moves every tag on."""
    release.runner.variables["RENDER_SERVICE_URL"] = ""
    event = release.tagged("Add a pair")
    outputs = release.runner.run(event, only=["version"]).jobs["version"].outputs
    cut = release.build(outputs)
    built_x = {"version": outputs, "test": {}, "smoke": {}}
    first = release.runner.run(event, reuse=built_x, time_out={"publish": CUT})
    assert first.result("publish") == "cancelled"
    stamp, version = outputs["build-tag"], outputs["version"]
    assert tags_of(release, stamp, version, "latest") == [cut, "", release.v015], "one moved"
    # The next cycle: the schedule rebuilds the newest tag.
    planned = release.runner.run(event, only=["version"])
    assert planned.result("version") == "success", planned.failure().output
    outputs = planned.jobs["version"].outputs
    assert outputs["previous"] == f"ghcr.io/{REPOSITORY}@{cut}"
    summary = max((release.tmp / "jobs").glob("version-*.summary"), key=lambda f: f.stat().st_mtime)
    said = " ".join(summary.read_text().split())
    assert f"latest still names {release.v015}, an older release (0.1.5-20261123060000)" in said
    assert f"ghcr.io/{REPOSITORY}@{cut} is verified" in said
    new = release.build(outputs)
    second = release.runner.run(event, reuse={"version": outputs, "test": {}, "smoke": {}})
    assert second.result("publish") == "success", second.failure().output
    assert tags_of(release, outputs["build-tag"], outputs["version"], "latest") == [new] * 3
    assert build_args(second)["PREVIOUS_IMAGE"] == f"ghcr.io/{REPOSITORY}@{cut}"


# The track record's formats as code from before format 3 reads them.
BEFORE_FORMAT_3 = '''"""The track record's formats, before format 3."""

RECORD_VERSION = 2
READS = (1, 2)
'''


@pytest.mark.slow  # a copy of the package in the scratch remote
def test_a_revert_across_record_format_3_is_refused_in_the_version_job(release):
    """A revert to code from before track record format 3 (format 3 reverted),
    over a release image whose record is format 3: its build would fail reading it, every
    release would, in the image job. The version job refuses it in its first minute, naming the
    input start-anew, before any secret is read."""
    v015 = release.registry.push(REPOSITORY, LATEST_TAGS, annotations={**V015, RECORD_FORMAT: "3"})
    attest(release.attestations, v015, certificate(REPOSITORY, "refs/tags/v0.1.5"))
    ignore = shutil.ignore_patterns("__pycache__", "static", "vendor", "templates")
    shutil.copytree(ROOT / "cryptopredict", release.remote.path / "cryptopredict", ignore=ignore)
    (release.remote.path / "cryptopredict" / "artifact" / "record_format.py").write_text(
        BEFORE_FORMAT_3
    )
    release.remote.git("add", "--all")  # main's head, c, with the code reverted
    run = release.runner.run(release.tagged("Revert to record format 2"), only=["version"])
    assert run.result("version") == "failure"
    failed = run.failure()
    assert failed.name == "Find the release image this one extends, by digest, verified"
    assert (
        f"ghcr.io/{REPOSITORY}@{v015} (latest) holds track record format 3, which this commit's "
        "code does not read (it reads 1, 2)" in failed.output
    )
    assert "run the release workflow by hand on main with the input start-anew" in failed.output
    assert "::error title=release previous-image::" in failed.output, "on the run's page"
    assert run.secrets_read() == []
    [issue] = release.issues.open()  # and in the one issue, until a release reads it again
    assert "holds track record format 3, which this commit's code does not read" in issue["body"]
    # The release code writes the format it reads, and says so on its build (the annotation).
    release.remote.move_branch(release.c)
    event = release.tagged("Add a pair", "v0.1.7")
    outputs = release.runner.run(event, only=["version"]).jobs["version"].outputs
    assert (outputs["record-format"], outputs["previous"]) == ("3", f"ghcr.io/{REPOSITORY}@{v015}")
    assert release.issues.open() == []


def test_a_job_past_its_timeout_minutes_is_cancelled_on_the_clock(tmp_path):
    """Issue 93: the runner enforces `timeout-minutes`, here on a clock 600 times the wall's
    (a minute in 0.1 s): the step running is cancelled with its processes, the job too, an
    `always()` step still runs, a job that needs it is skipped; the job took its minute."""
    steps = [{"run": "sleep 30 & wait"}, {"run": "echo"}, {"if": "always()", "run": "echo"}]
    jobs = {"hang": {"timeout-minutes": 1, "steps": steps}, "next": {"needs": "hang", "steps": []}}
    (tmp_path / "workflow.yml").write_text(yaml.safe_dump({"on": "push", "jobs": jobs}))
    (tmp_path / "jobs").mkdir()
    remote = ScratchRepo(tmp_path / "remote")
    runner = Runner(
        tmp_path / "workflow.yml", remote, tmp_path / "jobs", tools={}, python_path=tmp_path
    )
    runner.time_scale = 600
    started = time.monotonic()
    run = runner.run(Event("push", "refs/heads/main", "0" * 40))
    assert time.monotonic() - started < 10
    assert (run.result("hang"), run.result("next")) == ("cancelled", "skipped")
    assert [step.outcome for step in run.jobs["hang"].steps] == ["cancelled", "skipped", "success"]
    assert "exceeded the maximum execution time" in run.jobs["hang"].steps[0].output
    assert 60 <= run.jobs["hang"].seconds < 600
