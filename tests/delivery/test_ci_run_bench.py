"""bench/ci_run's side by side (issue 120's CI bar) on a `.ci/run` of a second's CPU: two runs at
once, each with buildah storage, a temporary folder and caches of its own, CPU seconds compared."""

from __future__ import annotations

import json

import pytest

from bench.ci_run import main
from tests.release.scratch_git import ScratchRepo

# The paths a run could share with another, then work: about a quarter of a CPU second a unit.
RUN = 'echo $$TMPDIR $$CONTAINERS_STORAGE_CONF $$XDG_CACHE_HOME; python3 -c "sum(range({}*10**7))"'


@pytest.mark.slow
@pytest.mark.parametrize("stages", [[], ["--stages"]])  # .ci/run, or its make targets in turn
def test_two_runs_at_once_share_no_state_and_ours_is_a_fraction_of_the_cpu(tmp_path, stages):
    (tmp_path / "repo" / ".ci").mkdir(parents=True)
    repo = ScratchRepo(tmp_path / "repo")
    (repo.path / ".ci" / "run").write_text("make image-test")  # the others do nothing
    for work in (4, 1):  # theirs (d8b98b5's, say), then ours (HEAD): a quarter of its work
        (repo.path / "Makefile").write_text(f"image-test:\n\t@{RUN.format(work)}\n%:\n\t@:\n")
        repo.git("add", ".")
        repo.commit(str(work))
    reports = ["--source", str(repo.path), "--reports", str(tmp_path)]
    assert main(["--side-by-side", "HEAD~1", *reports, *stages]) == 0
    assert 0.1 < json.loads((tmp_path / "side-by-side.json").read_text())["cpu_ratio"] < 0.6
    logs = tmp_path.glob("side-by-side/*/*.log")
    paths = " ".join(log.read_text() for log in logs).split()
    assert len(set(paths)) == len(paths) == 6  # three each (ours, theirs), none the other's
