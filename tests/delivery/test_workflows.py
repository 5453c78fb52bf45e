"""The workflows' security rules and their contract with the Dockerfile and the release CLI."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest
import yaml

from cryptopredict.release.cli import next_version_outputs

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
PINNED = re.compile(r"^\s*(?:- )?uses: ([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # v\d+\.\d+\.\d+$")


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def triggers(workflow: dict) -> dict:
    return workflow.get("on") or workflow[True]  # YAML 1.1 reads a bare `on` as true


def steps(workflow: dict):
    for job in workflow["jobs"].values():
        yield from job.get("steps", [])


def build_step(workflow: dict) -> dict:
    [step] = [s for s in steps(workflow) if s.get("uses", "").startswith("docker/build-push")]
    return step


def dockerfile_args() -> set[str]:
    return set(re.findall(r"^ARG (\w+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE))


def assignments(block: str) -> dict[str, str]:
    return dict(line.strip().split("=", 1) for line in block.splitlines() if line.strip())


def test_there_are_workflows():
    assert [path.name for path in WORKFLOWS] == ["ci.yml", "release.yml"]


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


def test_release_triggers_and_concurrency():
    workflow = load(ROOT / ".github" / "workflows" / "release.yml")
    on = triggers(workflow)
    assert on["push"] == {"branches": ["main"]}
    assert on["schedule"] == [{"cron": "0 */6 * * *"}]
    assert "workflow_dispatch" in on
    assert workflow["concurrency"] == {"group": "release", "cancel-in-progress": False}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_every_build_arg_the_workflows_pass_is_declared_in_the_dockerfile(path):
    passed = set(assignments(build_step(load(path))["with"]["build-args"]))
    assert passed <= dockerfile_args(), f"undeclared: {passed - dockerfile_args()}"


def test_release_build_trains_strictly_multi_platform_with_attestations():
    step = build_step(load(ROOT / ".github" / "workflows" / "release.yml"))
    options = step["with"]
    args = assignments(options["build-args"])
    assert args["TRAIN_SOURCE"] == "auto"
    assert args["REQUIRE_FRESH_HOURS"].startswith("${{ vars.REQUIRE_FRESH_HOURS")
    assert args["BUILD_ID"] == "${{ github.run_id }}-${{ github.run_attempt }}"
    assert args["MODEL_VERSION"] == "${{ needs.version.outputs.build-tag }}"
    assert options["platforms"] == "linux/amd64,linux/arm64"
    assert (options["provenance"], options["sbom"], options["push"]) == ("mode=max", True, True)
    assert options["cache-from"] == "type=gha"
    assert options["context"] == ".", "the default git context would ignore the checked-out ref"


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
    )
    printed = set(re.findall(r"^([\w-]+)(?:=|<<)", next_version_outputs(args), re.MULTILINE))
    assert read == printed


def test_the_deploy_gets_the_hook_as_a_secret_and_the_url_as_a_variable():
    workflow = load(ROOT / ".github" / "workflows" / "release.yml")
    [step] = [s for s in workflow["jobs"]["deploy"]["steps"] if "run" in s]
    assert step["env"]["RENDER_DEPLOY_HOOK_URL"] == "${{ secrets.RENDER_DEPLOY_HOOK_URL }}"
    assert step["env"]["RENDER_SERVICE_URL"] == "${{ vars.RENDER_SERVICE_URL }}"
    assert step["env"]["DIGEST"] == "${{ needs.image.outputs.digest }}"


def test_dependabot_watches_actions_pip_docker_and_npm():
    config = load(ROOT / ".github" / "dependabot.yml")
    ecosystems = {update["package-ecosystem"] for update in config["updates"]}
    assert ecosystems == {"github-actions", "pip", "docker", "npm"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_scripts_fail_on_a_failing_pipe(path):
    assert load(path)["defaults"] == {"run": {"shell": "bash"}}
