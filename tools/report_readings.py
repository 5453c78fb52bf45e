"""The model page's readings: sentences whose figures come from the files the tables read."""

from __future__ import annotations

import math

from cryptopredict.api.serving.verdict import listed
from cryptopredict.standard_error import MeanSE
from tools.peers import CALIBRATED, ROWS

LEVELS = ("50", "80", "95")
VERDICTS = {
    "better": "lower than the naive band's beyond the critical value",
    "worse": "higher than the naive band's beyond the critical value",
    "tie": "a tie with the naive band's",
    "too few windows": "on too few windows for a verdict",
}
PEER_NAMES = {
    "served": "served",
    "garch-t": "GARCH-t",
    "garch-t-normal": "GARCH-t with normal quantiles",
    "ewma": "EWMA",
    "fhs": "FHS",
    "har-rv": "HAR-RV",
    "har-rv-empirical": "HAR-RV with empirical quantiles",
    "range-garch": "range-GARCH",
}
OFF = 2.5  # standard errors from 80% beyond which a peer's 80% coverage is said to be off


def peer_name(key: str) -> str:
    name, calibrated, _ = key.partition(CALIBRATED)
    return PEER_NAMES[name] + (" calibrated" if calibrated else "")


def coverage_off(peer: dict) -> str:
    """Whether a band's 80% coverage is beyond `OFF` SEs of 80%: too wide or too narrow."""
    z = (peer["coverage_80"] - 0.8) / peer["coverage_80_se"]
    return "" if abs(z) <= OFF else "too wide" if z > 0 else "too narrow"


def backtest_reading(report: dict) -> str:
    """Per horizon, the served band against naive's, its verdict and its coverage."""
    summary = report["summary"]
    lines = []
    for label in [each for each in ("1h", "1d", "7d", "30d") if summary.get(each) is not None]:
        found = summary[label]
        versus, served = found["prophet_vs_naive"], found["prophet"]
        diff, se = versus["interval_score_diff"], versus["interval_score_se"]
        fifths = " / ".join(
            f"{cell['coverage']:.1%}" for cell in served["coverage_by_width_quintile"]["80"]
        )
        lines.append(
            f"- **{label}**: the 80% interval score {versus['interval_score_relative']:+.1%} "
            f"against the naive band's, {VERDICTS[versus['verdict']]} (difference {diff:+.5f}, "
            f"SE {se:.5f}, {_z(diff, se)} standard errors; one-sided 95% bound "
            f"{versus['interval_score_relative_bound']:+.1%}); coverage "
            f"{_levels(served['coverage_by_level'], served['coverage_se_by_level'])}; the 80% "
            f"band by fifth of its width, narrowest first, {fifths}."
        )
    hindcast = report.get("hindcast")
    if hindcast:
        held = " / ".join(f"{hindcast['coverage_by_level'][level]:.1%}" for level in LEVELS)
        lines.append(
            f"- **Over the whole history**: the hindcast's 50 / 80 / 95% bands hold {held} of "
            f"the {hindcast['bars']} closes of the last {hindcast['days']} days."
        )
    return "\n".join(lines)


def panel_timing(panel: dict) -> str:
    minutes, seconds = divmod(panel["seconds"], 60)
    load = panel.get("load_average")
    said = f"`make panel` took {minutes} min {seconds} s on a two-core machine"
    if load is None:
        return said + "."
    return (
        f"{said} (load average over the last minute {load['start'][0]:.2f} at its start and "
        f"{load['end'][0]:.2f} at its end, over the last 15 minutes {load['end'][2]:.2f})."
    )


def panel_reading(panel: dict, band: list[str]) -> str:
    """The damping chosen, and the band's settings (`band`: its name's parts), one a line."""
    damping = panel["damping"]
    better = sum(c["verdict"] == "lower" for c in damping["candidates"])
    chosen = damping["chosen"]
    tau = "none (undamped)" if chosen is None else f"{chosen:g}"
    parts = "\n".join(f"- {part}" for part in band)
    return (
        f"**Tau {tau} serves every pair**: {better} of the {len(damping['candidates'])} "
        "dampings that keep some of Prophet's move are better than the last close beyond the "
        f"critical value. **The band** every pair serves:\n\n{parts}"
    )


SPANS = {"pooled": "the evaluation origins", "final_test_pooled": "the final test"}
VERSUS = {"lower": "lower", "tie": "a tie", "higher": "higher"}
STANDS = {"lower": "ahead", "tie": "a tie", "higher": "behind"}  # the served band against a peer
FINAL_TEST = (
    "The final test is each pair's newest half year of origins: the panel chooses nothing on "
    "it, but earlier panels scored those origins as evaluation origins, so it is no unseen test."
)
WIDE = {
    "validation": "the validation origins",
    "evaluation": "the evaluation origins",
    "final_test": "the final test",
}


def card(panel: dict, page: str = "") -> str:
    """Where the band's 80% interval score is lower than the naive band's beyond the critical
    value and where it ties, by the one rule (`tied`), its coverage at 80 and 95%, and where it
    stands against the strongest peer (its verdict, by the same rule), on the evaluation
    origins and the final test, with figures (links to the model page `page`'s tables)."""
    naive = []
    for label in panel["pooled"]:
        words = [VERSUS.get(tied(panel[span][label]).verdict(), "") for span in SPANS]
        figures = "; ".join(_relative(panel[span][label]) for span in SPANS)
        naive.append(f"{_where(words)} at {label} ({figures})")
    peers = []
    for label, found in panel["peers"].items():
        best = strongest(found)
        both = (found[best], panel["final_test"][label][best])
        words = [STANDS.get(each["verdict"], each["verdict"]) for each in both]
        figures = "; ".join(_points(each) for each in both)
        peers.append(f"{_where(words)} at {label} ({peer_name(best)}: {figures})")
    pairs = next(iter(panel["pooled"].values()))["pairs"]
    held = "; ".join(
        ", ".join(f"{_covered(found)} at {label}" for label, found in panel[span].items())
        + f" on {said}"
        for span, said in SPANS.items()
    )
    return (
        f"Pooled over {pairs} spot pairs, on the evaluation origins and on the final test, the "
        f"band's 80% interval score against the naive band's is {'; '.join(naive)} ([the "
        f"pairs]({page}#every-spot-pair-the-panel)).\n\nA difference within its critical value "
        "is a tie: two standard errors, or Student's t's two-sided 95% critical value at the "
        "figure's degrees of freedom where few independent windows make that larger (said "
        "beside the figure; its `relative`, `relative_se` and `df` in `docs/panel.json`). "
        f"{FINAL_TEST}\n\nThe 80% and 95% bands cover {held}.\n\n"
        f"Against the strongest of the {len(ROWS)} peers at each horizon (the lowest score on "
        f"the evaluation origins), in points of naive's, by the same rule, the band is "
        f"{'; '.join(peers)} ([the peers]({page}#peers-on-the-bands-own-footing)).\n\n"
        f"{_where_wide(panel, page)}"
    )


def tied(figures: dict) -> MeanSE:
    """A pooled figure of `docs/panel.json` against naive, `relative` with its standard error
    and degrees of freedom, whose `verdict` is the one tie rule (`standard_error.MeanSE`)."""
    keys = ("relative", "relative_se", "origins", "lags", "df")
    return MeanSE(*(figures[key] for key in keys))


def _covered(figures: dict) -> str:
    held, se = figures["coverage"], figures["coverage_se"]
    return " and ".join(f"{held[k]:.1%} (SE {se[k] * 100:.2f})" for k in ("80", "95"))


def _where_wide(panel: dict, page: str) -> str:
    """Issue 111: an hour ahead, the 80% band's coverage in each fifth of its width where it
    was chosen, measured and tested, and where every fifth and every pair is within two SEs."""
    found = panel["where_wide"]
    fifths = "; ".join(
        " / ".join(
            f"{c['coverage']:.1%} (SE {c['se'] * 100:.1f})" for c in found[span]["width_fifths"]
        )
        + f" on {said}"
        for span, said in WIDE.items()
    )
    held = [said for span, said in WIDE.items() if found[span]["holds"]]
    return (
        f"An hour ahead, by fifth of its width (narrowest first), the 80% band covers {fifths}. "
        f"Every fifth and every pair is within two standard errors of 80% on "
        f"{'all three' if len(held) == len(WIDE) else _listed(held)}, the farthest fifth or pair "
        f"{listed([format(found[span]['largest_z'], '.1f') for span in WIDE])} standard errors "
        f"from it; the band was chosen on the validation origins alone ([where it is wide]"
        f"({page}#calibrated-where-it-is-wide))."
    )


def _where(words: list[str]) -> str:
    first, final = words
    return f"{first} on both" if first == final else f"{first}, but {final} on the final test"


def strongest(found: dict) -> str:
    return min(ROWS, key=lambda name: found[name]["relative"])


def _relative(figures: dict) -> str:
    critical = tied(figures).critical()
    larger = f", critical {critical:.2f}" if round(critical, 2) > 2 else ""
    return f"{figures['relative']:+.2%}, SE {figures['relative_se'] * 100:.2f}{larger}"


def rule_reading(panel: dict, simulation: dict) -> str:
    """The rule's thresholds, how often a calibrated band passes it, and what breaks it."""
    rule = panel["bars"]["rule"]
    return (
        f"**The rule**: every cell with enough windows within {rule['cell_z']:.1f} standard "
        f"errors of 80% (read as a normal score); each table's joint test at p >= "
        f"{rule['joint_p']:g}; the 1-day width fifths' trend within {rule['trend_z']:.2f}. "
        + simulation_reading(simulation)
    )


def simulation_reading(simulation: dict) -> str:
    panels, passed = simulation["panels"], simulation["passed"]
    share = passed / panels
    se = math.sqrt(share * (1 - share) / panels)
    broken = "; ".join(f"{kind} {count}" for kind, count in simulation["broken_by"].items())
    rejected = "; ".join(
        f"{table} {count / panels:.1%}"
        for table, count in simulation["joint_test_rejected_at_1pct"].items()
    )
    return (
        f"Over {panels} simulated panels (`python -m tools.simulated_panel`, seed "
        f"{simulation['seed']}) a band calibrated in every cell passes the rule in {passed} "
        f"({share:.1%}, binomial SE {se * 100:.1f} points).\n\nWhat broke it, panels each: "
        f"{broken or 'nothing'}. Read as normal z, without their degrees of freedom, the cells "
        f"alone would break it in {simulation['broken_reading_z_as_normal']} of the panels."
        f"\n\nEach table's joint test rejected the calibrated band at 1% in: {rejected or 'none'}."
    )


def monte_carlo(panel: dict) -> str:
    """GARCH-t's simulation error against the smallest standard error said of it."""
    chance = [
        _monte_carlo(label, found["garch-t"])
        for label, found in panel["peers"].items()
        if found["garch-t"]["monte_carlo"]["paths"]
    ]
    return (
        "**GARCH-t's simulation** (its Monte Carlo error, from the two halves of its paths, "
        f"against the smallest standard error said of it): {'; '.join(chance)}."
    )


def _points(figures: dict) -> str:
    diff, se = figures["served_minus_this"], figures["served_minus_this_se"]
    return f"{diff * 100:+.2f}, SE {se * 100:.2f}"


def _monte_carlo(label: str, peer: dict) -> str:
    chance = peer["monte_carlo"]
    score = chance["relative_se"] / min(peer["relative_se"], peer["served_minus_this_se"])
    held = chance["coverage_80_se"] / peer["coverage_80_se"]
    return (
        f"at {label} {chance['paths']} paths, {chance['relative_se'] * 100:.3f} points in its "
        f"score ({score:.2f} of its standard error) and {chance['coverage_80_se'] * 100:.3f} in "
        f"its coverage ({held:.2f} of its)"
    )


def users_get(panel: dict) -> str:
    """What the shipped deployments answer: the re-anchored band against the fresh one."""
    shown = "; ".join(
        f"s = {shift}: {_versus_fresh(found['1h'])}" for shift, found in panel["reanchored"].items()
    )
    cycle = "; ".join(f"{label} {_versus_fresh(found)}" for label, found in panel["cycle"].items())
    return (
        "Both deployments the project ships, the Render Blueprint and the documented `docker "
        "run`, poll the latest price and answer with the band re-anchored there; a release "
        "answers from about an hour to about thirteen hours after its data's end (it deploys "
        "one to seven hours after it, and the next one six hours later).\n\nAn hour ahead, the "
        f"band re-anchored s hours after its data's end scores, against the naive band issued "
        f"then, {shown}. Over a release's cycle with no deploy lag (s = 0 to 5 hours alike): "
        f"{cycle}."
    )


def _versus_fresh(found: dict) -> str:
    mine, fresh = found["reanchored"], found["fresh"]
    return (
        f"{mine['relative']:+.2%} (SE {mine['relative_se'] * 100:.2f}; fresh "
        f"{fresh['relative']:+.2%}), 80% coverage {mine['coverage_80']:.1%}"
    )


def _levels(coverage: dict, se: dict) -> str:
    return ", ".join(f"{coverage[level]:.1%} (SE {se[level]:.1%}) at {level}%" for level in LEVELS)


def _z(diff: float, se: float) -> str:
    return f"{abs(diff) / se:.1f}" if se else "no"


def _listed(items: list[str]) -> str:
    return listed(items) if items else "none"
