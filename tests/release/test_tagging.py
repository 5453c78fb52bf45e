"""Creating the release tag, unless it exists: a re-run whose earlier attempt made the tag goes
on; a tag on another commit stops it (the workflow runs the rest: test_workflow_runs.py)."""

from __future__ import annotations

import pytest

from tests.release.scratch_git import ScratchRepo
from tools.release.github import GitHub
from tools.release.tagging import TagError, create_tag

NOWHERE = GitHub("http://127.0.0.1:9", "octo/cryptopredict", "t")


@pytest.fixture
def repo(tmp_path, monkeypatch) -> ScratchRepo:
    monkeypatch.chdir(tmp_path)
    repo = ScratchRepo(tmp_path)
    repo.commit("a", tag="v0.1.0")
    return repo


def test_a_tag_naming_this_commit_already_is_left_as_it_is(repo):
    head = repo.git("rev-parse", "HEAD")
    said = create_tag("v0.1.0", head, NOWHERE, key="k")
    assert said == f"v0.1.0 already names {head} (an earlier attempt of this run made it)"


def test_a_tag_naming_another_commit_stops_the_job(repo):
    old = repo.git("rev-parse", "HEAD")
    new = repo.commit("b")
    with pytest.raises(TagError, match=f"v0.1.0 exists and names {old}, not this run's {new}"):
        create_tag("v0.1.0", new, NOWHERE, key="")
