"""The workflows' security rules and their contract with the Dockerfile and the release CLI."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.release.scratch_git import ScratchRepo, checkout_run
from tools.release.cli import main

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
# The workflows that build the image (docs.yml publishes the documentation site).
IMAGE_WORKFLOWS = [path for path in WORKFLOWS if path.name in {"ci.yml", "release.yml"}]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def base_images() -> set[str]:
    """The images the Dockerfile's stages build on, but `previous` (the release it extends)."""
    return set(re.findall(r"^FROM (?:--platform=\S+ )?(\S+) AS (?!previous\b)", DOCKERFILE, re.M))


PLATFORMS = "linux/amd64,linux/arm64"
# Debian releases with security support (13 until 2028; 14 once released).
SUPPORTED_DEBIAN = {"trixie", "forky"}
# The version comment may be followed by a zizmor finding set aside, with its reason beside it.
PINNED = re.compile(
    r"^\s*(?:- )?uses: ([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # v\d+\.\d+\.\d+"
    r"(?: # zizmor: ignore\[[a-z-]+\])?$"
)


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def triggers(workflow: dict) -> dict:
    return workflow.get("on") or workflow[True]  # YAML 1.1 reads a bare `on` as true


def steps(workflow: dict):
    for job in workflow["jobs"].values():
        yield from job.get("steps", [])


def release() -> dict:
    return load(ROOT / ".github" / "workflows" / "release.yml")


def ancestors(jobs: dict, name: str) -> set[str]:
    needs = jobs[name].get("needs", [])
    direct = {needs} if isinstance(needs, str) else set(needs)
    return direct.union(*(ancestors(jobs, parent) for parent in direct))


def dockerfile_labels() -> dict[str, str]:
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return dict(re.findall(r'(org\.opencontainers\.image\.\w+)="([^"$]*)"', joined))


def build_step(workflow: dict) -> dict:
    [step] = [s for s in steps(workflow) if s.get("uses", "").startswith("docker/build-push")]
    return step


def dockerfile_args() -> set[str]:
    return set(re.findall(r"^ARG (\w+)", DOCKERFILE, re.MULTILINE))


def assignments(block: str) -> dict[str, str]:
    return dict(line.strip().split("=", 1) for line in block.splitlines() if line.strip())


def test_there_are_workflows():
    assert [path.name for path in WORKFLOWS] == ["ci.yml", "docs.yml", "release.yml"]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_every_action_is_pinned_to_a_commit_with_its_version(path):
    lines = [line for line in path.read_text().splitlines() if re.match(r"^\s*(- )?uses:", line)]
    assert lines
    for line in lines:
        assert PINNED.match(line), f"not pinned to a full SHA with '# vX.Y.Z': {line.strip()}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_one_sha_per_action_across_workflows(path):
    pins: dict[str, set[str]] = {}
    for workflow in WORKFLOWS:
        for match in map(PINNED.match, workflow.read_text().splitlines()):
            if match:
                pins.setdefault(match.group(1), set()).add(match.group(2))
    assert {action: shas for action, shas in pins.items() if len(shas) > 1} == {}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_least_privilege_permissions_per_job(path):
    workflow = load(path)
    assert workflow["permissions"] == {}, "the workflow default must grant nothing"
    for name, job in workflow["jobs"].items():
        assert "permissions" in job, f"job {name} must say which permissions it needs"
        assert "write-all" not in str(job["permissions"])


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_no_expression_is_interpolated_into_a_script(path):
    for step in steps(load(path)):
        assert "${{" not in step.get("run", ""), f"pass it through env: {step['run']!r}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_checkouts_leave_no_credentials_behind(path):
    for step in steps(load(path)):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False


def test_release_triggers_every_six_hours_off_the_top_of_the_hour():
    on = triggers(release())
    assert on["push"] == {"branches": ["main"]}
    [schedule] = on["schedule"]
    minute, hour, *rest = schedule["cron"].split()
    assert (hour, rest) == ("*/6", ["*", "*", "*"])
    # GitHub delays, and under load drops, runs scheduled at busy minutes (the hour's top).
    assert minute.isdigit()
    assert int(minute) % 5 != 0
    assert "workflow_dispatch" in on


def test_release_runs_queue_instead_of_replacing_each_other():
    # The default keeps one pending run and cancels it when another arrives: a push landing
    # during a release, then the schedule, would never be published. `queue: max` keeps them all.
    # A run on main waits for the run on the tag it starts: one of each at a time.
    assert release()["concurrency"] == {
        "group": "release-${{ github.ref_type }}",
        "cancel-in-progress": False,
        "queue": "max",
    }


@pytest.mark.parametrize("path", IMAGE_WORKFLOWS, ids=lambda path: path.name)
def test_every_build_arg_the_workflows_pass_is_declared_in_the_dockerfile(path):
    passed = set(assignments(build_step(load(path))["with"]["build-args"]))
    assert passed <= dockerfile_args(), f"undeclared: {passed - dockerfile_args()}"


def test_release_build_trains_strictly_multi_platform_with_attestations():
    options = build_step(release())["with"]
    args = assignments(options["build-args"])
    assert args["TRAIN_SOURCE"] == "auto"
    assert args["REQUIRE_FRESH_HOURS"].startswith("${{ vars.REQUIRE_FRESH_HOURS")
    assert args["BUILD_ID"] == "${{ github.run_id }}-${{ github.run_attempt }}"
    assert args["MODEL_VERSION"] == "${{ needs.version.outputs.build-tag }}"
    assert options["platforms"] == PLATFORMS
    assert options["provenance"] == "mode=max"
    assert SBOM_GENERATOR.fullmatch(options["sbom"]), "the SBOM scanner, pinned by digest"
    assert options["cache-from"] == "type=gha"
    assert options["context"] == ".", "the default git context would ignore the checked-out ref"


def test_the_build_pushes_by_digest_and_moves_no_tag():
    options = build_step(release())["with"]
    outputs = dict(item.split("=", 1) for item in options["outputs"].split(",")[1:])
    assert options["outputs"].startswith("type=image,")
    assert outputs == {"push-by-digest": "true", "name-canonical": "true", "push": "true"}
    assert options["tags"] == "${{ needs.version.outputs.image }}", "a repository, no tag"
    assert "push" not in options, "push: true would also push the tags"
    assert release()["jobs"]["image"]["outputs"]["digest"] == "${{ steps.build.outputs.digest }}"


def test_tags_move_only_after_both_platforms_ran_the_pushed_digest():
    jobs = release()["jobs"]
    assert ancestors(jobs, "smoke") >= {"version", "image"}
    assert "smoke" in ancestors(jobs, "publish")
    assert "publish" in ancestors(jobs, "deploy")
    smoke = jobs["smoke"]
    assert smoke["strategy"]["matrix"]["platform"] == PLATFORMS.split(",")
    assert smoke["strategy"]["fail-fast"] is False
    uses = [step.get("uses", "") for step in smoke["steps"]]
    assert any(action.startswith("docker/setup-qemu-action@") for action in uses)
    [run] = [step for step in smoke["steps"] if "run" in step]
    assert run["run"].startswith('ci/smoke-image.sh "$IMAGE@$DIGEST" "$MODEL_VERSION" ')
    assert run["run"].endswith(' "$PLATFORM"')
    assert run["env"]["DIGEST"] == "${{ needs.image.outputs.digest }}"
    assert run["env"]["PLATFORM"] == "${{ matrix.platform }}"


def test_a_run_on_main_tags_its_head_after_the_gate_and_builds_nothing_itself():
    """Issue 103: a push tests and tags; every build runs on the tag it made."""
    jobs = release()["jobs"]
    [git_tag] = [s for s in jobs["tag"]["steps"] if "tools.release tag " in s.get("run", "")]
    assert jobs["tag"]["needs"] == ["version", "test"]
    assert jobs["tag"]["if"] == "needs.version.outputs.create-tag != ''"
    assert git_tag["env"]["SHA"] == "${{ needs.version.outputs.sha }}"
    assert git_tag["env"]["TAG"] == "${{ needs.version.outputs.create-tag }}"
    assert "tag" not in ancestors(jobs, "publish"), "a run that tags publishes nothing"
    for tagging in moves(jobs["publish"]["steps"]):
        assert tagging["run"].startswith('ci/move-image-tag.sh "$IMAGE" "$DIGEST" ')
        assert tagging["env"]["DIGEST"] == "${{ needs.image.outputs.digest }}"
    script = (ROOT / "ci" / "move-image-tag.sh").read_text()
    assert 'imagetools create --tag="$image:$tag" "$image@$digest"' in script
    assert "imagetools inspect" in script, "each tag is checked against the digest"


def moves(steps: list[dict]) -> list[dict]:
    """The publish job's steps that move an image tag."""
    return [step for step in steps if "ci/move-image-tag.sh" in step.get("run", "")]


# The job that holds the deploy key: the tag job creates release tags.
KEY_JOBS = ("tag",)


def test_the_tag_key_is_a_secret_of_the_release_tags_environment_read_by_one_step_only():
    """Issue 51: the deploy key that creates release tags (what a personal account's tag ruleset
    can let through) lives in the environment only main reaches (issue 103)."""
    job = release()["jobs"]["tag"]
    # No deployment is recorded for a tag; the environment's branch rules still apply.
    assert job["environment"] == {"name": "release-tags", "deployment": False}
    reading = [s for s in job["steps"] if "secrets." in str(s)]
    assert [s["env"]["RELEASE_TAG_KEY"] for s in reading] == ["${{ secrets.RELEASE_TAG_KEY }}"]
    text = (ROOT / ".github" / "workflows" / "release.yml").read_text()
    [line] = [line for line in text.splitlines() if "secrets.RELEASE_TAG_KEY" in line]
    assert "zizmor: ignore" not in line, "an environment secret"
    for name, other in release()["jobs"].items():
        if name != "tag":
            assert "RELEASE_TAG_KEY" not in str(other), name


def test_no_job_writes_contents_and_the_tag_job_hands_its_token_to_no_action():
    # Issue 42, bar 4; issue 103: the deploy key pushes the tag.
    jobs = release()["jobs"]
    for name, job in jobs.items():
        assert job["permissions"].get("contents") != "write", name
        assert "/git/refs" not in str(job.get("steps", [])), name
        # image pushes the untagged build, which moves no tag; attest pushes its provenance;
        # publish moves the tags; retention deletes versions no live tag names (issue 76: its
        # own job, after deploy).
        if name not in ("publish", "image", "attest", "retention"):
            assert job["permissions"].get("packages") != "write", name
    for name in KEY_JOBS:
        assert jobs[name]["permissions"] == {"contents": "read", "actions": "read"}
        assert [step for step in jobs[name]["steps"] if "uses" in step] == []
        # Its own checkout, without an action: git reads the token from its environment, never
        # from its command line or a file, and no command of the job echoes it.
        [fetch] = [s for s in jobs[name]["steps"] if "git fetch" in s.get("run", "")]
        assert fetch["env"]["GH_TOKEN"] == "${{ github.token }}"
        assert "GIT_CONFIG_VALUE_0=" in fetch["run"]
        shown = fetch["run"].replace("printf 'x-access-token:%s' \"$GH_TOKEN\"", "")
        assert "$GH_TOKEN" not in shown
        assert "git config" not in fetch["run"], "never written to .git/config"


def test_every_build_runs_the_whole_test_gate_where_nothing_may_skip():
    jobs = release()["jobs"]
    assert "test" in jobs["image"]["needs"]
    job = jobs["test"]
    # Before a run on main tags its head, and in every build.
    assert job["if"] == (
        "needs.version.outputs.create-tag != '' || needs.version.outputs.build == 'true'"
    )
    *gate, handed = job["steps"]
    assert all("if" not in step for step in gate)
    runs = [step["run"] for step in gate if "run" in step]
    assert runs[-1] == "make test"
    # Then, whatever the gate did, what the audit found is said in the one issue (issue 82), by
    # a job of its own: the one running the whole suite as root holds no token that writes.
    assert handed["if"] == "always()"
    assert job["outputs"]["audit"] == "${{ steps.audit.outputs.report }}"
    assert job["permissions"] == {"contents": "read"}
    said = jobs["audit"]
    assert said["if"] == "always() && needs.test.outputs.audited == 'true'"
    assert said["permissions"] == {"contents": "read", "issues": "write"}
    assert "tools.release say --topic audit --text-file audit.md" in said["steps"][-1]["run"]
    assert not [name for name, each in jobs.items() if "make test" in str(each) and name != "test"]
    # A skipped test fails it (tests/conftest.py), and so does an unreachable package index.
    assert job["env"] == {"CRYPTOPREDICT_FAIL_ON_SKIP": "1", "AUDIT_REQUIRE_INDEX": "1"}
    [install] = [run for run in runs if "apt-get install" in run]
    assert {"chromium", "postgresql", "wrk", "git"} <= set(install.split())
    assert "--shm-size" in job["container"]["options"]


@pytest.mark.parametrize("path", IMAGE_WORKFLOWS, ids=lambda path: path.name)
def test_a_pull_request_moving_the_base_moves_the_test_container_with_it(path, tmp_path):
    """Issue 95: Dependabot moves the Dockerfile's FROM alone; the test job runs in the base the
    Dockerfile names, read from it, so that pull request tests on the new base, not the old."""
    jobs = load(path)["jobs"]
    assert jobs["test"]["container"]["image"] == "${{ needs.base.outputs.image }}"
    assert "base" in jobs["test"]["needs"]
    assert jobs["base"]["outputs"]["image"] == "${{ steps.base.outputs.image }}"
    [read] = [step for step in jobs["base"]["steps"] if step.get("id") == "base"]
    [base] = base_images()
    moved = f"python:3.11.99-slim-trixie@sha256:{'0' * 64}"
    (tmp_path / "Dockerfile").write_text(DOCKERFILE.replace(base, moved))
    (tmp_path / "out").touch()
    subprocess.run(
        ["bash", "-eo", "pipefail", "-c", read["run"]],
        cwd=tmp_path,
        env=dict(os.environ, GITHUB_OUTPUT="out"),
        check=True,
    )
    assert (tmp_path / "out").read_text() == f"image=docker.io/library/{moved}\n"
    assert base.split("@")[1] not in path.read_text(), "nothing else to move by hand"


def test_the_test_job_tests_the_commit_the_image_is_built_from_with_a_pinned_pip():
    steps = release()["jobs"]["test"]["steps"]
    [check] = [s for s in steps if s.get("name") == "The release builds this commit"]
    assert check["env"]["SHA"] == "${{ needs.version.outputs.sha }}"
    # pip: the interpreter's own (the image's, pinned by digest), then the one
    # requirements-dev.txt pins, hashed; the Makefile never asks PyPI for its newest.
    makefile = (ROOT / "Makefile").read_text()
    assert not re.search(r"pip install[^\n]*--upgrade pip", makefile)
    lock = (ROOT / "requirements-dev.txt").read_text()
    assert re.search(r"^pip==[\d.]+ \\\n\s+--hash=sha256:", lock, re.MULTILINE)


def test_the_build_records_the_commit_in_the_models():
    for path in IMAGE_WORKFLOWS:
        args = assignments(build_step(load(path))["with"]["build-args"])
        assert args["GIT_SHA"] == args["REVISION"], path.name
    release_args = assignments(build_step(release())["with"]["build-args"])
    assert release_args["GIT_SHA"] == "${{ needs.version.outputs.sha }}"


def test_both_workflows_check_their_image_with_the_same_script():
    for path in IMAGE_WORKFLOWS:
        runs = [step["run"] for step in steps(load(path)) if "run" in step]
        assert any(run.startswith("ci/smoke-image.sh ") for run in runs), path.name


def test_annotations_reach_the_index_with_the_dockerfiles_label_values():
    [meta] = [s for s in steps(release()) if s.get("uses", "").startswith("docker/metadata")]
    assert set(meta["env"]["DOCKER_METADATA_ANNOTATIONS_LEVELS"].split(",")) == {
        "manifest",
        "index",
    }
    labels = dockerfile_labels()
    for block in ("labels", "annotations"):
        given = assignments(meta["with"][block])
        for name in ("title", "description", "licenses"):
            key = f"org.opencontainers.image.{name}"
            assert given[key] == labels[key], f"{block}: {key}"
    options = build_step(release())["with"]
    assert options["annotations"] == "${{ steps.meta.outputs.annotations }}"
    # Issue 82: the track record's format, which the next release's version job checks it reads.
    given = assignments(meta["with"]["annotations"])
    assert given["cryptopredict.record-format"] == "${{ needs.version.outputs.record-format }}"
    outputs = release()["jobs"]["version"]["outputs"]
    assert outputs["record-format"] == "${{ steps.plan.outputs.record-format }}"


def test_the_secret_ids_match_the_dockerfile_mounts_and_never_travel_as_build_args():
    step = build_step(load(ROOT / ".github" / "workflows" / "release.yml"))
    mounted = set(re.findall(r"--mount=type=secret,id=(\w+)", (ROOT / "Dockerfile").read_text()))
    assert set(assignments(step["with"]["secret-envs"])) == mounted
    assert not mounted & dockerfile_args()
    assert {name for name in step["env"] if not name.startswith("DOCKER_BUILD_")} == mounted


def test_the_workflow_reads_exactly_the_outputs_the_release_cli_prints(
    tmp_path, monkeypatch, capsys
):
    text = (ROOT / ".github" / "workflows" / "release.yml").read_text()
    read = set(re.findall(r"steps\.plan\.outputs\.([\w-]+)", text))
    remote = ScratchRepo(tmp_path / "remote")
    head = remote.commit("head")
    monkeypatch.chdir(checkout_run(remote, tmp_path / "run", head, "refs/heads/main").path)
    assert main(["next-version", "--ref", "refs/heads/main", "--repository", "o/r"]) == 0
    printed = set(re.findall(r"^([\w-]+)(?:=|<<)", capsys.readouterr().out, re.MULTILINE))
    assert read == printed


def test_the_deploy_reads_the_hook_in_the_production_environment_it_checks_first():
    job = release()["jobs"]["deploy"]
    assert job["environment"] == "production"
    assert job["permissions"] == {"contents": "read"}
    # Only where Render is set up, and only what the one guard published (its answer).
    assert "vars.RENDER_SERVICE_URL != ''" in job["if"]
    assert "needs.publish.outputs.published == 'true'" in job["if"]
    steps = job["steps"]
    assert not [s for s in steps if "tools.release rules" in s.get("run", "")], "the version's"
    [pull] = [i for i, s in enumerate(steps) if "tools.release check-pull " in s.get("run", "")]
    [hook] = [i for i, s in enumerate(steps) if "secrets.RENDER_DEPLOY_HOOK_URL" in str(s)]
    secret_steps = [i for i, s in enumerate(steps) if "secrets." in str(s)]
    assert pull < min(secret_steps), "the package's visibility before any secret"
    assert "--blueprint render.yaml" in steps[pull]["run"], "a registry credential it names"
    # The last step, whenever the deploy did not succeed: `latest` moved already.
    assert steps[-1]["if"] == f"always() && steps.{steps[hook]['id']}.outcome != 'success'"
    assert "is ahead of production" in steps[-1]["run"]
    step = steps[hook]
    assert step["env"]["RENDER_DEPLOY_HOOK_URL"] == "${{ secrets.RENDER_DEPLOY_HOOK_URL }}"
    assert step["env"]["RENDER_SERVICE_URL"] == "${{ vars.RENDER_SERVICE_URL }}"
    assert step["env"]["DIGEST"] == "${{ needs.image.outputs.digest }}"
    assert "latest" not in step["run"], "no second check: the guard's answer"
    text = (ROOT / ".github" / "workflows" / "release.yml").read_text()
    [line] = [line for line in text.splitlines() if "secrets.RENDER_DEPLOY_HOOK_URL" in line]
    assert "zizmor: ignore" not in line, "an environment secret needs no exemption"


def test_the_publish_rule_is_decided_by_one_step_and_the_secrets_only_on_a_tag():
    """Issue 103: one guard (check-publish, in publish, before any image tag moves); no job
    re-proves its ref (check-ref goes); the training's secrets reach a release tag's build."""
    jobs = release()["jobs"]
    text = (ROOT / ".github" / "workflows" / "release.yml").read_text()
    assert text.count("tools.release check-publish --") == 1
    for gone in ("check-ref", "admit_run", "remove-tag", "GIVE_UP", "stranded"):
        assert gone not in text, gone
    runs = [s.get("run", "") for s in jobs["publish"]["steps"]]
    [read] = [i for i, run in enumerate(runs) if "imagetools inspect --raw" in run]
    [guard] = [i for i, run in enumerate(runs) if "tools.release check-publish" in run]
    assert read < guard < runs.index(moves(jobs["publish"]["steps"])[0]["run"])
    assert "--latest-index=latest.json" in runs[guard]
    assert jobs["publish"]["steps"][guard]["env"]["GITHUB_TOKEN"] == "${{ github.token }}"
    assert jobs["publish"]["outputs"] == {"published": "${{ steps.guard.outputs.published }}"}
    for job in ("image", "scan"):
        secret = jobs[job]["steps"][-1]["env"]["ALPACA_API_KEY"]
        assert "needs.version.outputs.publish == 'true' && secrets.ALPACA_API_KEY" in secret


def test_scheduled_runs_keep_the_schedule_enabled_unless_a_maintainer_disabled_it():
    [step] = [s for s in release()["jobs"]["dispatch"]["steps"] if "keepalive" in s.get("run", "")]
    # Only in the repository the variable names: a fork's schedule lapses after 60 days.
    assert step["if"] == (
        "always() && github.event_name == 'schedule' && github.repository == "
        "vars.RELEASE_REPOSITORY"
    )
    assert step["continue-on-error"] is True, "a failed keep-alive fails no release"
    assert step["env"] == {"GITHUB_TOKEN": "${{ github.token }}"}


def test_dependabot_watches_actions_pip_docker_compose_and_npm():
    config = load(ROOT / ".github" / "dependabot.yml")
    ecosystems = {update["package-ecosystem"] for update in config["updates"]}
    assert ecosystems == {"github-actions", "pip", "docker", "docker-compose", "npm"}


def test_dependabot_keeps_composes_postgres_on_its_major():
    [compose] = [
        u
        for u in load(ROOT / ".github" / "dependabot.yml")["updates"]
        if u["package-ecosystem"] == "docker-compose"
    ]
    assert compose["directory"] == "/"
    assert compose["ignore"] == [
        {"dependency-name": "postgres", "update-types": ["version-update:semver-major"]}
    ]
    image = load(ROOT / "docker-compose.yml")["services"]["postgres"]["image"]
    assert re.fullmatch(r"postgres:\d+-(\w+)", image).group(1) in SUPPORTED_DEBIAN


def test_no_file_names_a_debian_out_of_support():
    # Debian 12's codename, spelt in two halves so this file does not name it either.
    retired = "book" + "worm"
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    naming = [
        name.decode()
        for name in tracked
        if name
        and (ROOT / name.decode()).is_file()
        and retired.encode() in (ROOT / name.decode()).read_bytes().lower()
    ]
    assert naming == []


def test_dependabot_can_propose_the_base_images_patch_releases_and_only_those():
    [docker] = [
        u
        for u in load(ROOT / ".github" / "dependabot.yml")["updates"]
        if u["package-ecosystem"] == "docker"
    ]
    assert docker["directory"] == "/"
    [rule] = docker["ignore"]
    assert rule["dependency-name"] == "python"
    assert set(rule["update-types"]) == {
        "version-update:semver-major",
        "version-update:semver-minor",
    }
    # Dependabot keeps a tag's precision: only a full X.Y.Z tag gets patch proposals.
    bases = base_images()
    [base] = bases
    # Tag and digest: Dependabot proposes the next patch and the tag's new digests alike.
    match = re.fullmatch(r"python:3\.11\.\d+-slim-(\w+)@sha256:[0-9a-f]{64}", base)
    assert match, base
    assert match.group(1) in SUPPORTED_DEBIAN, "a Debian out of support"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_scripts_fail_on_a_failing_pipe(path):
    assert load(path)["defaults"] == {"run": {"shell": "bash"}}


def test_the_smoke_job_checks_the_commit_the_image_was_built_from():
    [run] = [s for s in release()["jobs"]["smoke"]["steps"] if "run" in s]
    # ci/smoke-image.sh checks every model's manifest only when GIT_SHA is set.
    assert run["env"]["GIT_SHA"] == "${{ needs.version.outputs.sha }}"
    assert release()["jobs"]["version"]["outputs"]["sha"] == "${{ steps.plan.outputs.sha }}"


PUBLISHING_REFS = "(github.ref == 'refs/heads/main' || startsWith(github.ref, 'refs/tags/v'))"


def test_only_release_tags_publish_and_a_branch_run_moves_nothing():
    jobs = release()["jobs"]
    assert jobs["publish"]["if"] == "needs.version.outputs.publish == 'true'"
    assert {"scan", "attest"} <= ancestors(jobs, "publish")
    assert "publish" in ancestors(jobs, "deploy"), "deploy runs only after publish"
    [plan] = [s for s in jobs["version"]["steps"] if s.get("id") == "plan"]
    assert '--ref="$GITHUB_REF"' in plan["run"]
    writers = {name for name, job in jobs.items() if "write" in job["permissions"].values()}
    assert writers == {"version", "audit", "image", "attest", "publish", "dispatch"} | {
        "retention",
        "production",
    }
    # The version job writes only the one issue (tools/release/say.py).
    assert [k for k, v in jobs["version"]["permissions"].items() if v == "write"] == ["issues"]
    assert jobs["dispatch"]["permissions"] == {
        "contents": "read",
        "actions": "write",
        "checks": "read",
    }
    assert "publish" in ancestors(jobs, "retention"), "retention only after publish"


def test_every_run_on_main_starts_the_run_on_the_newest_release_tag():
    jobs = release()["jobs"]
    job = jobs["dispatch"]
    assert "github.ref == 'refs/heads/main'" in job["if"]
    assert "always()" in job["if"]
    # ... and fails with it: GitHub mails the owner of their own run (issue 112).
    [step] = [s for s in job["steps"] if "dispatch" in s.get("run", "")]
    assert step["run"] == 'python -m tools.release dispatch --tag "$TAG" --start-anew "$START_ANEW"'
    assert job["timeout-minutes"] == 360
    # The run on the tag starts the track record anew only when this run's input says so.
    assert step["env"]["START_ANEW"] == "${{ github.event.inputs.start-anew }}"
    assert step["env"]["TAG"] == (
        "${{ needs.tag.result == 'success' && needs.version.outputs.create-tag || "
        "needs.version.outputs.newest }}"
    )
    # That run builds its own commit: no job checks out another one.
    for name, each in jobs.items():
        for checkout in each.get("steps", []):
            if checkout.get("uses", "").startswith("actions/checkout@"):
                assert "ref" not in checkout["with"], name


def test_the_release_trains_release_assets_and_can_use_a_dask_cluster():
    jobs = release()["jobs"]
    [plan] = [s for s in jobs["version"]["steps"] if s.get("id") == "plan"]
    assert plan["env"]["RELEASE_ASSETS"] == "${{ vars.RELEASE_ASSETS }}"
    assert '--assets="$RELEASE_ASSETS"' in plan["run"]
    step = build_step(release())
    assert assignments(step["with"]["build-args"])["ASSETS"] == (
        "${{ needs.version.outputs.assets }}"
    )
    assert "DASK_SCHEDULER_ADDRESS" in assignments(step["with"]["secret-envs"])
    assert "secrets.DASK_SCHEDULER_ADDRESS" in step["env"]["DASK_SCHEDULER_ADDRESS"]


def test_only_a_release_runs_build_is_attested_three_tries_before_anything_is_published():
    """Issue 82: where GitHub cannot attest, no image tag is moved; issue 103: Sigstore failing
    for a few calls is tried again within the job (tests/release/test_workflow_runs.py)."""
    jobs = release()["jobs"]
    job = jobs["attest"]
    assert job["if"] == "needs.version.outputs.publish == 'true'"
    assert job["permissions"] == {
        "packages": "write",
        "id-token": "write",
        "attestations": "write",
    }
    steps = [s for s in job["steps"] if "attest-build-provenance" in s.get("uses", "")]
    assert [s.get("continue-on-error", False) for s in steps] == [True, True, False]
    assert [s.get("if") for s in steps] == [
        None,
        "steps.attest.outcome == 'failure'",
        "steps.again.outcome == 'failure'",
    ]
    for options in (s["with"] for s in steps):
        assert options["subject-name"] == "${{ needs.version.outputs.image }}"
        assert options["subject-digest"] == "${{ needs.image.outputs.digest }}"
        assert options["push-to-registry"] is True
    assert "scan" in ancestors(jobs, "attest")
    assert "attest" in ancestors(jobs, "publish")
    others = [name for name, each in jobs.items() if "id-token" in each["permissions"]]
    assert others == ["attest"]


def test_the_pushed_image_is_scanned_for_the_builds_secrets_before_any_tag_moves():
    # Issue 42, bar 4 (tests/release/test_workflow_runs.py runs it on a leaking image).
    jobs = release()["jobs"]
    assert "scan" in ancestors(jobs, "publish")
    assert {"image", "smoke"} <= ancestors(jobs, "scan")
    [scan] = [s for s in jobs["scan"]["steps"] if "scan-pushed-image.sh" in s.get("run", "")]
    build = build_step(release())
    # Every secret the build is given is searched for.
    assert set(assignments(build["with"]["secret-envs"])) <= set(scan["env"])
    for name in assignments(build["with"]["secret-envs"]):
        assert name in scan["run"].split()
        # Only a release run's (tests/release/test_workflow_runs.py runs a branch's).
        assert scan["env"][name] == build["env"][name]
        assert f"needs.version.outputs.publish == 'true' && secrets.{name} ||" in build["env"][name]
    assert scan["env"]["DIGEST"] == "${{ needs.image.outputs.digest }}"
    assert scan["run"].startswith('ci/scan-pushed-image.sh "$IMAGE@$DIGEST" ')
    assert jobs["scan"]["permissions"] == {"contents": "read", "packages": "read"}


@pytest.mark.parametrize("path", IMAGE_WORKFLOWS, ids=lambda path: path.name)
def test_no_build_record_is_uploaded(path):
    # Issue 42, bar 4: the record (`.dockerbuild`) holds the build's logs, unmasked.
    step = build_step(load(path))
    assert step["env"]["DOCKER_BUILD_RECORD_UPLOAD"] == "false"
    assert step["env"]["DOCKER_BUILD_SUMMARY"] == "false"
    for each in steps(load(path)):
        # Issue 62: nothing crosses from one run to another as an artifact.
        assert not each.get("uses", "").startswith("actions/upload-artifact"), each


SBOM_GENERATOR = re.compile(
    r"generator=docker\.io/docker/buildkit-syft-scanner:[\d.]+@sha256:[0-9a-f]{64}"
)
HELPER_IMAGES = {
    "image": re.compile(r"docker\.io/tonistiigi/binfmt:qemu-v[\d.]+@sha256:[0-9a-f]{64}"),
    "driver-opts": re.compile(r"image=docker\.io/moby/buildkit:v[\d.]+@sha256:[0-9a-f]{64}"),
}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_the_qemu_and_buildkit_helper_images_are_pinned_by_digest(path):
    for step in steps(load(path)):
        uses = step.get("uses", "")
        if uses.startswith(("docker/setup-qemu-action@", "docker/setup-buildx-action@")):
            key = "image" if "qemu" in uses else "driver-opts"
            assert HELPER_IMAGES[key].fullmatch(step["with"][key]), step


HELPER = re.compile(
    r"docker\.io/(tonistiigi/binfmt|moby/buildkit|docker/buildkit-syft-scanner):([\w.-]+)@sha256:(\w+)"
)


def test_each_helper_image_is_one_version_everywhere_and_the_one_the_docs_name():
    """Issue 95: Dependabot watches none of them, so each helper image is bumped by hand
    (docs/release.md): one tag and digest in every workflow, the tag docs/release.md names. A bump
    that misses a place fails here."""
    pins: dict[str, set[tuple[str, str]]] = {}
    for path in WORKFLOWS:
        for name, tag, digest in HELPER.findall(path.read_text()):
            pins.setdefault(name, set()).add((tag, digest))
    assert {name: len(each) for name, each in pins.items()} == {
        "tonistiigi/binfmt": 1,
        "moby/buildkit": 1,
        "docker/buildkit-syft-scanner": 1,
    }, pins
    docs = (ROOT / "docs" / "release.md").read_text()
    named = {f"`{name}:{tag}`" for name, each in pins.items() for tag, _ in each}
    assert {name for name in named if name not in docs} == set()


def test_nothing_is_carried_from_one_release_to_the_next():
    """Issue 59: a release trains cold in minutes, so nothing crosses runs: no artifact is
    downloaded or uploaded, the image job reads no other run's (no `actions` permission), its
    history store stays in the build's own cache mount, and no training layer goes to GitHub's
    cache."""
    image = release()["jobs"]["image"]
    assert "actions" not in image["permissions"]
    for step in image["steps"]:
        assert "run download" not in step.get("run", ""), step
        assert "buildkit-cache-dance" not in step.get("uses", ""), step
    assert "training-cache" not in release()["jobs"]
    assert "--mount=type=cache,id=cryptopredict-cache,target=/cache" in DOCKERFILE
    build = image["steps"][[step.get("id") for step in image["steps"]].index("build")]
    assert build["with"]["cache-to"] == "type=gha,mode=min,ignore-error=true", "never fails it"
    # No budget: the training takes minutes; GitHub stops the job at 360 minutes.
    assert "TRAIN_BUDGET" not in assignments(build["with"]["build-args"])
    assert "TRAIN_BUDGET" not in DOCKERFILE
    assert image["timeout-minutes"] < 360


def test_the_run_summary_says_what_the_release_trained():
    publish = release()["jobs"]["publish"]
    runs = [step.get("run", "") for step in publish["steps"]]
    tags = runs.index(moves(publish["steps"])[0]["run"])
    [notes] = [i for i, run in enumerate(runs) if "tools.release notes" in run]
    # Issue 51: read before the tags move, from the pushed digest.
    assert notes < tags
    assert 'docker create "$IMAGE@$DIGEST"' in runs[notes]
    assert 'docker cp "$container:/app/artifacts/run.json"' in runs[notes]
    assert '>>"$GITHUB_STEP_SUMMARY"' in runs[notes]
    assert "contents: write" not in str(publish["permissions"])


def test_moving_the_image_tags_is_the_last_thing_publish_does_latest_last():
    """Issue 51: nothing that can fail runs after `latest` moves; should moving it fail, the
    error says `latest` may be ahead of production and how to recover. Issue 82: a tag a step,
    `latest` last, so a publish cut short leaves `latest` on an older release (which the next
    run extends past: tests/release/test_workflow_runs.py), never on an image its release tags
    do not name."""
    steps = release()["jobs"]["publish"]["steps"]
    tagged = moves(steps)
    assert steps[-len(tagged) :] == tagged
    assert [step["env"].get("TAG") for step in tagged] == [
        "${{ needs.version.outputs.build-tag }}",
        "${{ needs.version.outputs.version }}",
        None,
    ]
    assert tagged[-1]["run"] == 'ci/move-image-tag.sh "$IMAGE" "$DIGEST" latest'
    script = (ROOT / "ci" / "move-image-tag.sh").read_text()
    assert "latest may already name $digest while production runs the previous image" in script
    assert "re-run the failed jobs" in script


def test_retention_runs_last_in_its_own_job_and_never_fails_the_release():
    """Issue 76: after the deploy, whatever the deploy did; production's image is the one the
    service reports, never one the run's inputs name; a cap on the deletions of one run."""
    jobs = release()["jobs"]
    job = jobs["retention"]
    assert set(job["needs"]) >= {"publish", "deploy"}
    assert job["if"].startswith("!cancelled() && needs.publish.result == 'success'")
    assert not [name for name, other in jobs.items() if "retention" in other.get("needs", [])]
    [step] = [s for s in job["steps"] if "tools.release retention" in s.get("run", "")]
    assert step["continue-on-error"] is True
    assert step["env"]["SERVICE_URL"] == "${{ vars.RENDER_SERVICE_URL }}"
    assert "--max-deletions" in step["run"]
    assert "inputs" not in str(job)
    assert "outputs.previous" not in str(job)


def test_a_run_that_deploys_checks_the_repositorys_rules_in_its_first_minute():
    """Issue 51: without the rules the deploy refuses; a run that will deploy says so in its
    version job, before hours of building."""
    job = release()["jobs"]["version"]
    [early] = [s for s in job["steps"] if "tools.release rules" in s.get("run", "")]
    assert early["if"] == "steps.plan.outputs.publish == 'true' && vars.RENDER_SERVICE_URL != ''"
    assert early["run"] == "python -m tools.release rules"
    # Reading: the rules, and the previous release image with its attestation (issue 67);
    # writing only the one issue (issue 82).
    assert job["permissions"] == {
        "contents": "read",
        "actions": "read",
        "packages": "read",
        "attestations": "read",
        "issues": "write",
    }


def test_ci_runs_on_branches_not_on_the_tags_the_release_pushes():
    # A deploy key's push starts workflows (the job token's does not): the tag's commit was
    # tested on its branch already.
    assert triggers(load(ROOT / ".github" / "workflows" / "ci.yml"))["push"] == {"branches": ["**"]}


def test_production_stale_is_said_after_every_run_whatever_failed():
    """Issue 93, the catch-all: its job always runs (not behind the jobs that failed; issue
    105: without Render too, reading the index `latest` names), after the deploy, asking the
    service and GitHub, and writes only the one issue."""
    job = release()["jobs"]["production"]
    assert job["if"] == "always()"
    assert job["needs"] == ["version", "attest", "deploy"]  # issue 112: each said at once
    assert job["permissions"] == {
        "contents": "read",
        "actions": "read",
        "checks": "read",
        "issues": "write",
        "packages": "read",
    }
    assert job["steps"][-1]["run"].startswith("python -m tools.release production ")
