"""`python -m tools.release setup` against GitHub's API as it keeps a fork
(tests/release/github_fork.py, served by a local server): a bare personal fork and a bare
organisation fork are left set up so that preflight passes, a second run changes nothing, and
the deploy key's private half reaches the environment secret only, sealed, never the disk
(issue 69, bar 1)."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.release.github_fork import NOT_FOUND, Fork
from tools.release.cli import main

REPOSITORY = "octo/cryptopredict"


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """The owner's clone as the working directory, and a temporary directory of the test's own
    (tempfile's, for everything this process makes)."""
    work, scratch = tmp_path / "clone", tmp_path / "tmp"
    work.mkdir()
    scratch.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setenv("TMPDIR", str(scratch))
    return tmp_path


def serve(server, fork: Fork) -> Fork:
    server.handler = fork.handle
    plural = "orgs" if fork.owner_type == "Organization" else "users"
    server.route(f"/{plural}/octo/packages/container/cryptopredict", 404, json.dumps(NOT_FOUND))
    return fork


def run(server, capsys, command: str, *args: str) -> tuple[int, str]:
    environ = {"GITHUB_TOKEN": "ghp_owner", "GITHUB_API_URL": server.url}
    code = main([command, "--repository", REPOSITORY, *args], environ=environ)
    return code, capsys.readouterr().out


def public_half(private: str) -> str:
    """What OpenSSH derives from a private key, read from its standard input."""
    done = subprocess.run(
        ["ssh-keygen", "-y", "-f", "/dev/stdin"],
        input=private,
        capture_output=True,
        text=True,
        check=True,
    )
    return " ".join(done.stdout.split()[:2])


def holding(root: Path, text: str) -> list[Path]:
    return [
        path for path in root.rglob("*") if path.is_file() and text in path.read_text("latin-1")
    ]


@pytest.mark.parametrize("owner_type", ["User", "Organization"])
def test_a_bare_fork_is_set_up_so_that_preflight_passes_and_a_second_run_changes_nothing(
    server, capsys, workdir, owner_type
):
    fork = serve(server, Fork(owner_type=owner_type))
    code, out = run(server, capsys, "preflight")
    assert code == 1, "a bare fork is not set up"
    code, out = run(server, capsys, "setup", "--no-render")
    assert code == 0, out
    said = [line for line in out.splitlines() if line.startswith("change: ")]
    for setting in ("enable the release workflow", "create the production environment",
                    "make a deploy key", "create the tag ruleset 'release tags'",
                    "create the branch ruleset 'main'", "set the variable RELEASE_REPOSITORY",
                    "publish GitHub Pages from GitHub Actions"):  # fmt: skip
        assert any(setting in line for line in said), (setting, out)
    code, out = run(server, capsys, "preflight")
    assert code == 0, out
    assert "off: Render is off" in out
    assert "'Deploy keys' may create the release tags" in out
    # The deploy key: its private half in the environment only, sealed there, nowhere on disk.
    [key] = fork.keys
    assert key["read_only"] is False
    private = fork.environment_secrets["RELEASE_TAG_KEY"]
    assert public_half(private) == " ".join(key["key"].split()[:2])
    body = private.splitlines()[1]
    assert body not in out
    assert holding(workdir, body) == [], "no private key under the clone or the temporary dir"
    # Again: nothing to change, and nothing changed.
    writes = list(fork.writes)
    code, out = run(server, capsys, "setup", "--no-render")
    assert code == 0
    assert "nothing to change: every setting the releases need is in place" in out
    assert not [line for line in out.splitlines() if line.startswith("change:")]
    assert fork.writes == writes


def test_a_dry_run_says_every_change_and_makes_none(server, capsys, workdir):
    fork = serve(server, Fork())
    code, out = run(server, capsys, "setup", "--dry-run", "--no-pages")
    assert code == 0
    assert "would change: disable the docs workflow (Pages off)" in out
    assert "would change: make a deploy key with write access" in out
    assert "nothing changed (--dry-run)" in out
    assert fork.writes == []


def test_render_on_seals_the_hook_into_the_environment_and_off_removes_it(server, capsys, workdir):
    fork = serve(server, Fork(repository_secrets={"RENDER_DEPLOY_HOOK_URL": "old"}))
    hook = "https://api.render.com/deploy/srv-abc?key=xyz"
    environ = {"GITHUB_TOKEN": "ghp_owner", "GITHUB_API_URL": server.url,
               "RENDER_DEPLOY_HOOK_URL": hook}  # fmt: skip
    url = "https://cryptopredict.onrender.com"
    args = ["setup", "--repository", REPOSITORY, "--render-service-url", url]
    assert main(args, environ=environ) == 0
    out = capsys.readouterr().out
    assert "change: delete the repository secret RENDER_DEPLOY_HOOK_URL" in out
    assert hook not in out
    assert fork.environment_secrets["RENDER_DEPLOY_HOOK_URL"] == hook
    assert fork.variables["RENDER_SERVICE_URL"] == url
    assert fork.repository_secrets == {}
    code, out = run(server, capsys, "setup", "--no-render")
    assert code == 0
    assert "change: delete the production secret RENDER_DEPLOY_HOOK_URL (Render off)" in out
    assert "RENDER_DEPLOY_HOOK_URL" not in fork.environment_secrets
    assert "RENDER_SERVICE_URL" not in fork.variables


def test_a_wrong_setting_is_corrected_and_an_old_key_replaced(server, capsys, workdir):
    fork = serve(server, Fork())
    run(server, capsys, "setup", "--no-render")
    [first] = fork.keys
    fork.policies.append({"id": 1, "name": "feature/*", "type": "branch"})
    del fork.environment_secrets["RELEASE_TAG_KEY"]
    fork.rulesets[0]["enforcement"] = "evaluate"
    code, out = run(server, capsys, "setup", "--no-render")
    assert code == 0
    assert "change: stop the branch 'feature/*' deploying to production" in out
    assert "change: correct the tag ruleset 'release tags'" in out
    assert "replacing the 1 made before" in out
    [key] = fork.keys
    assert key["id"] != first["id"]
    assert public_half(fork.environment_secrets["RELEASE_TAG_KEY"]) == " ".join(
        key["key"].split()[:2]
    )
    assert run(server, capsys, "preflight")[0] == 0


def test_the_set_up_by_hand_is_at_most_six_steps_and_the_command_does_the_rest():
    """Bar 4: docs/release.md's set-up counts what stays by hand in its own list."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "release.md").read_text()
    section = text.split("### By hand: six steps\n", 1)[1].split("\n### ", 1)[0]
    steps = [line for line in section.splitlines() if line[:1].isdigit() and ". **" in line]
    assert [line.split(".", 1)[0] for line in steps] == [str(n) for n in range(1, 7)]
    assert "python -m tools.release setup --repository <owner>/<repo>" in section
    assert "python -m tools.release preflight --repository <owner>/<repo>" in section
    # Every fix a failure names by its step is one of these six.
    table = text.split("### What each failure looks like\n", 1)[1].split("\n### ", 1)[0]
    named = {int(part.split("step ")[1][0]) for part in table.split("by hand, ")[1:]}
    assert named <= set(range(1, 7))
