"""The commands the release workflow runs, as it runs them."""

from __future__ import annotations

import json

import pytest

from tests.release.github_fork import Fork
from tests.release.scratch_git import ScratchRepo, checkout_run
from tests.release.workflow_runner import read_outputs as outputs
from tools.release.cli import github_outputs, main

DIGEST = "sha256:" + "ab" * 32
BUILT = "2026-03-09T18:00:07Z"


@pytest.fixture
def tagged(tmp_path, monkeypatch) -> ScratchRepo:
    """A run's checkout of a remote whose main holds the tags these tests name, with an untagged
    head."""
    remote = ScratchRepo(tmp_path / "remote")
    remote.commit("0.4.2", tag="v0.4.2")
    remote.commit("0.4.10", tag="v0.4.10")
    remote.git("tag", "nightly")
    head = remote.commit("head")
    checkout = checkout_run(remote, tmp_path / "run", head, "refs/heads/main")
    monkeypatch.chdir(checkout.path)
    return checkout


def next_version(capsys, *args: str) -> dict[str, str]:
    base = ["next-version", "--repository", "Octo/CryptoPredict", "--built-at", BUILT]
    base += ["--ref", "refs/heads/main"]  # a later --ref wins
    assert main([*base, *args]) == 0
    return outputs(capsys.readouterr().out)


def test_a_push_prints_every_output_the_workflow_reads(tagged, capsys):
    got = next_version(capsys, "--head-message", "Add #minor")
    assert got == {
        "create-tag": "v0.5.0",
        "tag": "v0.5.0",
        "newest": "v0.4.10",
        "build": "false",
        "publish": "false",
        "assets": "top:200",
        "version": "0.5.0",
        "sha": tagged.git("rev-parse", "HEAD"),
        "build-tag": "0.5.0-20260309180007",
        "created": "2026-03-09T18:00:07Z",
        "image": "ghcr.io/octo/cryptopredict",
        "record-format": "3",
    }


def test_the_first_version_is_configurable_and_empty_means_the_default(tagged, capsys):
    for tag in ("v0.4.2", "v0.4.10"):
        tagged.git("tag", "--delete", tag)  # no release yet
    assert next_version(capsys, "--first-version", "1.0.0")["create-tag"] == "v1.0.0"
    assert next_version(capsys, "--first-version", "")["create-tag"] == "v0.1.0"


def test_a_hostile_commit_message_only_ever_chooses_the_bump(tagged, capsys):
    message = 'x"\nversion=6.6.6\n$(curl evil) #major\nEOF\ncreate-tag=false'
    got = next_version(capsys, "--head-message", message)
    assert (got["version"], got["create-tag"]) == ("1.0.0", "v1.0.0")
    assert "evil" not in json.dumps(got)


@pytest.mark.parametrize("message", ["--help", "-x", "--ref=refs/tags/v9.9.9", "- fix #minor"])
def test_a_message_that_looks_like_an_option_is_still_a_message(tagged, capsys, message):
    got = next_version(capsys, f"--head-message={message}")
    assert got["version"] == ("0.5.0" if "#minor" in message else "0.4.11")


@pytest.mark.parametrize("environ", [{}, {"RENDER_SERVICE_URL": "https://x.onrender.com"}])
def test_a_deploy_without_the_hook_fails_naming_the_secret_and_where_it_goes(capsys, environ):
    # The workflow runs the deploy only where RENDER_SERVICE_URL is set: there, a missing hook
    # is a failure, never a green run with nothing deployed.
    assert main(deploy_args(), environ=environ) == 1
    err = capsys.readouterr().err
    assert "RENDER_DEPLOY_HOOK_URL is not readable here: nothing was deployed" in err
    assert "production environment (docs/release.md, 'Set it up on a fork')" in err


def test_a_hook_without_a_service_url_fails_before_deploying(capsys, server):
    server.answer(200, "{}")
    code = main(deploy_args(), environ={"RENDER_DEPLOY_HOOK_URL": f"{server.url}/deploy?key=k"})
    assert code == 1
    assert "RENDER_SERVICE_URL is not" in capsys.readouterr().err
    assert server.requests == []


@pytest.mark.parametrize("tries", ["0", "-1", "11"])
def test_deploy_tries_out_of_range_is_refused_before_the_hook(capsys, server, tries):
    environ = {"RENDER_DEPLOY_HOOK_URL": f"{server.url}/d?key=k", "RENDER_SERVICE_URL": server.url}
    with pytest.raises(SystemExit) as stopped:
        main([*deploy_args(), "--tries", tries], environ=environ)
    assert stopped.value.code == 2
    assert f"--tries: invalid choice: {tries} (choose from 1, 2" in capsys.readouterr().err
    assert server.requests == []


@pytest.mark.parametrize("kept", [1, 2, 3])
def test_render_keeping_the_old_image_is_met_by_calling_the_hook_again(capsys, server, kept):
    """Issue 93: Render accepting a deploy and serving the old image; three calls a run."""
    calls = []

    def render(method: str, path: str, _: bytes) -> tuple[int, bytes]:
        calls.extend([path] if method == "POST" else [])
        served = "0.5.0-20260309180007" if len(calls) > kept else "0.4.0-20260309120000"
        return 200, json.dumps({"deploy": {"id": "dep-9"}, "model_version": served}).encode()

    server.handler = render
    service = f"{server.url}/"  # as pasted from Render's dashboard
    environ = {"RENDER_DEPLOY_HOOK_URL": f"{server.url}/d?key=k", "RENDER_SERVICE_URL": service}
    args = [*deploy_args(), "--timeout", "0.2", "--interval", "0.1"]
    assert main(args, environ=environ) == (kept == 3)
    assert len(calls) == min(kept + 1, 3)
    assert {path for method, path in server.requests if method == "GET"} == {"/healthz"}
    said = capsys.readouterr()
    assert said.out.count("::warning title=deploy::") == len(calls) - 1
    assert said.out.count("Render deploy dep-9 started for ghcr.io/") == len(calls)
    assert ("reports model version 0.5.0-20260309180007" in said.out) == (kept < 3)
    assert ("did not report model version 0.5.0-20260309180007" in said.err) == (kept == 3)


def test_an_output_of_more_than_one_line_is_refused():
    with pytest.raises(ValueError, match="tags holds more than one line"):
        github_outputs({"tags": "a\nversion=9.9.9"})


def deploy_args() -> list[str]:
    return [
        "deploy",
        "--image",
        "ghcr.io/octo/cryptopredict",
        "--digest",
        DIGEST,
        "--model-version",
        "0.5.0-20260309180007",
    ]


@pytest.mark.parametrize(
    ("variable", "assets"),
    [
        ("", "top:200"),
        ("  ", "top:200"),
        ("btc-usd,eth-usd,sol-usd", "btc-usd,eth-usd,sol-usd"),
        (" SOL-USD , 1000pepe-usdt,sol-usd", "sol-usd,1000pepe-usdt"),
        ("TOP:50, xmr-usdt", "top:50,xmr-usdt"),
    ],
)
def test_the_release_trains_the_pairs_of_release_assets(tagged, capsys, variable, assets):
    got = next_version(capsys, f"--assets={variable}")
    assert got["assets"] == assets


@pytest.mark.parametrize(
    "variable",
    [
        "btc-usd\nTRAIN_SOURCE=snapshot",
        "btc",
        "btc-usd,,eth-usd",
        "top:0",
        "top:all",
        "top:5,top:9",
    ],
)
def test_a_malformed_release_assets_fails_naming_it(tagged, capsys, variable):
    args = ["next-version", "--ref", "refs/heads/main", "--repository", "o/r"]
    args.append(f"--assets={variable}")
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "RELEASE_ASSETS holds" in err
    assert "<base>-<quote>" in err or "more than one top:N" in err


@pytest.mark.parametrize(
    ("state", "enabled"),
    [("active", True), ("disabled_inactivity", False), ("disabled_manually", False)],
)
def test_the_schedule_is_kept_on_unless_it_was_turned_off(server, state, enabled):
    """Issue 24: only a workflow that runs is enabled again, restarting GitHub's 60 days; one a
    person (or GitHub) turned off is left as it is."""
    fork = Fork.set_up(workflows={"release.yml": state})
    server.handler = fork.handle
    environ = {
        "GITHUB_TOKEN": "t",
        "GITHUB_REPOSITORY": fork.repository,
        "GITHUB_API_URL": server.url,
    }
    assert main(["keepalive"], environ) == 0
    enable = ("PUT", f"/repos/{fork.repository}/actions/workflows/release.yml/enable")
    assert (enable in fork.writes) is enabled
