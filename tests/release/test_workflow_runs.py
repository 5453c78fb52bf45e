"""release.yml run as GitHub would run it (tests/release/workflow_runner.py), on event payloads,
against a scratch remote (issue 42, bars 1, 2 and 4).

The remote's first commit holds the workflow, `tools/` and `ci/` as they are in this checkout, so
each job runs this commit's tooling from its own checkout. `gh`, `docker` and `skopeo` are
stand-ins on PATH that record their calls: `gh api .../git/refs` creates the tag in the scratch
remote, `docker buildx imagetools` answers with the digest the test says `latest` has, `skopeo
copy` copies an image directory the test made. GitHub's own side (the environment's rules, the
tag ruleset) is answered by a local server speaking GitHub's REST API.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import stat
import sys
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cryptopredict.artifact.run import RUN, TrainingRun, write_run
from tests.release.github_answers import RULESET, answer_environment, answer_rulesets
from tests.release.scratch_git import ScratchRepo
from tests.release.workflow_runner import Event, Runner, WorkflowRun, evaluate

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"
DIGEST = "sha256:" + "ab" * 32
SECRETS = {
    "GITHUB_TOKEN": "ghs_scratch",  # git sends it to github.com only, never to a path
    "ALPACA_API_KEY": "alpaca-key-0123456789",
    "ALPACA_SECRET_KEY": "alpaca-secret-0123456789abcdef",
    "DASK_SCHEDULER_ADDRESS": "tcp://scheduler.example.invalid:8786",
    "RENDER_DEPLOY_HOOK_URL": "",  # the test's server, set per test
}
LATER_JOBS = ["dispatch", "test", "image", "smoke", "scan", "check", "tag", "publish", "deploy"]

FAKE_GH = """#!/usr/bin/env bash
echo "gh $*" >>"$FAKE_LOG"
case "$2" in
    repos/*/git/ref/tags/*)  # GET a tag: its commit, or 404
        git -C "$FAKE_REMOTE" rev-parse --quiet --verify "refs/tags/${2##*/}^{commit}" ;;
    repos/*/git/refs)  # POST a ref
        ref= sha=
        for arg in "$@"; do
            case "$arg" in ref=*) ref=${arg#ref=} ;; sha=*) sha=${arg#sha=} ;; esac
        done
        git -C "$FAKE_REMOTE" update-ref "$ref" "$sha" ;;
    *) exit 1 ;;
esac
"""
FAKE_DOCKER = """#!/usr/bin/env bash
echo "docker $*" >>"$FAKE_LOG"
case "$1" in
    create) echo "container-1" ;;
    cp) cp "$FAKE_RUN" "${@: -1}" ;;  # the image's artifacts/run.json
esac
case "$*" in
    *"imagetools inspect --raw"*) echo "ERROR: ghcr.io/x:latest: not found" >&2; exit 1 ;;
    *"imagetools inspect --format"*) echo "{\\"digest\\": \\"$FAKE_LATEST\\"}" ;;
esac
exit 0
"""
FAKE_SKOPEO = """#!/usr/bin/env bash
echo "skopeo $*" >>"$FAKE_LOG"
target=${@: -1}
mkdir -p "${target#oci:}"
cp -r "$FAKE_IMAGE"/. "${target#oci:}"
"""


def layer(files: dict[str, bytes]) -> bytes:
    """A gzip-compressed tar layer holding `files`."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return gzip.compress(buffer.getvalue(), mtime=0)


class Release:
    """The scratch remote (v0.1.5 released at b, main at c), the stand-ins and the runner."""

    def __init__(self, tmp: Path, server) -> None:
        self.tmp = tmp
        self.server = server
        (tmp / "remote").mkdir()
        self.remote = ScratchRepo(tmp / "remote")
        for part in (".github/workflows", "tools", "ci"):
            ignore = shutil.ignore_patterns("__pycache__", "node_modules")
            shutil.copytree(ROOT / part, tmp / "remote" / part, ignore=ignore)
        self.remote.git("add", "--all")
        self.v014 = self.remote.commit("the workflow and its tooling", tag="v0.1.4")
        self.b = self.remote.commit("push B", tag="v0.1.5")
        self.c = self.remote.commit("push C")
        self.remote.checkout(self.b)
        self.branch = self.remote.commit("a branch's work, never merged")
        self.remote.checkout(self.c)
        self.log = tmp / "calls.log"
        self.log.touch()
        self.image = tmp / "pushed-image"
        (self.image / "blobs" / "sha256").mkdir(parents=True)
        self.push_layer({"app/api.py": b"print('serving')\n"})
        tools = tmp / "bin"
        tools.mkdir()
        for name, script in (("gh", FAKE_GH), ("docker", FAKE_DOCKER), ("skopeo", FAKE_SKOPEO)):
            (tools / name).write_text(script)
            (tools / name).chmod(stat.S_IRWXU)
        for name in ("python", "python3"):
            (tools / name).symlink_to(sys.executable)
        (tmp / "jobs").mkdir()
        (tmp / "image-artifacts").mkdir()
        write_run(
            tmp / "image-artifacts",
            TrainingRun(
                asked="btc-usd,eth-usd",
                finished_at=datetime(2026, 11, 23, 6, 0, tzinfo=UTC),
                model_version="0.2.0-20261123060000",
                trained=("btc-usd", "eth-usd"),
                failed=(),
                ranking=None,
            ),
        )
        self.secrets = dict(SECRETS, RENDER_DEPLOY_HOOK_URL=f"{server.url}/deploy/srv-1?key=k")
        self.runner = Runner(
            WORKFLOW,
            self.remote,
            tmp / "jobs",
            tools=tools,
            python_path=ROOT,
            variables={"RENDER_SERVICE_URL": server.url},
            secrets=self.secrets,
            environ={
                "FAKE_LOG": str(self.log),
                "FAKE_REMOTE": str(self.remote.path),
                "FAKE_LATEST": DIGEST,
                "FAKE_IMAGE": str(self.image),
                "FAKE_RUN": str(tmp / "image-artifacts" / RUN),
                "GITHUB_API_URL": server.url,
            },
            action_outputs={"build": {"digest": DIGEST}},
        )

    def push_layer(self, files: dict[str, bytes]) -> None:
        blob = layer(files)
        (self.image / "blobs" / "sha256" / f"{len(list(self.image.rglob('*')))}").write_bytes(blob)

    def push(self, message: str) -> str:
        """A commit pushed to main."""
        self.remote.checkout(self.c)
        commit = self.remote.commit(message)
        self.remote.move_branch(commit)
        return commit

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines()

    def answer_rules(self, model_version: str) -> None:
        """GitHub's answers for a repository set up as docs/release.md says, then Render's."""
        answer_environment(self.server)
        answer_rulesets(self.server, [RULESET])
        self.server.answer(200, '{"deploy": {"id": "dep-1"}}')
        self.server.answer(200, json.dumps({"model_version": model_version}))


@pytest.fixture
def release(tmp_path, server) -> Release:
    return Release(tmp_path, server)


def push_event(commit: str, message: str = "") -> Event:
    return Event("push", "refs/heads/main", commit, {"head_commit": {"message": message}})


def tag_event(tag: str, commit: str) -> Event:
    return Event("workflow_dispatch", f"refs/tags/{tag}", commit)


def only_version_ran(run: WorkflowRun) -> None:
    assert run.result("version") == "failure"
    assert {job: run.result(job) for job in LATER_JOBS} == dict.fromkeys(LATER_JOBS, "skipped")


# Bar 2: a run on a v* tag the release did not create, or whose commit is not on the live main.


@pytest.mark.parametrize(
    ("tag", "where", "why"),
    [
        ("v-x", "branch", "v-x is not a release tag"),
        ("v9.9.9", "branch", "main does not contain it"),
        ("v0.1.6", "branch", "main does not contain it"),
        ("v1.0.0", "v014", "does not descend from the earlier release v0.1.5"),
    ],
)
def test_a_run_on_a_tag_the_release_did_not_create_reads_no_secret(release, tag, where, why):
    commit = getattr(release, where)
    release.remote.git("tag", tag, commit)  # made by hand and pushed; the run started on it
    run = release.runner.run(tag_event(tag, commit))
    only_version_ran(run)
    assert why in run.failure().output
    assert run.secrets_read() == []
    assert release.calls() == [], "no gh, docker or skopeo call"
    assert release.server.requests == [], "neither GitHub's API nor the deploy hook was called"


def test_a_rerun_after_the_tag_moved_off_its_commit_reads_no_secret(release):
    # The run on v0.1.5 planned a rebuild of b; its image job failed; the tag was moved to c by
    # hand; "Re-run failed jobs" runs image and everything after it with the version outputs.
    first = release.runner.run(tag_event("v0.1.5", release.b), only=["version"])
    assert first.result("version") == "success"
    release.remote.git("tag", "--force", "v0.1.5", release.c)
    run = release.runner.run(
        tag_event("v0.1.5", release.b),
        reuse={"version": first.jobs["version"].outputs, "test": {}},
    )
    assert run.result("image") == "failure"
    assert run.failure().name == "Admit only main's release runs to the build's secrets"
    assert f"the remote's v0.1.5 is commit {release.c}" in run.failure().output
    assert run.secrets_read() == []
    for job in ("smoke", "scan", "check", "tag", "publish", "deploy"):
        assert run.result(job) == "skipped", job


# Bar 1: main moved on and was force-pushed after the run began.


def test_a_rerun_after_main_dropped_the_commit_is_refused_before_any_secret(release):
    x = release.push("push X")
    first = release.runner.run(push_event(x), only=["version"])
    assert first.result("version") == "success"
    outputs = first.jobs["version"].outputs
    assert (outputs["version"], outputs["create-tag"], outputs["sha"]) == ("0.1.6", "true", x)
    release.remote.move_branch(release.c)  # git push --force origin c:main
    # "Re-run all jobs": the version job itself refuses.
    again = release.runner.run(push_event(x))
    only_version_ran(again)
    assert f"refusing HEAD (commit {x}): main does not contain it" in again.failure().output
    # "Re-run failed jobs" from the image on, with the first attempt's outputs.
    rerun = release.runner.run(push_event(x), reuse={"version": outputs, "test": {}})
    assert rerun.result("image") == "failure"
    assert "main does not contain it" in rerun.failure().output
    assert rerun.secrets_read() == []
    # "Re-run failed jobs" of a run whose build, smoke test and scan had passed: check-publish
    # refuses, and no tag is made.
    built = {"version": outputs, "test": {}, "image": {"digest": DIGEST}, "smoke": {}, "scan": {}}
    late = release.runner.run(push_event(x), reuse=built)
    assert late.result("check") == "failure"
    assert (
        late.failure().name == "Check that this is still the newest release, on main as it is now"
    )
    assert f"refusing to publish v0.1.6 (commit {x}): main does not contain it" in (
        late.failure().output
    )
    assert [job for job in ("tag", "publish", "deploy") if late.result(job) != "skipped"] == []
    assert release.calls() == []
    assert "v0.1.6" not in release.remote.git("tag", "--list")


def test_a_rerun_of_the_deploy_after_main_dropped_the_commit_never_reads_the_hook(release):
    x = release.push("push X")
    version = release.runner.run(push_event(x), only=["version"]).jobs["version"].outputs
    release.remote.git("tag", "v0.1.6", x)  # the tag job made it
    release.remote.move_branch(release.c)
    done = {"version": version, "image": {"digest": DIGEST}, "publish": {}}
    run = release.runner.run(push_event(x), reuse=done, only=["deploy"])
    assert run.result("deploy") == "failure"
    assert "main does not contain it" in run.failure().output
    assert run.secrets_read() == []
    assert release.server.requests == []


# The whole path, as it runs on GitHub, and bar 4's scan before `latest` moves.


def released(release: Release, x: str) -> tuple[WorkflowRun, dict[str, str]]:
    version = release.runner.run(push_event(x, "Add a pair #minor"), only=["version"])
    outputs = version.jobs["version"].outputs
    release.answer_rules(outputs["build-tag"])
    # test and smoke run in a container and on docker: stood in for as succeeded.
    run = release.runner.run(
        push_event(x, "Add a pair #minor"), reuse={"version": outputs, "test": {}, "smoke": {}}
    )
    return run, outputs


@pytest.mark.slow  # a whole run: dozens of git and Python processes
def test_a_push_to_main_is_built_scanned_tagged_published_and_deployed(release):
    x = release.push("Add a pair")
    run, outputs = released(release, x)
    assert outputs["version"] == "0.2.0"
    jobs = ("image", "scan", "check", "tag", "publish", "deploy")
    assert {job: run.result(job) for job in jobs} == dict.fromkeys(jobs, "success")
    assert release.remote.git("rev-parse", "refs/tags/v0.2.0") == x
    # The run's summary says what the image trained, from the run.json inside it.
    [summary] = (release.tmp / "jobs").glob("publish-*.summary")
    assert summary.read_text().startswith("## v0.2.0: 2 of 2 pairs trained\n")
    # Each job that reads a secret first admitted the run.
    for job in ("image", "scan", "deploy"):
        steps = run.jobs[job].steps
        first_secret = next(i for i, step in enumerate(steps) if step.secrets)
        admitted = next(i for i, step in enumerate(steps) if step.name.startswith("Admit only"))
        assert admitted < first_secret, job
    calls = release.calls()
    [scan] = [i for i, call in enumerate(calls) if call.startswith("skopeo copy")]
    [create] = [i for i, call in enumerate(calls) if "imagetools create" in call]
    [tag] = [i for i, call in enumerate(calls) if "git/refs -f ref=refs/tags/v0.2.0" in call]
    assert scan < tag < create, "scanned, then the git tag, then the image tags"
    assert f"docker://{outputs['image']}@{DIGEST}" in calls[scan]
    assert [method for method, _ in release.server.requests] == ["GET"] * 4 + ["POST", "GET"]


@pytest.mark.slow  # a whole run: dozens of git and Python processes
def test_a_secret_in_the_pushed_image_stops_the_release_before_latest_moves(release):
    release.push_layer({"app/settings.py": b"KEY = 'alpaca-secret-0123456789abcdef'\n"})
    x = release.push("Add a pair")
    run, _ = released(release, x)
    assert run.result("scan") == "failure"
    output = run.failure().output
    assert "ALPACA_SECRET_KEY IS in the image" in output
    assert "alpaca-secret-0123456789abcdef" not in output, "the scan never prints the secret"
    assert [run.result(job) for job in ("check", "tag", "publish", "deploy")] == ["skipped"] * 4
    assert not [call for call in release.calls() if "imagetools create" in call]
    assert "v0.2.0" not in release.remote.git("tag", "--list")


def test_the_deploy_refuses_without_the_tag_ruleset_before_reading_the_hook(release):
    x = release.push("Add a pair")
    version = release.runner.run(push_event(x), only=["version"]).jobs["version"].outputs
    release.remote.git("tag", version["tag"], x)
    answer_environment(release.server)
    answer_rulesets(release.server, [])
    done = {"version": version, "image": {"digest": DIGEST}, "publish": {}}
    run = release.runner.run(push_event(x), reuse=done, only=["deploy"])
    assert (
        run.failure().name
        == "Refuse to deploy unless the repository's rules keep production main's"
    )
    assert "no active tag ruleset" in run.failure().output
    assert run.secrets_read() == []
    assert [method for method, _ in release.server.requests] == ["GET", "GET", "GET"]


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


@pytest.mark.slow  # a whole run: dozens of git and Python processes
def test_a_rebuild_on_the_newest_tag_makes_no_tag_and_publishes(release):
    # The dispatch of a scheduled run: a run on v0.1.5 (commit b, which main contains).
    event = tag_event("v0.1.5", release.b)
    outputs = release.runner.run(event, only=["version"]).jobs["version"].outputs
    assert (outputs["create-tag"], outputs["publish"]) == ("false", "true")
    release.answer_rules(outputs["build-tag"])
    run = release.runner.run(event, reuse={"version": outputs, "test": {}, "smoke": {}})
    assert run.result("tag") == "skipped"
    assert [run.result(job) for job in ("check", "publish", "deploy")] == ["success"] * 3
    assert not [call for call in release.calls() if call.startswith("gh")]


@pytest.mark.slow  # a whole run: dozens of git and Python processes
def test_a_rerun_of_a_failed_publish_whose_tag_this_run_made_goes_on(release):
    # Issue 42, finding 4: the tag job made v0.1.6 for x, then publish failed (a registry
    # hiccup); "Re-run failed jobs" re-runs publish (and deploy) with the same outputs.
    x = release.push("Add a pair")
    outputs = release.runner.run(push_event(x), only=["version"]).jobs["version"].outputs
    assert (outputs["tag"], outputs["create-tag"]) == ("v0.1.6", "true")
    release.remote.git("tag", "v0.1.6", x)
    release.answer_rules(outputs["build-tag"])
    done = {"version": outputs, "image": {"digest": DIGEST}, "check": {}, "tag": {}}
    run = release.runner.run(push_event(x), reuse=done, only=["publish", "deploy"])
    assert (run.result("publish"), run.result("deploy")) == ("success", "success")
    [check] = [s for s in run.jobs["publish"].steps if s.name.startswith("Check that")]
    assert "v0.1.6 already names this commit" in check.output
