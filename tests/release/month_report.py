"""What a simulated month (tests/release/month.py) showed, judged as issue 82's first bar asks:
production's data age hour by hour, each push's arrival in production, each fault healed by the
next cycle or said in the job summary and the one repository issue within one cycle, and the
track record's issues against the releases made; written as JSON and a plot."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptopredict.artifact.record import read_records
from tests.release.month_build import LOGIN
from tests.release.month_tools import image_files
from tests.release.month_world import (
    CYCLE_HOURS,
    CYCLE_MINUTE,
    FRESH_HOURS,
    HOUR,
    KINDS,
    NAME,
    START_ANEW,
    Fault,
    iso,
)

if TYPE_CHECKING:
    from tests.release.month import Month, RunRecord

TRANSIENT = [kind for kind, (_, words) in KINDS.items() if words == "re-run"]


def report(month: Month, script: str) -> dict[str, Any]:
    hours = month.cycles * CYCLE_HOURS
    ages = []
    for hour in range(hours):
        serving = month.world.production(month.at(hour))
        age = None if serving is None else (month.at(hour) - serving.data_until) / HOUR
        ages.append(age)
    fresh = [age is not None and age <= FRESH_HOURS for age in ages]
    pushes = [judge_push(month, when, commit) for when, commit in month.pushes[1:]]
    released = releases_made(month)
    carried = [b.build_tag for b in month.world.builds.values() if b.source == "carried"]
    issued = [tag for tag in released if tag not in carried]  # a carried pair issues nothing
    record = final_record(month)
    faults = [judge(month, fault) for fault in month.faults]
    fresh_share = round(sum(fresh) / hours, 4)
    owners = {r.label: r for r in month.runs}
    failed = [  # each release run that failed, and whether the run that started it is red
        [r.label, r.started_by, owners[r.started_by].results.get("dispatch") == "failure"]
        for r in month.runs
        if r.started_by and {"failure", "cancelled"} & set(r.results.values())
    ]
    holds = bar(fresh_share, pushes, faults, record == issued, failed)
    return {
        "script": script,
        "bar_1": holds,
        "cycles": month.cycles,
        "hours": hours,
        "fresh_share": fresh_share,
        "stale_hours": [hour for hour, ok in enumerate(fresh) if not ok],
        "pushes_within_two_cycles": holds["pushes_within_two_cycles"],
        "record_issues_equal_releases": holds["record_issues_equal_releases"],
        "record_issues": len(record),
        "releases": len(released),
        "releases_not_in_record": [tag for tag in issued if tag not in record],
        "faults": faults,
        "faults_never_struck": [
            f"{f['kind']} at hour {f['hour']:g}" for f in faults if f["ok"] is None
        ],
        "needs_a_person_unmarked": [f["kind"] for f in faults if f["needs_a_person_unmarked"]],
        "pushes": pushes,
        "deploys": [
            [month.world.hour(at), month.world.builds[digest].build_tag]
            for at, digest in month.world.deploys
        ],
        "builds": [  # each build's hour, tag, source, newest bar's close and Binance's hosts
            [month.world.hour(b.built_at), b.build_tag, b.source, iso(b.data_until), b.hosts]
            for b in month.world.builds.values()
        ],
        "data_age": [
            [hour, None if age is None else round(age, 2)] for hour, age in enumerate(ages)
        ],
        "releases_failed": failed,
        "issues": {
            "opened": sum(1 for event in month.issue_events if event["what"] == "opened"),
            "mentions": sum(event.get("mentions", 0) for event in month.issue_events),
            "open_at_end": [i["number"] for i in month.world.issues.open()],
            "events": month.issue_events,
        },
        "runs": [
            {
                "run": r.label,
                "released": r.released,
                "failed": r.failure[:300],
                "minutes": r.minutes,
                "jobs": {job: result for job, result in r.results.items() if result != "skipped"},
            }
            for r in month.runs
        ],
    }


def bar(
    fresh_share: float,
    pushes: list[dict],
    faults: list[dict],
    record_equals_releases: bool,
    releases_failed: list[list] = [],  # noqa: B006
) -> dict[str, bool]:
    """Issues 82's and 93's first bar, part by part, and whether it holds: a fault that never
    struck proves nothing, and one that advises starting the record anew loses it; and issue
    112's, each release run that failed makes the owner's run that started it red."""
    holds = {
        "owners_run_red_when_its_release_failed": all(red for *_, red in releases_failed),
        "fresh_share_at_least_0.95": fresh_share >= 0.95,
        "pushes_within_two_cycles": all(p["within_two_cycles"] is not False for p in pushes),
        "every_fault_struck": all(f["ok"] is not None for f in faults),
        "every_fault_healed_or_said": all(f["ok"] is not False for f in faults),
        "none_advises_starting_anew": not any(f.get("advises_starting_anew") for f in faults),
        "record_issues_equal_releases": record_equals_releases,
        "nothing_needs_a_person_unmarked": not any(f["needs_a_person_unmarked"] for f in faults),
    }
    return {**holds, "holds": all(holds.values())}


def releases_made(month: Month) -> list[str]:
    """The build tags of the images their own build tag was pointed at (a release published),
    in the order they were built."""
    tagged = {tag for _, tag, _ in month.world.tag_moves}
    builds = sorted(month.world.builds.values(), key=lambda build: build.built_at)
    return [build.build_tag for build in builds if build.build_tag in tagged]


# The faults that stop a push's release until the owner acts: the audit gates a push while an
# advisory names a pin, and a revert that undoes its bump.
HOLD_PUSHES = ("advisory", "rollback")


def judge_push(month: Month, when: float, commit: str) -> dict[str, Any]:
    """When production first served a push (an image built from it or a descendant), judged
    from the push, or from when the owner acted where a fault the script marks for a person
    held it back."""
    held = [
        month.at(f.hour + f.spec["person"]["after_hours"])
        for f in month.faults
        if f.kind in HOLD_PUSHES
        and "person" in f.spec
        and month.at(f.hour) <= when < month.at(f.hour + f.spec["person"]["after_hours"])
    ]
    since = max([when, *held])
    arrived = next(
        (
            at
            for at, digest in month.world.deploys
            if at >= when and month.descends(month.world.builds[digest].sha, commit)
        ),
        None,
    )
    gone = not month.descends(month.main(), commit)  # rolled back on purpose
    hours = None if arrived is None else round((arrived - when) / HOUR, 2)
    late = month.at(month.cycles * CYCLE_HOURS) - since < 2 * CYCLE_HOURS * HOUR
    within = (
        None
        if gone or (arrived is None and late)
        else arrived is not None and arrived - since <= 2 * CYCLE_HOURS * HOUR
    )
    return {
        "hour": month.world.hour(when),
        "commit": commit[:12],
        "in_production_after_hours": hours,
        "held_for_the_owner_until": month.world.hour(since) if held else None,
        "rolled_back": gone,
        "within_two_cycles": within,
    }


def judge(month: Month, fault: Fault) -> dict[str, Any]:
    """A fault with what healed it (a run that released by the next cycle, after the fault's
    end for an outage of `hours`) or where it was said (the job summary and an open repository
    issue, in a run by that cycle)."""

    kind, spec = fault.kind, fault.spec
    entry: dict[str, Any] = {"kind": kind, "hour": fault.hour, "struck": fault.hits[:3]}
    if "person" in spec:
        entry["person"] = {**spec["person"], "did": fault.person}
    if not fault.hits:
        return {
            **entry,
            "ok": None,
            "healed_by": None,
            "said_in": [],
            "needs_a_person_unmarked": False,
            "note": "never struck: nothing called what it targets",
        }
    hit = fault.hits[0]
    runs = [r for r in month.runs if r.start >= month.at(hit["hour"]) - 60]
    first = next((r for r in runs if r.label == hit["run"]), runs[0] if runs else None)
    struck = first.start if first else month.at(hit["hour"])
    if spec.get("hours"):  # an outage of hours: the next cycle after it ends
        struck = max(struck, month.at(fault.hour + spec["hours"]))
    # The next cycle after the strike: its scheduled run, and the run on the tag it starts.
    cycle = int(((struck - month.world.start) / HOUR - CYCLE_MINUTE + 1e-6) // CYCLE_HOURS + 1)
    deadline = month.at(cycle * CYCLE_HOURS + CYCLE_MINUTE) + HOUR / 2
    window = [r for r in runs if r.start <= deadline]
    healed = healer(month, kind, spec, first, window)
    words = said_words(month, fault, first)
    said = []
    summary = next((r for r in window if mentions(r.summary, words)), None)
    if summary:
        said.append(f"job summary ({summary.label})")
    issue = next((r for r in window if any(mentions(t, words) for t in r.issues)), None)
    # Issues off: the job that had it to say failed red naming why, and GitHub mails that
    refused = next((r for r in window if re.search("::error.*Issues are disabled", r.said)), None)
    if issue:
        said.append(f"repository issue (open after the {issue.label})")
    elif refused:
        said.append(f"a red run, GitHub refusing the issue ({refused.label})")
    page = next((r for r in window if mentions(r.said, words)), None)
    if page:  # the run's page: GitHub's email of a failed run leads there, but no issue
        entry["said_on_the_run_page"] = page.label
    advice = kind in TRANSIENT and first is not None and START_ANEW.search(first.failure)
    entry.update(healed_by=healed, said_in=said)
    if advice:
        entry["advises_starting_anew"] = first.label
    if first is not None and first.failure and not healed:
        entry["failure"] = first.failure[-400:]
    entry["ok"] = bool(healed) or len(said) == 2 or (kind == "issues-disabled" and bool(refused))
    if kind == "attestation-outage" and first is not None and not first.released:
        entry["ok"] = bool(healed) and (len(said) == 2 or bool(refused))  # said, and healed
    if kind == "rollback" and "person" in spec:  # issue 112: one topic, one mention
        starts = {r.label: r.start for r in month.runs}
        until = month.at(fault.hour + spec["person"]["after_hours"])
        told = [e for e in month.issue_events if struck - 60 <= starts[e["run"]] < until]
        entry["issues_opened"] = sum(event["what"] == "opened" for event in told)
        entry["mentions"] = sum(event.get("mentions", 0) for event in told)
        entry["ok"] &= entry["issues_opened"] <= 1 and entry["mentions"] <= 1
    entry["needs_a_person_unmarked"] = not healed and "person" not in spec
    return entry


def said_words(month: Month, fault: Fault, first: RunRecord | None) -> list[str]:
    """What names the fault where the owner reads, as patterns: its kind's words, the
    advisory's id, the commit of a failed push (its first 12 digits or more), the digest of a
    publish cut short; each a word of its own, never a part of another (`Admin`, not
    `Administration`)."""
    if fault.kind == "advisory":
        return [rf"\b{re.escape(str(fault.spec['id']))}\b"]
    if fault.kind == "failed-push" and first is not None:
        return [rf"\b{first.sha[:12]}"]
    if fault.kind == "publish-cancelled" and first is not None:
        built = [b for b in month.world.builds.values() if b.built_at == first.start]
        return [rf"\b{re.escape(build.digest)}\b" for build in built]
    return [rf"(?<!\w){re.escape(KINDS[fault.kind][1])}(?!\w)"]


def mentions(text: str, words: list[str]) -> bool:
    """Whether `text` says one of `words` (said_words' patterns), in any case."""
    return any(re.search(word, text, re.IGNORECASE) for word in words)


def healer(
    month: Month, kind: str, spec: dict[str, Any], first: RunRecord | None, window: list[RunRecord]
) -> str | None:
    """The run that undid the fault's effect by the next cycle, if one did."""
    if first is None or kind in ("advisory", "retention-refusal"):
        return None  # a person's decision: said, never healed by a run
    if "person" in spec and kind not in ("rollback", "schedule-off"):  # those a run heals once
        return None  # the owner acted (schedule-off: setup enabled the workflow, as it says)
    if kind == "render-cold-start":  # woken within its run: one mail per real event, none here
        stale = any("### production-stale" in text for r in window for text in r.issues)
        return None if stale else f"woken within its own run ({first.label}), nothing said"
    if kind in ("failed-push", "rollback") or first.event == "push":
        done = next(
            (r for r in window if r.released and month.descends(r.released_sha, first.sha)), None
        )
        return None if done is None else f"{done.label}, which released {done.released}"
    if first.released:
        return f"retried within its own run ({first.label}), which released {first.released}"
    done = next((r for r in window if r.released and r.start >= first.start), None)
    return None if done is None else f"{done.label}, which released {done.released}"


def write(result: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "month.json").write_text(json.dumps(result, indent=1) + "\n")
    plot(result, out / "month.html")
    print(summary(result))


def summary(result: dict[str, Any]) -> str:
    bar = result["bar_1"]
    lines = [
        f"bar 1 {'holds' if bar['holds'] else 'does not hold'}: "
        + ", ".join(f"{part} {ok}" for part, ok in bar.items() if part != "holds"),
        f"fresh_share {result['fresh_share']:.4f} ({len(result['stale_hours'])} of "
        f"{result['hours']} hours older than 12 h), {result['record_issues']} record issues, "
        f"{result['releases']} releases",
    ]
    if result["faults_never_struck"]:
        lines.append(f"never struck: {', '.join(result['faults_never_struck'])}")
    for fault in result["faults"]:
        verdict = {True: "ok", False: "NOT HEALED AND NOT SAID", None: "never struck"}[fault["ok"]]
        page = "on the run's page only" if fault.get("said_on_the_run_page") else "nowhere"
        how = fault["healed_by"] or (", ".join(fault["said_in"]) or page)
        person = " (the script marks a person)" if "person" in fault else ""
        lines.append(f"  {fault['kind']} at hour {fault['hour']:g}: {verdict}: {how}{person}")
        if fault.get("advises_starting_anew"):
            lines.append("    advises starting the track record anew")
    return "\n".join(lines)


def plot(result: dict[str, Any], path: Path) -> None:
    """Production's data age hour by hour; each deploy and push along the bottom, each fault
    where it struck (green healed or said, red neither, grey never struck)."""
    import plotly.graph_objects as go

    figure = go.Figure()
    ages = result["data_age"]
    figure.add_scatter(
        x=[h for h, _ in ages],
        y=[a for _, a in ages],
        mode="lines",
        name="production's data age (h)",
        line={"shape": "hv"},
    )
    for name, rows, symbol in (
        ("deploys", result["deploys"], "circle"),
        ("pushes", [[p["hour"], p["commit"]] for p in result["pushes"]], "triangle-up"),
    ):
        figure.add_scatter(
            x=[h for h, _ in rows],
            y=[0] * len(rows),
            mode="markers",
            name=name,
            marker_symbol=symbol,
            hovertext=[t for _, t in rows],
        )
    figure.add_hline(y=FRESH_HOURS, line_dash="dash", annotation_text=f"{FRESH_HOURS} h")
    for fault in result["faults"]:
        hour = fault["struck"][0]["hour"] if fault["struck"] else fault["hour"]
        color = {True: "green", False: "red", None: "gray"}[fault["ok"]]
        figure.add_vline(
            x=hour,
            line_color=color,
            line_dash="dot",
            annotation_text=fault["kind"],
            annotation_textangle=-90,
        )
    figure.update_layout(
        title=f"A month of releases ({result['script']}): {result['fresh_share']:.1%} of hours "
        f"fresh, {result['releases']} releases",
        xaxis_title="hour of the month",
        yaxis_title="hours since production's newest bar",
        template="plotly_white",
        height=520,
        width=1400,
        xaxis_range=[0, result["hours"]],
    )
    figure.write_html(path, include_plotlyjs=True)


def final_record(month: Month) -> list[str]:
    """The model versions of the issues BTC/USD's record in production holds at the month's
    end."""
    serving = month.world.production(month.at(month.cycles * CYCLE_HOURS))
    if serving is None:
        return []
    with tempfile.TemporaryDirectory() as scratch:
        for name, data in image_files(
            f"ghcr.io/{NAME}@{serving.digest}",
            LOGIN,
            month.world.registry.url,  # no fault
        ).items():
            target = Path(scratch) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        record = (read_records(Path(scratch) / "app" / "artifacts") or {}).get("btc-usd")
    return [issue.model_version for issue in record.issues] if record else []
