"""Which runs may go on to a step that reads a secret: main's release runs, per the live remote."""

from __future__ import annotations

from tools.release.lineage import Git, LineageError, check_on_branch
from tools.release.plan import check_release_tag
from tools.release.version import Version


def admit_run(
    ref: str, commit: str, planned_tag: str, git: Git, *, main: str, branch: str, tagged: bool
) -> str:
    """A line for the log saying why this run may go on; LineageError when it may not."""
    head = git.commit("HEAD")
    if head != commit:
        raise LineageError(
            f"refusing this run: its checkout is commit {head}, the version job planned {commit}"
        )
    planned = Version.from_tag(planned_tag)
    if planned is None:
        raise LineageError(f"refusing this run: the version job planned {planned_tag!r}, no vX.Y.Z")
    tags = git.tags()
    if ref == f"refs/heads/{branch}":
        check_on_branch(commit, f"this run of {branch}", main, branch, git)
        said = f"{branch} (live at {main}) contains commit {commit}"
    elif ref.startswith("refs/tags/"):
        name = ref.removeprefix("refs/tags/")
        if name != planned_tag:
            raise LineageError(
                f"refusing the run on tag {name}: the release runs only on the release tag its "
                f"version job planned ({planned_tag}), and only a release tag reaches production"
            )
        check_release_tag(planned, tags, git, main, branch)
        said = f"{name} is the newest release and {branch} (live at {main}) contains it"
    else:
        raise LineageError(
            f"refusing the run on {ref}: only {branch} and the release tags reach a step that "
            "reads the release's secrets or the deploy hook"
        )
    if tagged or ref.startswith("refs/tags/"):
        if planned_tag not in tags:
            raise LineageError(f"refusing this run: the remote has no tag {planned_tag}")
        named = git.commit(f"refs/tags/{planned_tag}")
        if named != commit:
            raise LineageError(
                f"refusing this run: the remote's {planned_tag} is commit {named}, not this "
                f"run's {commit}. It moved since the run started: start a new run"
            )
        check_release_tag(planned, tags, git, main, branch)
        said += f"; the remote's {planned_tag} names it and is the newest release"
    return f"{ref} admitted: {said}"
