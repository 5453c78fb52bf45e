"""What a release run builds and publishes, in a scratch git repository, with the arguments the
workflow passes (`next-version`): no tag, made by the pipeline or by hand, skips the test gate,
releases a commit main does not contain, or puts older code out as `latest` (issue 34, bar 1)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.release.github_answers import failed_runs
from tests.release.scratch_git import ScratchRepo, checkout_run
from tools.release.cli import main

ROOT = Path(__file__).resolve().parents[2]
MAIN = "refs/heads/main"
# next-version reads the registry: here one whose image says no version (numbered from git).
pytestmark = pytest.mark.usefixtures("registry_with_latest")


class History:
    """The remote (GitHub's repository): v0.1.4 <- a (push A, its release failed) <- b = v0.1.5
    (push B) <- c (push C: main's head), and d, a commit on another line from a, not on main."""

    def __init__(self, repo: ScratchRepo, checkouts: Path) -> None:
        self.repo = repo
        self.checkouts = checkouts
        self.v014 = repo.commit("first release", tag="v0.1.4")
        self.a = repo.commit("push A")
        self.b = repo.commit("push B", tag="v0.1.5")
        self.c = repo.commit("push C")
        repo.checkout(self.a)
        self.d = repo.commit("another line of work, from A")

    def tag(self, name: str, commit: str) -> None:
        """A tag made by hand and pushed."""
        self.repo.git("tag", name, commit)

    def checkout(self, commit: str, ref: str) -> Path:
        """A fresh job checkout of the remote for a run of `commit` on `ref`."""
        path = self.checkouts / f"run-{len(list(self.checkouts.iterdir()))}"
        checkout_run(self.repo, path, commit, ref)
        return path


@pytest.fixture
def history(tmp_path) -> History:
    (tmp_path / "remote").mkdir()
    (tmp_path / "runs").mkdir()
    return History(ScratchRepo(tmp_path / "remote"), tmp_path / "runs")


def run(capsys, history: History, commit: str, event: str, ref: str):
    """next-version as the version job runs it, in a checkout of `commit` on `ref`."""
    os.chdir(history.checkout(commit, ref))
    args = ["next-version", f"--event={event}", f"--ref={ref}", "--repository=o/r"]
    code = main(args)
    captured = capsys.readouterr()
    lines = [line.split("=", 1) for line in captured.out.splitlines() if "=" in line]
    return code, dict(lines), captured.err


def planned(out: dict[str, str]) -> tuple[str, ...]:
    keys = ("build", "publish", "dispatch", "version", "create-tag", "sha")
    return tuple(out[key] for key in keys)


@pytest.fixture(autouse=True)
def _back_to_where_we_were(monkeypatch):
    monkeypatch.chdir(Path.cwd())


def test_a_push_that_descends_from_the_latest_tag_is_the_next_patch(history, capsys):
    code, out, _ = run(capsys, history, history.c, "push", MAIN)
    assert code == 0
    assert planned(out) == ("true", "true", "", "0.1.6", "true", history.c)


def test_a_rerun_of_an_older_push_is_refused_naming_both_commits(history, capsys):
    code, out, err = run(capsys, history, history.a, "push", MAIN)
    assert (code, out) == (1, {})
    assert history.a in err
    assert history.b in err
    assert "older than the latest release v0.1.5" in err


def test_a_push_main_does_not_contain_is_refused(history, capsys):
    # main was rewritten to c's line after the push of d.
    code, _, err = run(capsys, history, history.d, "push", MAIN)
    assert code == 1
    assert f"refusing HEAD (commit {history.d}): main does not contain it" in err


def test_re_running_the_push_that_made_the_newest_tag_rebuilds_it_tested(history, capsys):
    code, out, _ = run(capsys, history, history.b, "push", MAIN)
    assert code == 0
    assert planned(out) == ("true", "true", "", "0.1.5", "false", history.b)


@pytest.mark.parametrize("event", ["schedule", "workflow_dispatch"])
def test_a_scheduled_or_manual_run_releases_mains_stranded_head_else_rebuilds_the_tag(
    history, capsys, event
):
    """Issue 82: push C's release failed (a flaky mirror), leaving main's head untagged; the
    next scheduled run releases C, as its push would have, through the whole gate."""
    code, out, err = run(capsys, history, history.c, event, MAIN)
    assert code == 0
    assert planned(out) == ("true", "true", "", "0.1.6", "true", history.c)
    assert f"main's head {history.c} is not released yet" in err
    history.tag("v0.1.6", history.c)  # that release made its tag: from now on, rebuilds
    code, out, err = run(capsys, history, history.c, event, MAIN)
    assert code == 0
    assert planned(out) == ("false", "false", "v0.1.6", "0.1.6", "false", history.c)
    assert "rebuilding v0.1.6 in a run on that tag" in err


def test_the_schedule_stops_retrying_a_head_whose_release_failed_twice(
    history, capsys, server, monkeypatch
):
    """Not a passing fault: the scheduled runs rebuild the newest tag, so the forecasts stay
    fresh; a manual run still retries main's head. Issue 93: failures a re-run heals (GitHub
    down through runs, in gh's words or the tooling's) do not count."""
    monkeypatch.setenv("GITHUB_API_URL", server.url)
    monkeypatch.setenv("GITHUB_REPOSITORY", "o/r")
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_job")
    runs = "/repos/o/r/actions/workflows/release.yml/runs"
    gh = "gh: error connecting to api.github.com check your internet connection"
    ours = "GitHub answered HTTP 503 for GET ...: a transient failure, not a fault of the release"
    failed_runs(server, "o/r", gh, ours, ours)
    _, out, _ = run(capsys, history, history.c, "schedule", MAIN)
    assert out["publish"] == "true", "three transient failures: retried"
    failed_runs(server, "o/r", "FAILED tests/collect/test_poller.py - flaky")
    _, out, _ = run(capsys, history, history.c, "schedule", MAIN)
    assert out["publish"] == "true", "one failure (the push's): retried"
    assert ("GET", f"{runs}?head_sha={history.c}&status=failure&per_page=100") in server.requests
    failed_runs(server, "o/r", gh, "FAILED tests/collect/test_poller.py - flaky", "")
    code, out, _ = run(capsys, history, history.c, "schedule", MAIN)
    assert code == 0
    assert planned(out) == ("false", "false", "v0.1.5", "0.1.5", "false", history.c)
    _, out, _ = run(capsys, history, history.c, "workflow_dispatch", MAIN)
    assert out["publish"] == "true"
    server.route(runs, 503, '{"message": "Service Unavailable"}')
    _, out, err = run(capsys, history, history.c, "schedule", MAIN)
    assert out["publish"] == "true", "GitHub not saying: retried, as a first retry would be"
    assert "the failed runs of" in err


def test_the_run_on_the_tag_rebuilds_its_commit_and_publishes(history, capsys):
    code, out, _ = run(capsys, history, history.b, "workflow_dispatch", "refs/tags/v0.1.5")
    assert code == 0
    assert planned(out) == ("true", "true", "", "0.1.5", "false", history.b)


def test_a_rebuild_a_newer_release_overtook_ends_green_naming_it_and_builds_nothing(
    history, capsys
):
    """Issue 62, bar 2: the schedule dispatched a rebuild of v0.1.4; a push queued ahead of it
    released v0.1.5 first. The rebuild has nothing to do: it succeeds, saying why, on the run's
    page (a workflow notice)."""
    code, out, err = run(capsys, history, history.v014, "workflow_dispatch", "refs/tags/v0.1.4")
    assert code == 0
    assert (out["build"], out["publish"], out["dispatch"]) == ("false", "false", "")
    assert "::notice title=release::v0.1.4 is superseded by v0.1.5" in err
    assert "must go" not in err


def test_a_run_on_a_tag_that_is_not_a_release_is_refused(history, capsys):
    history.tag("nightly", history.c)
    code, _, err = run(capsys, history, history.c, "workflow_dispatch", "refs/tags/nightly")
    assert code == 1
    assert "nightly is not a release tag" in err


def test_the_first_release_builds_and_tags_the_head(history, capsys):
    for tag in ("v0.1.4", "v0.1.5"):
        history.repo.git("tag", "--delete", tag)
    for event in ("push", "schedule"):
        code, out, _ = run(capsys, history, history.c, event, MAIN)
        assert code == 0
        assert planned(out) == ("true", "true", "", "0.1.0", "true", history.c)


def test_a_manual_run_on_a_branch_builds_that_branchs_head_and_publishes_nothing(history, capsys):
    code, out, err = run(capsys, history, history.d, "workflow_dispatch", "refs/heads/feature")
    assert code == 0
    assert planned(out) == ("true", "false", "", "0.1.5", "false", history.d)
    assert "no tag moves, nothing is attested or deployed" in err


# Tags the pipeline did not create: `git tag vX.Y.Z <commit> && git push origin main vX.Y.Z`.


def test_a_hand_tag_on_the_pushed_head_is_released_only_through_the_test_gate(history, capsys):
    history.tag("v0.2.0", history.c)
    code, out, _ = run(capsys, history, history.c, "push", MAIN)
    assert code == 0
    # build=true: the test job runs the whole gate (tests/delivery/test_workflows.py).
    assert planned(out) == ("true", "true", "", "0.2.0", "false", history.c)


def test_a_hand_tag_on_main_is_rebuilt_in_its_own_run_through_the_test_gate(history, capsys):
    history.tag("v0.2.0", history.c)
    _, out, _ = run(capsys, history, history.c, "schedule", MAIN)
    assert out["dispatch"] == "v0.2.0"
    code, out, _ = run(capsys, history, history.c, "workflow_dispatch", "refs/tags/v0.2.0")
    assert code == 0
    assert (out["build"], out["sha"]) == ("true", history.c)


def test_a_hand_tag_below_the_latest_pushed_with_main_is_refused_in_the_first_job(history, capsys):
    history.tag("v0.1.3", history.c)
    code, out, err = run(capsys, history, history.c, "push", MAIN)
    assert (code, out) == (1, {})
    assert "refusing v0.1.3: the latest release is v0.1.5" in err


def test_a_hand_tag_on_a_commit_main_does_not_contain_is_never_released(history, capsys):
    history.tag("v0.2.0", history.d)
    for commit, event, ref in [
        (history.c, "schedule", MAIN),  # the next cron
        (history.c, "workflow_dispatch", MAIN),
        (history.d, "workflow_dispatch", "refs/tags/v0.2.0"),  # a run started on the tag
    ]:
        code, out, err = run(capsys, history, commit, event, ref)
        assert (code, out) == (1, {}), (event, ref)
        assert f"refusing v0.2.0 (commit {history.d}): main does not contain it" in err
    # And a push to main cannot build on it either: main does not descend from it.
    code, _, err = run(capsys, history, history.c, "push", MAIN)
    assert code == 1
    assert "does not descend from the latest release v0.2.0" in err


def test_a_hand_tag_above_the_latest_on_old_code_never_rolls_production_back(history, capsys):
    history.tag("v1.0.0", history.v014)
    code, out, err = run(capsys, history, history.c, "schedule", MAIN)
    assert (code, out) == (1, {})
    assert f"refusing v1.0.0 (commit {history.v014})" in err
    assert f"does not descend from the earlier release v0.1.5 (commit {history.b})" in err
    code, _, err = run(capsys, history, history.v014, "workflow_dispatch", "refs/tags/v1.0.0")
    assert code == 1
    assert "does not descend from the earlier release v0.1.5" in err


# Issue 42, bar 1: `main` moved on and was force-pushed after the run began.


def test_a_run_whose_commit_main_dropped_by_a_force_push_is_refused(history, capsys):
    # Push X on main; its run checks out X (origin/main = X in the checkout); then main is
    # force-pushed without X. Re-running X's version job must not plan a release of X.
    history.repo.checkout(history.c)
    x = history.repo.commit("push X")
    history.repo.move_branch(x)
    checkout = history.checkout(x, MAIN)
    history.repo.move_branch(history.c)  # git push --force origin c:main
    os.chdir(checkout)
    code = main(["next-version", "--event=push", f"--ref={MAIN}", "--repository=o/r"])
    captured = capsys.readouterr()
    assert (code, captured.out) == (1, "")
    assert f"refusing HEAD (commit {x}): main does not contain it" in captured.err
    assert f"the remote's main is {history.c}" in captured.err
    # The checkout itself still says otherwise: the decision was the live remote's.
    repo = ScratchRepo.__new__(ScratchRepo)
    repo.path = checkout
    assert repo.git("rev-parse", "refs/remotes/origin/main") == x


def test_a_tag_moved_after_its_run_began_is_refused(history, capsys):
    checkout = history.checkout(history.b, "refs/tags/v0.1.5")
    history.repo.git("tag", "--force", "v0.1.5", history.c)
    os.chdir(checkout)
    code = main(["next-version", "--event=workflow_dispatch", "--ref=refs/tags/v0.1.5",
                 "--repository=o/r"])  # fmt: skip
    assert code == 1
    assert f"the remote's v0.1.5 is commit {history.c}" in capsys.readouterr().err


def test_an_unreachable_remote_decides_nothing(history, capsys):
    os.chdir(history.checkout(history.c, MAIN))
    args = ["next-version", "--event=push", f"--ref={MAIN}", "--repository=o/r"]
    assert main([*args, "--remote=nowhere"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "could not read main and the tags from the remote 'nowhere'" in captured.err


@pytest.mark.slow  # processes of their own
def test_the_workflows_command_line_in_a_scratch_repository(history):
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}

    def next_version(commit: str, *args: str) -> subprocess.CompletedProcess[str]:
        ref = next(arg for arg in args if arg.startswith("--ref=")).removeprefix("--ref=")
        command = [sys.executable, "-m", "tools.release", "next-version", "--repository", "o/r"]
        return subprocess.run(
            [*command, *args],
            cwd=history.checkout(commit, ref),
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )

    descendant = next_version(history.c, "--event=push", f"--ref={MAIN}")
    assert descendant.returncode == 0
    assert "version=0.1.6\n" in descendant.stdout
    older = next_version(history.a, "--event=push", f"--ref={MAIN}")
    assert (older.returncode, older.stdout) == (1, "")
    assert history.b in older.stderr
    history.tag("v0.1.3", history.c)
    low = next_version(history.c, "--event=workflow_dispatch", "--ref=refs/tags/v0.1.3")
    assert low.returncode == 0
    assert "build=false\n" in low.stdout
    assert "superseded by v0.1.5" in low.stderr


# Issue 51, bar 4: no instruction to create or delete a `v*` tag by hand while the tag ruleset
# forbids it.

HAND_TAGGING = re.compile(
    r"git push --delete|git tag -[adf]|`git tag v|(?<!the )git tag v[\dX]|git push \S+ \S*\bv[\dX]"
)
MUST_GO = "A release tag that must go"


def test_the_refusals_of_a_stray_tag_say_how_it_goes_with_the_ruleset_in_place(history, capsys):
    refusals = []
    history.tag("v0.1.3", history.c)  # below the latest
    refusals.append(run(capsys, history, history.c, "push", MAIN)[2])
    history.repo.git("tag", "--delete", "v0.1.3")
    history.tag("v0.2.0", history.d)  # on a commit main does not contain
    refusals.append(run(capsys, history, history.c, "schedule", MAIN)[2])
    refusals.append(run(capsys, history, history.c, "push", MAIN)[2])
    history.repo.git("tag", "--delete", "v0.2.0")
    history.tag("v1.0.0", history.v014)  # higher, on old code
    refusals.append(run(capsys, history, history.c, "schedule", MAIN)[2])
    for said in refusals:
        assert said.startswith("error: refusing"), said
        assert "`python -m tools.release remove-tag --tag v" in said, said
        assert f"docs/release.md, '{MUST_GO}')" in said
        assert "gh workflow run release.yml --ref main -f remove-tags='v" in said, said
        assert not HAND_TAGGING.search(said), said
        assert "Delete v" not in said, said
        assert "delete the tag" not in said.lower(), said


def test_no_document_or_tool_tells_anyone_to_tag_by_hand():
    """Issue 62, bar 2: no run, error or document asks anyone to delete or make a tag by hand;
    a tag that must go goes through the release tool's own command, which checks first."""
    places = [*(ROOT / "docs").glob("*.md"), ROOT / "README.md", *(ROOT / "tools").rglob("*.py")]
    places += [*(ROOT / ".github" / "workflows").glob("*.yml"), *(ROOT / "ci").glob("*")]
    found = {
        f"{path.relative_to(ROOT)}:{number}": line.strip()
        for path in places
        if path.is_file()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if HAND_TAGGING.search(line)
    }
    assert found == {}
    release = (ROOT / "docs" / "release.md").read_text()
    section = release.split(f"### {MUST_GO}\n", 1)[1].split("\n#", 1)[0]
    assert "gh workflow run release.yml --ref main -f remove-tags=" in section
    assert "python -m tools.release remove-tag --tag v" in section


def remove_tag(capsys, history: History, server, *args: str) -> tuple[int, str, str]:
    """`remove-tag` as the owner runs it, in a clone of the remote, with their token."""
    os.chdir(history.checkout(history.c, MAIN))
    environ = {
        "GITHUB_TOKEN": "ghp_owner",
        "GITHUB_REPOSITORY": "o/r",
        "GITHUB_API_URL": server.url,
    }
    code = main(["remove-tag", *args], environ=environ)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def organisation(server) -> None:
    """o/r, an organisation's repository whose tag ruleset lets the GitHub Actions app (the
    token) through."""
    server.route(
        "/repos/o/r", 200, json.dumps({"full_name": "o/r", "owner": {"type": "Organization"}})
    )
    server.route("/repos/o/r/rulesets", 200, "[]")


@pytest.mark.parametrize(
    ("tag", "where"),
    [
        ("v0.2.0", ("d", "main (at")),  # on a commit main does not contain
        ("v1.0.0", ("v014", "it does not descend from the earlier release v0.1.5")),  # old code
    ],
)
def test_a_stray_tag_is_said_then_removed_only_with_yes(history, capsys, server, tag, where):
    commit, why = where
    history.tag(tag, getattr(history, commit))
    organisation(server)
    server.route(f"/repos/o/r/git/refs/tags/{tag}", 204, "")
    code, out, _ = remove_tag(capsys, history, server, "--tag", tag)
    assert code == 0
    assert f"{tag} (commit {getattr(history, commit)}) is a stray: " in out
    assert why in out
    assert f"gh workflow run release.yml --ref main -f remove-tags='{tag}'" in out
    assert not [call for call in server.requests if call[0] == "DELETE"]
    code, out, _ = remove_tag(capsys, history, server, "--tag", tag, "--yes")
    assert code == 0
    assert f"removed {tag} with the token" in out
    assert ("DELETE", f"/repos/o/r/git/refs/tags/{tag}") in server.requests


def rolled_back(history: History) -> None:
    """Issue 69, bar 3: main reset on purpose to v0.1.3's commit, v0.1.4 and v0.1.5 above it."""
    history.repo.git("tag", "--delete", "v0.1.4", "v0.1.5")
    history.tag("v0.1.3", history.v014)
    history.tag("v0.1.4", history.a)
    history.tag("v0.1.5", history.b)
    history.repo.move_branch(history.v014)


@pytest.mark.parametrize(
    ("event", "commit"),
    [("push", "v014"), ("schedule", "v014"), ("push", "new")],
    ids=["the reset itself", "the schedule", "a push on the reset main"],
)
def test_a_rolled_back_main_names_the_tags_above_it_not_its_own(history, capsys, event, commit):
    rolled_back(history)
    if commit == "new":
        history.repo.checkout(history.v014)
        head = history.repo.commit("work on the rolled-back main")
        history.repo.move_branch(head)
    else:
        head = getattr(history, commit)
    code, _, said = run(capsys, history, head, event, MAIN)
    assert code == 1
    assert "v0.1.4, v0.1.5 are not in order on main" in said, said
    assert "remove-tags='v0.1.4 v0.1.5'" in said
    assert "--tag v0.1.4 --tag v0.1.5" in said
    assert "v0.1.3 must go" not in said
    assert "remove-tags='v0.1.3" not in said


def test_the_tags_a_rolled_back_main_names_are_the_ones_removal_accepts(history, capsys, server):
    rolled_back(history)
    organisation(server)
    code, out, _ = remove_tag(capsys, history, server, "--tag", "v0.1.4 v0.1.5")
    assert code == 0, out
    assert f"v0.1.4 (commit {history.a}) is a stray: main (at {history.v014})" in out
    assert f"v0.1.5 (commit {history.b}) is a stray" in out
    code, _, err = remove_tag(capsys, history, server, "--tag", "v0.1.3,v0.1.5", "--yes")
    assert code == 1
    assert "v0.1.3 is a release on main that descends from every earlier one" in err
    assert not [call for call in server.requests if call[0] == "DELETE"], "none of them removed"


@pytest.mark.parametrize("tag", ["v0.1.5", "v0.1.4", "v9.9.9", "nightly"])
def test_a_release_in_order_or_no_release_tag_is_never_removed(history, capsys, server, tag):
    if tag == "nightly":
        history.tag(tag, history.c)
    code, out, err = remove_tag(capsys, history, server, "--tag", tag, "--yes")
    assert code == 1
    assert "removed" not in out
    assert not [call for call in server.requests if call[0] == "DELETE"]
    said = {
        "v0.1.5": "is a release on main that descends from every earlier one",
        "v0.1.4": "is a release on main that descends from every earlier one",
        "v9.9.9": "no such tag on the remote",
        "nightly": "is not a release tag",
    }[tag]
    assert said in err
