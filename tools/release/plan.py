"""What one release run builds and publishes, from its event, ref, history and tags, and which runs
may go on to a step that reads a secret: main's release runs, per the live remote."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tools.release.lineage import (
    Git,
    LineageError,
    check_descends,
    check_on_branch,
    strays_must_go,
)
from tools.release.previous import Held
from tools.release.version import Release, Version, bump_for, latest_version


@dataclass(frozen=True)
class RunPlan:
    release: Release
    build: bool  # this run tests, builds and smoke-tests its own commit
    publish: bool  # ... then attests its provenance, moves the tags and deploys it
    dispatch: str = ""  # a release tag to rebuild in a run on that tag, when this run builds none
    superseded_by: str = ""  # a newer release made this run's tag's rebuild a no-op
    # main's untagged head, descending from the newest release: released by this run (publish),
    # or left for the owner after GIVE_UP failed releases (dispatch: the tag is rebuilt instead)
    stranded: str = ""


# A scheduled run stops retrying main's stranded head after this many failed releases of it.
GIVE_UP = 2


def plan_run(
    *,
    event: str,
    ref: str,
    head_message: str,
    tags: Iterable[str],
    head_tags: Iterable[str],
    first: Version,
    git: Git,
    main: str,
    branch: str = "main",
    registry: Held,
    failures: Callable[[str], int] = lambda commit: 0,
) -> RunPlan:
    """The plan for a run of `event` on `ref`; LineageError when it must stop before a build."""
    tags = list(tags)
    above = max(registry.versions, default=None)
    latest = latest_version(tags)
    head = git.commit("HEAD")
    if ref == f"refs/heads/{branch}":
        check_on_branch(head, "HEAD", main, branch, git)
        if latest is None:
            new = first if above is None or first > above else above.bump(bump_for(head_message))
            return RunPlan(Release(new, True), build=True, publish=True)
        tagged = latest_version(head_tags)
        newest = latest if above is None else max(latest, above)
        if event != "push":
            check_release_tag(latest, tags, git, main, branch)
            return _not_pushed(
                event, latest=latest, newest=newest, tagged=tagged, git=git, failures=failures
            )
        if tagged is not None or git.commit(f"refs/tags/{latest.tag}") == head:
            rebuilt = latest if tagged is None else tagged
            check_release_tag(rebuilt, tags, git, main, branch)
            _check_not_below_latest(rebuilt, registry, branch)
            return RunPlan(Release(rebuilt, create_tag=False), build=True, publish=True)
        check_descends(latest.tag, head, git, main=main, branch=branch)
        return RunPlan(Release(newest.bump(bump_for(head_message)), True), True, True)
    if ref.startswith("refs/tags/"):
        plan = _tag_run(ref.removeprefix("refs/tags/"), tags, head, git, main=main, branch=branch)
        if plan.publish:
            _check_not_below_latest(plan.release.version, registry, branch)
        return plan
    # A manual run on another branch: a trial of its head, published nowhere.
    return RunPlan(Release(latest or first, create_tag=False), build=True, publish=False)


def _not_pushed(
    event: str,
    *,
    latest: Version,
    newest: Version,
    tagged: Version | None,
    git: Git,
    failures: Callable[[str], int],
) -> RunPlan:
    """A scheduled or manual run on the release branch: its stranded head, or the newest tag."""
    head = git.commit("HEAD")
    tag_commit = git.commit(f"refs/tags/{latest.tag}")
    if tagged is not None or tag_commit == head or not git.is_ancestor(tag_commit, head):
        return RunPlan(Release(latest, create_tag=False), False, False, latest.tag)
    if event == "schedule" and failures(head) >= GIVE_UP:
        return RunPlan(Release(latest, create_tag=False), False, False, latest.tag, stranded=head)
    bump = bump_for(git.message("HEAD"))
    return RunPlan(Release(newest.bump(bump), create_tag=True), True, True, stranded=head)


def _check_not_below_latest(version: Version, registry: Held, branch: str) -> None:
    """LineageError when `latest` holds a higher version than the rebuild of `version`."""
    if registry.latest is not None and registry.latest > version:
        raise LineageError(
            f"refusing to release {version}: `latest` is already {registry.latest} in the "
            f"registry, and it must not go back to older code. Push to {branch}: its release is "
            "numbered above every version the registry holds"
        )


def _tag_run(name: str, tags: list[str], head: str, git: Git, *, main: str, branch: str) -> RunPlan:
    """A run on release tag `name`: its rebuild, or nothing when a newer release overtook it."""
    on_tag = Version.from_tag(name)
    if on_tag is None:
        raise LineageError(f"{name} is not a release tag (vX.Y.Z): nothing to rebuild")
    latest = latest_version(tags)
    if latest is not None and on_tag < latest:
        # A rebuild a newer release overtook (pushed while it waited in the queue): that release
        # serves the newer code already; there is nothing to do.
        return RunPlan(Release(on_tag, False), False, False, superseded_by=latest.tag)
    check_release_tag(on_tag, tags, git, main, branch)
    if git.commit(f"refs/tags/{name}") != head:
        raise LineageError(
            f"refusing {name}: the remote's {name} is commit {git.commit(f'refs/tags/{name}')}, "
            f"not this run's {head}. It moved since the run started: start a new run"
        )
    return RunPlan(Release(on_tag, create_tag=False), build=True, publish=True)


def check_release_tag(
    version: Version, tags: Iterable[str], git: Git, main: str, branch: str
) -> None:
    """LineageError unless release tag `version` may be (re)built and published."""
    tags = list(tags)
    latest = latest_version(tags)
    tag = version.tag
    if latest is not None and version < latest:
        raise LineageError(
            f"refusing {tag}: the latest release is {latest.tag}, and a lower tag would put "
            f"older code out as `latest`. {strays_must_go(tag, git, main, branch)}"
        )
    commit = git.commit(f"refs/tags/{tag}")
    check_on_branch(commit, tag, main, branch, git)
    for other in sorted({v for v in map(Version.from_tag, tags) if v is not None and v < version}):
        other_commit = git.commit(f"refs/tags/{other.tag}")
        if not git.is_ancestor(other_commit, commit):
            raise LineageError(
                f"refusing {tag} (commit {commit}): it does not descend from the earlier release "
                f"{other.tag} (commit {other_commit}), so releasing it would drop what "
                f"{other.tag} holds. A tag made by hand on older code, before the tag ruleset? "
                f"{strays_must_go(tag, git, main, branch)}"
            )


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
