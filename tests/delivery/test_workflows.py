"""The workflows' security rules and their contract with the Dockerfile and the release CLI."""

from __future__ import annotations

import argparse
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tools.release.cli import next_version_outputs
from tools.release.lineage import Git

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
# The workflows that build the image (docs.yml publishes the documentation site).
IMAGE_WORKFLOWS = [path for path in WORKFLOWS if path.name in {"ci.yml", "release.yml"}]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
PLATFORMS = "linux/amd64,linux/arm64"
# Debian releases with security support (13 until 2028; 14 once released).
SUPPORTED_DEBIAN = {"trixie", "forky"}
PINNED = re.compile(r"^\s*(?:- )?uses: ([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # v\d+\.\d+\.\d+$")


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
    assert release()["concurrency"] == {
        "group": "release",
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
    assert (options["provenance"], options["sbom"]) == ("mode=max", True)
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


def test_publish_points_the_tags_at_the_tested_digest_then_creates_the_git_tag():
    jobs = release()["jobs"]
    steps = [step for step in jobs["publish"]["steps"] if "run" in step]
    [tagging] = [i for i, step in enumerate(steps) if "imagetools create" in step["run"]]
    [git_tag] = [i for i, step in enumerate(steps) if "/git/refs" in step["run"]]
    assert tagging < git_tag
    assert '"$IMAGE@$DIGEST"' in steps[tagging]["run"]
    assert steps[tagging]["env"]["DIGEST"] == "${{ needs.image.outputs.digest }}"
    assert steps[tagging]["env"]["TAGS"] == "${{ needs.version.outputs.image-tags }}"
    assert "imagetools inspect" in steps[tagging]["run"], "each tag is checked against the digest"
    assert steps[git_tag]["if"] == "needs.version.outputs.create-tag == 'true'"
    # Nothing else can move a tag: only publish may write contents or push tags.
    for name, job in jobs.items():
        # image pushes the untagged build, attest its signed provenance: neither moves a tag.
        if name not in ("publish", "image", "attest"):
            assert job["permissions"].get("packages") != "write", name
        if name != "publish":
            assert job["permissions"].get("contents") != "write", name
            assert "/git/refs" not in str(job.get("steps", [])), name


def test_a_new_release_is_gated_by_everything_and_a_rebuild_only_reports_the_audit():
    jobs = release()["jobs"]
    assert "test" in jobs["image"]["needs"]
    steps = {step["run"].strip(): step for step in jobs["test"]["steps"] if "run" in step}
    assert steps["make test"]["if"] == "needs.version.outputs.create-tag == 'true'"
    [report] = [step for run, step in steps.items() if "ci/audit.py --report" in run]
    assert report["if"] == "needs.version.outputs.create-tag != 'true'"
    assert "continue-on-error" not in report, "--report itself never fails on a finding"


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


def test_the_secret_ids_match_the_dockerfile_mounts_and_never_travel_as_build_args():
    step = build_step(load(ROOT / ".github" / "workflows" / "release.yml"))
    mounted = set(re.findall(r"--mount=type=secret,id=(\w+)", (ROOT / "Dockerfile").read_text()))
    assert set(assignments(step["with"]["secret-envs"])) == mounted
    assert not mounted & dockerfile_args()
    assert set(step["env"]) == mounted


def test_the_workflow_reads_exactly_the_outputs_the_release_cli_prints():
    text = (ROOT / ".github" / "workflows" / "release.yml").read_text()
    read = set(re.findall(r"steps\.plan\.outputs\.([\w-]+)", text))
    args = argparse.Namespace(
        event="push",
        head_message="",
        tags="",
        head_tags="",
        first_version="",
        repository="o/r",
        built_at=None,
        assets="",
        ref="refs/heads/main",
        release_branch="main",
    )
    outputs = next_version_outputs(args, Git(ROOT))
    printed = set(re.findall(r"^([\w-]+)(?:=|<<)", outputs, re.MULTILINE))
    assert read == printed


def test_the_deploy_reads_the_hook_in_the_production_environment_it_checks():
    job = release()["jobs"]["deploy"]
    assert job["environment"] == "production"
    assert job["permissions"] == {"contents": "read", "actions": "read"}
    [step] = [s for s in job["steps"] if "run" in s]
    assert step["env"]["RENDER_DEPLOY_HOOK_URL"] == "${{ secrets.RENDER_DEPLOY_HOOK_URL }}"
    assert step["env"]["RENDER_SERVICE_URL"] == "${{ vars.RENDER_SERVICE_URL }}"
    assert step["env"]["DIGEST"] == "${{ needs.image.outputs.digest }}"
    assert step["env"]["GITHUB_TOKEN"] == "${{ github.token }}"
    assert "--environment production --branch main" in step["run"]
    text = (ROOT / ".github" / "workflows" / "release.yml").read_text()
    [line] = [line for line in text.splitlines() if "secrets.RENDER_DEPLOY_HOOK_URL" in line]
    assert "zizmor: ignore" not in line, "an environment secret needs no exemption"


def test_scheduled_runs_keep_the_schedule_enabled_unless_a_maintainer_disabled_it():
    job = release()["jobs"]["keepalive"]
    assert job["if"] == "github.event_name == 'schedule'"
    assert job["permissions"] == {"contents": "read", "actions": "write"}
    [step] = [s for s in job["steps"] if "run" in s]
    # tools/release/keepalive.py reads the workflow's state first (tests/release).
    assert step["run"] == "python -m tools.release keepalive --workflow release.yml"
    assert step["env"] == {"GITHUB_TOKEN": "${{ github.token }}"}
    assert "needs" not in job, "a failed release must not stop the keep-alive"


def test_the_release_warns_when_render_yaml_names_another_repositorys_image():
    [step] = [s for s in release()["jobs"]["version"]["steps"] if "blueprint" in s.get("run", "")]
    assert '--repository "$GITHUB_REPOSITORY"' in step["run"]
    assert "--check render.yaml" in step["run"]
    assert "::warning" in step["run"]


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
    bases = set(re.findall(r"^FROM (?:--platform=\S+ )?(\S+) AS", DOCKERFILE, re.MULTILINE))
    [base] = bases
    match = re.fullmatch(r"python:3\.11\.\d+-slim-(\w+)", base)
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


def test_a_run_off_main_moves_no_tag_and_deploys_nothing():
    jobs = release()["jobs"]
    assert jobs["publish"]["if"] == "needs.version.outputs.publish == 'true'"
    assert "publish" in ancestors(jobs, "deploy"), "deploy runs only after publish"
    [plan] = [s for s in jobs["version"]["steps"] if s.get("id") == "plan"]
    assert '--ref="$GITHUB_REF"' in plan["run"]


def test_publish_first_checks_that_the_release_is_still_the_newest():
    steps = release()["jobs"]["publish"]["steps"]
    [checkout] = [s for s in steps if s.get("uses", "").startswith("actions/checkout@")]
    assert checkout["with"]["fetch-depth"] == 0, "every tag, as it is now"
    runs = [s.get("run", "") for s in steps]
    [guard] = [i for i, run in enumerate(runs) if "tools.release check-publish" in run]
    [tagging] = [i for i, run in enumerate(runs) if "imagetools create" in run]
    assert guard < tagging
    assert '--tags="$(git tag --list)"' in runs[guard]


def test_every_job_runs_the_tooling_of_the_workflows_own_commit():
    # The commit being released is only ever checked out as the image's build context, or as
    # build/ for a rebuild's audit; scripts always come from the workflow's commit.
    for name, job in release()["jobs"].items():
        for step in job.get("steps", []):
            if not step.get("uses", "").startswith("actions/checkout@"):
                continue
            ref = step["with"].get("ref")
            if ref is None:
                continue
            assert ref == "${{ needs.version.outputs.sha }}", name
            assert name == "image" or step["with"].get("path") == "build", name
    image_runs = [s for s in release()["jobs"]["image"]["steps"] if "run" in s]
    assert image_runs == [], "the image job runs no script of the commit it builds"


def test_a_rebuild_audits_its_tags_lock_files_with_this_commits_script():
    steps = release()["jobs"]["test"]["steps"]
    [audit] = [s for s in steps if "ci/audit.py" in s.get("run", "")]
    assert "python ci/audit.py --report --root build" in audit["run"]
    # pip-audit's own lock (with hashes): a hashed constraints file would refuse an unpinned name.
    assert "pip install --quiet --require-hashes -r requirements-audit.txt" in audit["run"]


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
    assert step["env"]["DASK_SCHEDULER_ADDRESS"] == "${{ secrets.DASK_SCHEDULER_ADDRESS }}"


def test_the_release_signs_the_provenance_of_the_pushed_index():
    jobs = release()["jobs"]
    job = jobs["attest"]
    assert job["needs"] == ["version", "image"]
    assert job["permissions"] == {
        "id-token": "write",
        "attestations": "write",
        "packages": "write",
    }
    [attest] = [s for s in job["steps"] if "attest-build-provenance" in s.get("uses", "")]
    assert attest["with"]["subject-name"] == "${{ needs.version.outputs.image }}"
    assert attest["with"]["subject-digest"] == "${{ needs.image.outputs.digest }}"
    assert attest["with"]["push-to-registry"] is True
    assert "attest" in ancestors(jobs, "publish"), "no tag moves before the provenance is signed"


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
