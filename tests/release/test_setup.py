"""`python -m tools.release setup` against GitHub's API as it keeps a fork
(tests/release/github_fork.py and github_issues.py, served by a local server): a bare personal
fork and a bare organisation fork are left set up so that its dry run passes, a second run changes
nothing, and the deploy key's private half reaches the environment secret only, sealed, never the
disk (issue 69, bar 1); a fork whose Actions its owner has not enabled is told the one thing to do
(issue 112); the fork's schedule, off, is turned on and a scheduled run comes (issue 119). The dry
run of a fork set up as docs/release.md says passes, and so does one with Render and Pages off;
each missing step is named with its fix, every other step still checked (issue 62, bar 3; issue
69, bar 2)."""

from __future__ import annotations

import argparse
import json
import re
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest

from tests.release.github_fork import Fork
from tools.release.cli import main
from tools.release.rules import TAG_RULE
from tools.release.say import LABEL

REPOSITORY = "octo/cryptopredict"
SERVICE_URL = "RENDER_SERVICE_URL"
ENABLE = (
    "open https://github.com/octo/cryptopredict/actions and press 'I understand my workflows, go "
    "ahead and enable them', then run setup again"
)


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """The owner's clone as the working directory, and the temporary directory (tempfile's, for
    everything this process makes): the test's own, one."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    return tmp_path


def serve(server, fork: Fork) -> Fork:
    """The fork and its issues at the server."""
    fork.host = server.url.removeprefix("http://")
    server.handler = fork.handle
    return fork


@pytest.fixture
def set_up(server) -> Fork:
    """A fork as setup leaves it (tests/release/github_fork.py's Fork.set_up), served."""
    return serve(server, Fork.set_up())


def run(server, capsys, command: str, *args: str, **environ: str) -> tuple[int, str]:
    """`command` run with the owner's token (and `environ`): its exit status, what it said."""
    environ |= {"GITHUB_TOKEN": "ghp_owner", "GITHUB_API_URL": server.url}
    code = main([command, "--repository", REPOSITORY, *args], environ=environ)
    return code, capsys.readouterr().out


def missing(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith(("by hand: ", "would change: "))]


def public_half(private: str) -> str:
    """What OpenSSH derives from a private key (ended by a newline, as the tag job writes it)."""
    done = subprocess.run(
        ["ssh-keygen", "-y", "-f", "/dev/stdin"],
        input=private.strip() + "\n",
        capture_output=True,
        text=True,
        check=True,
    )
    return " ".join(done.stdout.split()[:2])


@pytest.mark.parametrize("owner_type", ["User", "Organization"])
def test_a_bare_fork_is_told_to_enable_actions_then_set_up_so_that_its_dry_run_passes(
    server, capsys, workdir, owner_type
):
    fork = serve(server, Fork(owner_type=owner_type))
    code, out = run(server, capsys, "setup", "--dry-run", "--no-pages")
    assert code == 1, "a bare fork is not set up"
    assert "would change: disable the docs workflow (Pages off)" in out
    assert "would change: make a deploy key with write access" in out
    assert "would change: enable the release workflow (it is disabled_fork;" in out
    assert fork.writes == [], "nothing changed (--dry-run)"
    code, out = run(server, capsys, "setup", "--no-render")
    assert code == 1, "GitHub runs no workflow of a fork until its owner enables them"
    assert f"by hand: GitHub does not run the release: {ENABLE}" in out
    assert "HTTP 422" in out, "GitHub's answer to the dispatch"
    said = [line for line in out.splitlines() if line.startswith("change: ")]
    for setting in (
        "turn Issues on (off on a fork by default)",
        f"create the label {LABEL}",
        "create the production environment",
        "create the release-tags environment",
        "make a deploy key",
        "create the tag ruleset 'release tags', as rulesets/release-tags.json says",
        "create the branch ruleset 'main moves forward', as rulesets/main.json says",
        "set the variable RELEASE_REPOSITORY to octo/cryptopredict",
        "build GitHub Pages from GitHub Actions, as pages.json says",
        "turn on Dependabot's alerts and security updates",
        "enable the release workflow (it is disabled_fork; a fork's schedule is off until then) "
        "with your token: GitHub mails each scheduled run to who enabled it",
        "start the release on main",
    ):
        assert any(setting in line for line in said), (setting, out)
    assert LABEL in fork.issues.labels, "a job's token may not create it: setup does"
    fork.press_the_button()
    assert not fork.scheduled(), "a fork's schedule is off, its Actions on or not (issue 119)"
    code, out = run(server, capsys, "setup", "--no-render")
    assert code == 0, out
    assert "change: enable the release workflow" in out
    assert "the release started: https://github.com/octo/cryptopredict/actions/runs/1" in out
    assert fork.scheduled(), "the schedule on: GitHub's scheduled runs come"
    code, out = run(server, capsys, "setup", "--dry-run")
    assert code == 0, out
    assert "in place: the schedule is on: no scheduled run yet" in out
    assert "in place: the release runs: its latest run is https://github.com/" in out
    assert fork.dependabot == {"alerts", "updates"}, "the alerts first: the updates need them"
    assert fork.has_issues, "the one issue reaches the owner"
    assert "in place: Render is off" in out
    assert "in place: a deploy key with write access, its private half in RELEASE_TAG_KEY" in out
    assert f"in place: environment production: only the tag {TAG_RULE!r} may enter" in out
    assert "in place: environment release-tags: only the branch 'main' may enter" in out
    assert "in place: the tag ruleset 'release tags', as rulesets/release-tags.json says" in out
    # The deploy key: its private half in the environment only, sealed there, nowhere on disk.
    [key] = fork.keys
    assert key["read_only"] is False
    private = fork.secrets_in("release-tags")["RELEASE_TAG_KEY"]
    assert public_half(private) == " ".join(key["key"].split()[:2])
    body = private.splitlines()[1]
    assert body not in out
    held = [p for p in workdir.rglob("*") if p.is_file() and body in p.read_text("latin-1")]
    assert held == [], "no private key under the clone or the temporary dir"
    # Again: nothing to change, and nothing changed.
    writes = list(fork.writes)
    code, out = run(server, capsys, "setup", "--no-render")
    assert code == 0
    assert "nothing to change: every setting the releases need is in place" in out
    assert fork.writes == writes


def test_render_on_seals_the_hook_into_the_environment_and_off_removes_it(server, capsys, workdir):
    fork = serve(
        server, Fork(actions_on=True, repository_secrets={"RENDER_DEPLOY_HOOK_URL": "old"})
    )
    hook = "https://api.render.com/deploy/srv-abc?key=xyz"
    url = "https://cryptopredict.onrender.com"
    code, out = run(
        server, capsys, "setup", "--render-service-url", url, RENDER_DEPLOY_HOOK_URL=hook
    )
    assert code == 1, "main holds no render.yaml yet"
    assert "by hand: main holds no render.yaml for Render's Blueprint" in out
    assert "change: delete the repository secret RENDER_DEPLOY_HOOK_URL, which any branch's" in out
    assert hook not in out
    assert fork.secrets_in("production")["RENDER_DEPLOY_HOOK_URL"] == hook
    assert fork.variables["RENDER_SERVICE_URL"] == url
    assert fork.repository_secrets == {}
    code, out = run(server, capsys, "setup", "--no-render")
    assert code == 0
    assert "change: delete the production secret RENDER_DEPLOY_HOOK_URL (Render off)" in out
    assert "RENDER_DEPLOY_HOOK_URL" not in fork.secrets_in("production")
    assert "RENDER_SERVICE_URL" not in fork.variables


def test_a_wrong_setting_is_corrected_and_an_old_key_replaced(server, capsys, workdir):
    fork = serve(server, Fork(actions_on=True))
    run(server, capsys, "setup", "--no-render")
    [first] = fork.keys
    fork.environments["production"]["policies"].append(
        {"id": 1, "name": "feature/*", "type": "branch"}
    )
    del fork.secrets_in("release-tags")["RELEASE_TAG_KEY"]
    fork.rulesets[0]["enforcement"] = "evaluate"
    code, out = run(server, capsys, "setup", "--no-render")
    assert code == 0
    assert "change: stop the branch 'feature/*' deploying to production" in out
    assert (
        "change: correct the tag ruleset 'release tags', as rulesets/release-tags.json says" in out
    )
    assert "any setup made before is deleted" in out
    [key] = fork.keys
    assert key["id"] != first["id"]
    assert public_half(fork.secrets_in("release-tags")["RELEASE_TAG_KEY"]) == " ".join(
        key["key"].split()[:2]
    )
    assert run(server, capsys, "setup", "--dry-run")[0] == 0


def test_the_set_up_by_hand_is_at_most_seven_steps_and_the_command_does_the_rest():
    """Bar 4: docs/release.md's set-up counts what stays by hand in its own list; issue 112:
    the fork's Actions tab is one of them, between the command and the first release."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "release.md").read_text()
    section = text.split("### By hand: seven steps\n", 1)[1].split("\n### ", 1)[0]
    steps = [line for line in section.splitlines() if line[:1].isdigit() and ". **" in line]
    assert [line.split(".", 1)[0] for line in steps] == [str(n) for n in range(1, 8)]
    assert "I understand my workflows, go ahead and enable them" in steps[2]
    assert "python -m tools.release setup --repository <owner>/<repo>" in section
    assert "python -m tools.release setup --repository <owner>/<repo> --dry-run" in section
    # Every fix a failure names by its step is one of these seven.
    table = text.split("### What each failure looks like\n", 1)[1].split("\n### ", 1)[0]
    named = {int(part.split("step ")[1][0]) for part in table.split("by hand, ")[1:]}
    assert named <= set(range(1, 8))


class ParsedError(Exception):
    """A command's options parsed: nothing more is run."""


def test_every_command_of_the_set_up_by_hand_exists(monkeypatch):
    """Issue 76, bar 5: each `python -m tools.release` command the seven steps give parses with
    its options, each `make` target named exists, and each file an install reads is there (the
    `gh` commands were checked against gh 2.23, `gh auth token` and `gh auth refresh -s`)."""
    root = Path(__file__).resolve().parents[2]
    text = (root / "docs" / "release.md").read_text()
    section = text.split("### By hand: seven steps\n", 1)[1].split("\n### ", 1)[0]
    joined = re.sub(r"\\\n\s*", " ", section)  # a shell line continued
    commands = re.findall(r"python -m tools\.release [^\n`#]*", joined)
    # An option named in the text: with the repository every command takes.
    commands += [
        f"python -m tools.release {span} --repository <owner>/<repo>"
        for span in re.findall(r"`((?:setup|rules) --[^`]+)`", joined)
    ]
    assert len(commands) >= 3, commands
    parse = argparse.ArgumentParser.parse_args

    def parsed(parser: argparse.ArgumentParser, argv: list[str]) -> None:
        parse(parser, argv)
        raise ParsedError

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parsed)
    for command in commands:
        words = shlex.split(command.replace("<owner>/<repo>", REPOSITORY))
        with pytest.raises(ParsedError):  # SystemExit on an unknown option
            main([re.sub(r"<[^>]+>", "x", word) for word in words[3:]], {})
    targets = re.findall(r"`make\s+([a-z-]+)", section)
    makefile = (root / "Makefile").read_text()
    assert [t for t in targets if not re.search(rf"^{t}:", makefile, re.M)] == []
    for required in re.findall(r"-r (requirements-[a-z]+\.txt)", section):
        assert (root / required).is_file(), required


def test_setup_leaves_the_owners_own_rulesets_as_they_are_naming_a_tag_one_in_the_way(
    server, capsys, workdir
):
    """The owner's `main` (pull requests required, switched to evaluate) is not setup's: setup
    makes its own beside it. The owner's tag ruleset restricts creating release tags with no
    bypass: GitHub would refuse the release's tags. Setup, and its dry run, say it is not in
    place, and leave both as they were."""
    main_ruleset = {
        "id": 60,
        "name": "main",
        "target": "branch",
        "source_type": "Repository",
        "enforcement": "evaluate",
        "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []}},
        "rules": [{"type": "pull_request", "parameters": {"required_approving_review_count": 1}}],
        "bypass_actors": [],
    }
    tags = {**main_ruleset, "id": 61, "name": "protect v tags", "target": "tag"}
    tags |= {"enforcement": "active", "rules": [{"type": "creation"}]}
    tags["conditions"] = {"ref_name": {"include": ["refs/tags/v*"], "exclude": []}}
    theirs = json.loads(json.dumps([main_ruleset, tags]))
    fork = serve(server, Fork(actions_on=True, rulesets=theirs))
    for dry_run in ((), ("--dry-run",), ()):
        code, out = run(server, capsys, "setup", "--no-render", *dry_run)
        assert code == 1, out
        assert "by hand: the tag ruleset 'protect v tags', which setup did not make" in out
        assert "Bypass list, add 'Deploy keys'; setup leaves it as it is" in out
    assert fork.rulesets[:2] == [main_ruleset, tags], "the owner's rulesets as they were"
    assert "main moves forward" in [ruleset["name"] for ruleset in fork.rulesets[2:]]
    fork.rulesets[1]["bypass_actors"] = [
        {"actor_id": None, "actor_type": "DeployKey", "bypass_mode": "always"}
    ]
    assert "nothing to change" in run(server, capsys, "setup", "--no-render")[1]
    assert run(server, capsys, "setup", "--dry-run")[0] == 0


def test_a_dry_run_needs_nothing_but_python(server, workdir):
    """Without cryptography, or any package (`python -S`: no site-packages), `setup --dry-run`
    says what it would change; the run that changes settings says how to install what it needs."""
    serve(server, Fork())
    environ = {"GITHUB_TOKEN": "ghp_owner", "GITHUB_API_URL": server.url, "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-S", "-m", "tools.release", "setup", "--repository", REPOSITORY]
    root = Path(__file__).resolve().parents[2]
    ran = partial(subprocess.run, cwd=root, env=environ, capture_output=True, text=True)
    done = ran([*command, "--dry-run"], check=False)
    assert done.returncode == 1, done.stderr
    assert "would change: make a deploy key with write access" in done.stdout
    done = ran(command, check=False)
    assert done.returncode == 1
    assert "setup makes the deploy key with cryptography and seals the secrets with" in done.stderr
    assert "pip install --require-hashes -r requirements-setup.txt" in done.stderr


def test_setup_without_github_says_what_it_waits_for_at_once_and_ends_at_its_timeout(
    capsys, monkeypatch
):
    """Issue 105: GitHub unreachable (nothing listens), the retries as shipped (10, 30, 90 s):
    setup says at once what it asks and, for each wait, its cause and the next try's time;
    --timeout ends it, saying what to check."""
    monkeypatch.delenv("RELEASE_RETRY_DELAYS")
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        api = f"http://127.0.0.1:{closed.getsockname()[1]}"
    environ = {"GITHUB_TOKEN": "ghp_owner", "GITHUB_API_URL": api}
    started = time.monotonic()
    with pytest.raises(SystemExit, match=r"did not answer within 1\.5 s \(--timeout\): check"):
        main(["setup", "--repository", REPOSITORY, "--dry-run", "--timeout", "1.5"], environ)
    assert time.monotonic() - started < 5
    err = capsys.readouterr().err
    assert err.startswith(f"asking {api} about {REPOSITORY} for 1.5 s at most (--timeout)")
    waits = r"could not be reached \(.*refused\); trying again at \d\d:\d\d:\d\d \(in 10 s\)"
    assert re.search(waits, err), err


def test_a_fork_with_render_and_pages_off_passes_saying_what_is_off(server, capsys, set_up):
    fork = set_up
    del fork.secrets_in("production")["RENDER_DEPLOY_HOOK_URL"], fork.variables[SERVICE_URL]
    fork.pages, fork.workflows["docs.yml"], fork.files = None, "disabled_manually", {}
    fork.package = {**fork.package, "visibility": "private"}
    code, out = run(server, capsys, "setup", "--dry-run")
    assert code == 0, out
    assert "in place: Render is off (no RENDER_DEPLOY_HOOK_URL, no RENDER_SERVICE_URL)" in out
    assert "in place: GitHub Pages is off: the docs workflow is disabled" in out
    assert "private (Render is off: nothing pulls it anonymously)" in out


def silent_schedule(fork: Fork) -> None:
    """Enabled, and its last scheduled run, a day ago."""
    fork.enabled_at = fork.runs[0]["created_at"] = f"{datetime.now(UTC) - timedelta(1):%FT%TZ}"


@pytest.mark.parametrize(
    ("fault", "named"),
    [
        (lambda fork: fork.rulesets.pop(0), "would change: create the tag ruleset 'release tags'"),
        (
            lambda fork: fork.rulesets[0].update(bypass_actors=[]),
            "would change: correct the tag ruleset 'release tags', as rulesets/release-tags.json "
            "says (its bypass_actors differ)",
        ),
        (
            lambda fork: fork.keys[0].update(read_only=True),
            "would change: make a deploy key with write access",
        ),
        (
            lambda fork: fork.secrets_in("release-tags").pop("RELEASE_TAG_KEY"),
            "would change: make a deploy key with write access and store its private half",
        ),
        (
            lambda fork: fork.environments["production"]["settings"].update(
                deployment_branch_policy=None
            ),
            "would change: correct the production environment",
        ),
        (
            lambda fork: fork.package.update(visibility="private"),
            "by hand: the package ghcr.io/octo/cryptopredict is private",
        ),
        (
            lambda fork: fork.package.update(repository={"full_name": "octo/old-name"}),
            "by hand: the package ghcr.io/octo/cryptopredict belongs to octo/old-name",
        ),
        (
            lambda fork: fork.dependabot.clear(),
            "would change: turn on Dependabot's alerts and security updates",
        ),
        (
            lambda fork: fork.variables.pop(SERVICE_URL),
            "by hand: the production environment holds RENDER_DEPLOY_HOOK_URL but the "
            "repository variable RENDER_SERVICE_URL is not set, so the deploy job never runs",
        ),
        (
            silent_schedule,
            "by hand: GitHub started no scheduled run of the release in seven hours (its last "
            "scheduled run https://github.com/octo/cryptopredict/actions/runs/1): open "
            "https://github.com/octo/cryptopredict/actions/workflows/release.yml and press "
            "'Enable workflow'",
        ),
    ],
    ids=[
        "ruleset",
        "bypass",
        "deploy key",
        "tag key",
        "environment",
        "package private",
        "package of another",
        "dependabot",
        "hook without its service",
        "no scheduled run",
    ],
)
def test_each_missing_step_is_named_with_its_fix_and_the_others_still_checked(
    server, capsys, set_up, fault, named
):
    fault(set_up)
    code, out = run(server, capsys, "setup", "--dry-run")
    assert code == 1
    assert any(line.startswith(named) for line in missing(out)), out
    fixes = ("docs/release.md", "->", "`python -m tools.release setup")
    assert all(any(fix in line for fix in fixes) for line in missing(out) if "by hand" in line)
    # The steps that are in place are still said.
    assert "in place: GitHub Pages is built from GitHub Actions" in out
    assert "in place: the release runs: its latest run is https://github.com/octo/" in out


def test_a_token_without_read_packages_is_told_how_to_get_it(server, capsys, set_up):
    fork = set_up
    refused = json.dumps({"message": "You need at least read:packages scope to list packages."})
    server.handler = lambda method, path, body: (
        (403, refused.encode()) if "/packages/" in path else fork.handle(method, path, body)
    )
    [line] = missing(run(server, capsys, "setup", "--dry-run")[1])
    assert "`gh auth refresh -s read:packages`" in line
    assert "the job needs" not in line


def test_own_release_tags_without_an_image_are_missing_a_fork_parents_are_not(
    server, capsys, set_up, registry_of_its_own
):
    """Issue 76: setup judges the tags as the version job does: the repository's own tags
    over an empty registry stop its release unless a run's start-anew says why; a fork's
    parent's tags start the fork's own record. Issue 112: GitHub pages the tags it lists (the
    newest of 250, v7.3.249, on the last page), read whole."""
    fork = set_up
    fork.tags = [{"ref": f"refs/tags/v7.3.{n}", "object": {"sha": f"{n:040x}"}} for n in range(250)]
    registry = registry_of_its_own.url
    code, out = run(server, capsys, "setup", "--dry-run", RELEASE_REGISTRY_URL=registry)
    assert code == 1
    [line] = missing(out)
    assert "holds no release image, yet octo/cryptopredict's own release tags exist" in line
    assert "(the newest v7.3.249 of 250, commit " in line
    assert "version job stops" in line
    assert "-f start-anew=" in line
    # The same tags, held by the parent this repository was forked from on the same commits.
    parent = Fork(repository="upstream/cryptopredict", tags=fork.tags)
    fork.about = {"fork": True, "parent": {"full_name": parent.repository}}
    server.handler = lambda *asked: parent.handle(*asked) or fork.handle(*asked)
    code, out = run(server, capsys, "setup", "--dry-run", RELEASE_REGISTRY_URL=registry)
    assert code == 0, out
    # Held by the parent on another commit, they are this repository's own again.
    parent.tags = [{**fork.tags[-1], "object": {"sha": "f" * 40}}]
    assert run(server, capsys, "setup", "--dry-run", RELEASE_REGISTRY_URL=registry)[0] == 1
    # Once the registry holds a release image, the tags have theirs.
    registry_of_its_own.push("octo/cryptopredict", ["latest", "7.3.249"])
    assert run(server, capsys, "setup", "--dry-run", RELEASE_REGISTRY_URL=registry)[0] == 0


@pytest.mark.parametrize(
    ("owner", "plan"),
    [("User", "free"), ("User", "pro"), ("Organization", "team"), ("Organization", "enterprise")],
)
def test_a_private_repository_without_attestations_is_missing(server, capsys, set_up, owner, plan):
    """Issue 82: attestations of a repository that is not public need GitHub Enterprise Cloud;
    on any other plan every release would stop at its attestation."""
    set_up.owner_type, set_up.about = owner, {"visibility": "private", "private": True}
    account = json.dumps({"login": "octo", "plan": {"name": plan}})
    server.route("/user" if owner == "User" else "/orgs/octo", 200, account)
    code, out = run(server, capsys, "setup", "--dry-run")
    if plan == "enterprise":
        assert code == 0, out
        assert "is private, on GitHub Enterprise Cloud: attestations work" in out
        return
    assert code == 1
    [line] = missing(out)
    assert f"is private on GitHub {plan.title()}: GitHub attests" in line
    assert "every release would stop at its attestation, before any tag" in line
    assert "--visibility public" in line
    assert ("no environment secrets or rulesets" in line) == (plan == "free")
