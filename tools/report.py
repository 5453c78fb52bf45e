"""`python -m tools.report`: the model report's JSON and the docs' generated sections."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec

from cryptopredict.artifact.schema import BacktestReport, BandSearch
from cryptopredict.model.band_spec import name_parts
from cryptopredict.model.panel_choice import PANEL_CHOICE, panel_band
from cryptopredict.model.plan import HORIZON_HOURS, HORIZONS
from cryptopredict.model.scorecard import backtest_table, coverages, markdown_table, number, pct
from tools import report_readings as readings
from tools.candidates import SETTINGS
from tools.joint_coverage import cells_of, farthest
from tools.panel_bars import COVERAGE, STANDINGS
from tools.panel_figures import WIDE_Z
from tools.peers import CALIBRATED, ROWS
from tools.settings import settings_table

REPORT_DIR = Path("docs/model-report")
PANEL = Path("docs/panel.json")  # `make panel` (tools/panel.py)
SIMULATION = "rule-simulation.json"  # `python -m tools.simulated_panel`, in REPORT_DIR
# The assets whose backtest the report keeps (`--artifacts` takes each from DIR/<asset>).
REPORTED = ("btc-usd", "eth-usd")
# What a report records beside the artifact's figures: the training data's, from the manifest.
DATA_FIELDS = ("source", "first", "last", "rows", "sha256")
# The pages that hold generated sections (`<!-- generated:NAME -->`).
PAGES = (Path("README.md"), Path("docs/model.md"), Path("docs/configuration.md"))


def comparison_table(comparison: dict) -> str:
    labels = [label for label in HORIZONS if f"mape_{label}" in comparison["rows"][0]]
    body = [
        [entry["configuration"], *_pcts(entry, "mape", labels), *_pcts(entry, "coverage", labels)]
        for entry in comparison["rows"]
    ]
    origins = comparison["origins"]
    note = (
        f"{len(origins)} rolling origins from {origins[0][:10]} to {origins[-1][:10]}; coverage "
        f"of Prophet's own {comparison['interval_width']:.0%} interval (blank: the model has none)."
    )
    header = [
        "configuration",
        *(f"{what} {label}" for what in ("MAPE", "coverage") for label in labels),
    ]
    return markdown_table(header, body, note)


def peers_table(peers: dict) -> str:
    """The served forecast, the naive baseline and statsforecast's models on the same origins."""
    header = [
        "horizon",
        "model",
        "MAPE",
        "coverage 50 / 80 / 95%",
        "interval score 80%",
        "served minus this (SE)",
        "quantile score",
    ]
    body = []
    for row in peers["rows"]:
        diff, se = row.get("served_minus_this"), row.get("served_minus_this_se")
        versus = "" if diff is None else f"{diff:+.4f} ({se:.4f})"
        body.append(
            [
                row["horizon"],
                row["model"],
                pct(row["mape"]),
                coverages(row.get("coverage_by_level"), row.get("coverage_se_by_level")),
                number(row["interval_score"]),
                versus,
                f"{row['quantile_score']:.5f}",
            ]
        )
    origins = peers["origins"]
    note = (
        f"{len(origins)} refit origins spread from {origins[0][:10]} to {origins[-1][:10]} "
        "(Newey-West standard errors; no verdict on a dozen origins: the panel's, below, are "
        "the verdicts). statsforecast's models are fitted on the log close of the "
        "last 365 days, like Prophet; their bands are statsforecast's conformal intervals."
    )
    return markdown_table(header, body, note)


def damping_table(damping: dict) -> str:
    """The panel's damping candidates against tau 0, pooled over its pairs (docs/panel.json)."""
    labels = damping["horizons"]
    body = []
    for candidate in damping["candidates"]:
        tau = "none (undamped)" if candidate["tau"] is None else f"{candidate['tau']:g}"
        scored = [*(candidate["horizons"][label] for label in labels), candidate]  # then the mean
        per = [f"{found['relative']:+.2%} ({found['se']:.2%})" for found in scored]
        bound = "" if candidate["bound"] is None else f"{candidate['bound']:+.2%}"
        body.append([tau, *per, bound, candidate["verdict"]])
    chosen = damping["chosen"]
    body.append(
        [
            "**0** (the last close)" if chosen == 0 else "0 (the last close)",
            *[""] * (len(labels) + 3),
        ]
    )
    header = [
        "tau (hours)",
        *[f"MAPE vs tau 0, {label} (SE)" for label in labels],
        "mean (SE)",
        "95% bound",
        "verdict",
    ]
    note = (
        f"Chosen by `make panel`: tau {'none' if chosen is None else f'{chosen:g}'}. On "
        f"{damping['refits']} validation refits of {damping['pairs']} spot pairs ("
        f"{damping['design']}): each candidate's absolute percentage error relative to tau 0's "
        "(pooled over the pairs), per horizon and its mean over them, with standard errors "
        "clustered by time; a candidate replaces tau 0 only where it is lower beyond the "
        "critical value (two standard errors at least)."
    )
    return markdown_table(header, body, note)


def band_table(band: BandSearch) -> str:
    """The panel's band with its scores on the pair's own validation origins."""
    entry = band.candidates[0].to_builtins()
    labels = [label for label in HORIZONS if f"score_{label}" in entry]
    scores = [number(entry[f"score_{label}"]) for label in labels]
    body = [
        [
            f"**{entry['name']}**",
            f"{entry['score']:.3f}x",
            *scores,
            *_pcts(entry, "coverage", labels),
        ]
    ]
    header = [
        "band",
        "vs naive",
        *[f"interval score {label}" for label in labels],
        *[f"80% coverage {label}" for label in labels],
    ]
    note = (
        f"The panel's band (`cryptopredict/model/panel_choice.json`, chosen by `make panel` on "
        f"the spot pairs' pooled validation origins), not chosen for this pair: its scores on "
        f"this pair's {band.validation_origins} validation origins, for the record (interval "
        "score relative to the naive band's within fifths of the day before's volatility, "
        "averaged over the fifths and the horizons; lower is better)."
    )
    return markdown_table(header, body, note)


def panel_tables(panel: dict) -> str:
    """Per horizon, pooled then per pair: coverage and interval score against naive's, with SEs."""
    header = [
        "pair",
        "coverage 50 / 80 / 95% (SE)",
        "interval score 80%, served / naive",
        "relative (SE)",
        "z",
        "lags",
        "origins",
    ]
    out = []
    for label in HORIZONS:
        rows = [("**pooled**", panel["pooled"].get(label))]
        rows += [(name, pair["horizons"].get(label)) for name, pair in panel["pairs"].items()]
        body = [_panel_row(name, figures) for name, figures in rows if figures]
        pooled = panel["pooled"].get(label)
        if not body or pooled is None:
            continue
        note = (
            f"{label} ahead. Pooled: {pooled['pairs']} spot pairs, {pooled['forecasts']} "
            "forecasts, averaged over the pairs at each origin time, standard errors clustered "
            "by time (Driscoll-Kraay: Newey-West over the times with the lags shown); per pair, "
            "Newey-West over its origins."
        )
        out.append(f"**{label}**\n\n" + markdown_table(header, body, note))
    return "\n\n".join(out)


CELLS = {
    "quarter": ("calendar quarters", "coverage_80_by_quarter"),
    "width_fifth": ("fifths of band width", "coverage_80_by_width_fifth"),
    "ratio_fifth": ("fifths of variance ratio", "coverage_80_by_ratio_fifth"),
}


def conditional_table(panel: dict) -> str:
    """The 80% band's coverage per cell, pooled over the spot pairs, with its joint tests."""
    body = []
    for label in HORIZONS:
        pooled = panel["pooled"].get(label)
        if pooled is None:
            continue
        for name, (title, key) in CELLS.items():
            shown = "; ".join(_cell(*cell) for cell in cells_of(pooled[key]).items())
            cell, largest = farthest(pooled[key])
            largest_z = "" if cell is None else f"{largest:.1f}"
            trend = pooled["coverage_80_trend"].get(name)
            body.append(
                [
                    label,
                    title,
                    shown,
                    largest_z,
                    _joint(pooled, name),
                    "" if trend is None else f"{trend['z']:+.2f}",
                ]
            )
    note = (
        "Pooled over the spot pairs' evaluation origins, standard errors clustered by time; "
        "fifths numbered from the narrowest (lowest ratio), each pair's own.\n\nEach cell: its "
        "coverage (standard error), its distance from 80% in standard errors (z), its windows "
        "(the horizon-long stretches of time its origins fall in) and the degrees of freedom "
        "of its standard error; a quarter with under half a quarter's origins is too few "
        "windows, left out of the rule and of its table's joint test. Largest |z|: the "
        "farthest cell the rule reads, its z as a normal score through Student's t with its "
        "degrees of freedom.\n\nJoint test that every cell covers 80% (`tools/joint_coverage.py`): "
        "for the fifths, which share their times, Hotelling's T^2 with the cells' covariance "
        "as F(cells, df - cells + 1); for the quarters, which partition time, each quarter's t "
        "over its two-week blocks as a normal score, their squares summed as "
        "chi-square(quarters); a quarter of fewer than three blocks left out. Trend: the "
        "slope of the fifths' coverage on their rank over its standard error."
    )
    header = [
        "horizon",
        "cells",
        "80% coverage (SE), z, windows, df",
        "largest \\|z\\|",
        "joint test, p",
        "trend z",
    ]
    return markdown_table(header, body, note)


def _cell(name: object, cell: dict) -> str:
    found = f"{name}: {cell['coverage']:.1%} ({cell['se']:.1%})"
    if cell["too_few_windows"]:
        return f"{found}, too few windows ({cell['windows']})"
    return f"{found}, z {cell['z']:+.1f}, {cell['windows']} w, df {cell['df']:.0f}"


def rule_table(panel: dict) -> str:
    """The bars the served band is held to (`tools/panel_bars.py`): figures and breaches."""
    found = panel["bars"]
    rule = found["rule"]
    body = [
        [f"80% coverage {label}", f"{value:.1%}", f"within [{low:.0%}, {high:.0%}]"]
        for label, value in found["coverage_80"].items()
        for low, high in [COVERAGE[label]]
    ]
    for label, tables in rule["tables"].items():
        for name, entry in tables.items():
            p, title = entry["joint_p"], f"{label} {CELLS[name][0]}"
            clauses = [
                ("largest \\|z\\|", f"{entry['largest_z']:.1f}", f"at most {rule['cell_z']:.1f}"),
                (
                    "joint test",
                    "" if p is None else f"p = {p:.3f}",
                    f"p at least {rule['joint_p']:g}",
                ),
            ]
            if "trend_z" in entry:
                clauses.append(
                    (
                        "trend",
                        f"z = {entry['trend_z']:+.2f}",
                        f"\\|z\\| at most {rule['trend_z']:.2f}",
                    )
                )
            body += [[f"{title}: {what}", said, bar] for what, said, bar in clauses]
    for label, standings in found["final_test"].items():
        counts = [sum(each == kind for each in standings.values()) for kind in STANDINGS]
        said = ", ".join(f"{kind} {n}" for kind, n in zip(STANDINGS, counts, strict=True))
        body.append(
            [f"final test {label}: against the {len(standings)} peers", said, "behind none"]
        )
    breaches = found["breaches"]
    note = (
        "Every clause holds."
        if not breaches
        else f"{len(breaches)} clause(s) broken: " + "; ".join(breaches) + "."
    )
    return markdown_table(["clause", "served band", "bar"], body, note)


def where_wide_table(panel: dict, simulation: dict) -> str:
    """Issue 111: the 80% band an hour ahead in every width fifth and every pair, where the band
    is chosen (the validation origins), measured (evaluation) and tested (final test)."""
    body = []
    for span in ("validation", "evaluation", "final_test"):
        wide = panel["where_wide"].get(span)
        if wide is None:
            continue
        pairs = wide["pairs"]
        low = min(pairs, key=lambda name: pairs[name]["z"])
        body.append(
            [
                span.replace("_", " "),
                " / ".join(f"{c['coverage']:.1%} ({c['z']:+.1f})" for c in wide["width_fifths"]),
                f"{sum(c['coverage'] < 0.8 for c in pairs.values())} of {len(pairs)}; lowest "
                f"{low} {pairs[low]['coverage']:.1%} ({pairs[low]['z']:+.1f})",
                f"{wide['largest_z']:.1f}, {'within' if wide['holds'] else 'beyond'} {WIDE_Z:g}",
            ]
        )
    note = (
        "Pooled over the spot pairs (each pair's own fifths), standard errors clustered by time; "
        "z: the distance from 80% in standard errors. The validation origins' row is the band "
        "the step chose, before the adaptive state per width bin. A band calibrated in every "
        f"cell has every one within {WIDE_Z:g} in {simulation['where_wide_1h_held']} of the "
        f"{simulation['panels']} simulated panels of the rule above (two years of origins)."
    )
    header = ["origins", "80% coverage by width fifth, narrowest first (z)", "pairs below 80%"]
    return markdown_table([*header, "largest \\|z\\|"], body, note)


def panel_peers_table(panel: dict) -> str:
    """Per horizon, the served band and each peer pooled over the evaluation origins (each
    margin by calendar year too) and the final test, and each band's p in the model confidence
    set there."""
    header = [
        "horizon",
        "band",
        "relative (SE)",
        "80% coverage (SE)",
        "served minus it (SE)",
        "by year",
        "final test: served minus it (SE)",
        "calibrated minus as issued (SE)",
        "MCS p, evaluation / final test",
    ]
    body = []
    for label, found in panel["peers"].items():
        final = panel["final_test"][label]
        for name in ("served", *ROWS):
            peer, off = found[name], readings.coverage_off(found[name])
            margins = [f"{_relative(final[name])}, {_coverage(final[name])}"]
            if name != "served":
                years = "; ".join(f"{year} {_margin(each)}" for year, each in peer["years"].items())
                standing = panel["bars"]["final_test"][label][name]
                margins = [_margin(peer), years, f"{_margin(final[name])}, {standing}"]
            body.append(
                [
                    label,
                    readings.peer_name(name),
                    _relative(peer),
                    f"{_coverage(peer)}, {off}" if off and name != "served" else _coverage(peer),
                    *([""] * 2 if name == "served" else []),
                    *margins,
                    _bold_beyond(peer["calibrated_minus_raw"], peer["calibrated_minus_raw_se"])
                    if "calibrated_minus_raw" in peer
                    else "",
                    f"{found['mcs'][name]:.2f} / {final['mcs'][name]:.2f}",
                ]
            )
    any_horizon, final = (
        next(iter(panel["peers"].values())),
        next(iter(panel["final_test"].values())),
    )
    note = (
        "Every peer reads the served band's own seasonal profile. Relative: the 80% interval "
        "score against the naive band's (its standard error, in points); coverage said too wide "
        f"or too narrow beyond {readings.OFF} standard errors of 80%; served minus it: the "
        "served band's score minus the peer's, in points of naive's (below zero the served band "
        "is better), on the evaluation origins, by calendar year of them, and on the final test "
        "(the served band's own row: its relative score and coverage there), where the served "
        "band is ahead, tie or behind; calibrated minus as issued: below zero the calibration "
        "helps; bold beyond two standard errors.\n\nMCS p: the band's p-value in the model "
        "confidence set (Hansen, Lunde and Nason), in the set at 95% where 0.05 or more. "
        f"{any_horizon['pairs']} spot pairs; on the evaluation origins {any_horizon['origins']} "
        f"origin times, {any_horizon['forecasts']} forecasts at each horizon, on the final test "
        f"{final['origins']} and {final['forecasts']}; standard errors clustered by time."
        f"\n\n{readings.monte_carlo(panel)}"
    )
    return markdown_table(header, body, note)


def dispersion_table(panel: dict) -> str:
    """The band search's last step beside the band without it."""
    found = panel.get("dispersion")
    if found is None:
        return "Not measured: this `make panel` ran with `--keep`."
    validation = found["validation"]
    deciding = validation["deciding"]
    body = []
    for which, name in (("without", "without it"), ("with", "with it")):
        scores = validation[which]
        mean = sum(scores[label] for label in deciding) / len(deciding)
        fifths = _width_fifths(validation["1d_width_fifths"]) if which == "without" else ["", ""]
        body.append(
            [
                name,
                "validation",
                *(f"{scores[label]:+.2%}" for label in COVERAGE),
                f"{mean:+.3%}",
                *fifths,
            ]
        )
    served = {label: panel["pooled"][label] for label in COVERAGE}
    for name, evaluation in (("without it (served)", served), ("with it", found["evaluation"])):
        body.append(
            [
                name,
                "evaluation",
                *(_relative(e) for e in evaluation.values()),
                "",
                *_width_fifths(evaluation["1d"]),
            ]
        )
    breaches = "; ".join(found["bars"]["breaches"]) or "none"
    if found["served"]:
        verdict = "served: the band with it holds every bar"
    elif found["chosen_on_validation"]:
        verdict = f"chosen on the validation origins, not served: the bars it breaks: {breaches}"
    else:
        verdict = f"not chosen on the validation origins (the bars it breaks: {breaches})"
    header = [
        "adaptive state per width bin",
        "origins",
        *(f"relative {label}" for label in COVERAGE),
        "mean (deciding)",
        "1d width fifths' 80% coverage",
        "trend z",
    ]
    bound = panel["bars"]["rule"]["trend_z"]
    z = validation["1d_width_fifths"]["coverage_80_trend"]["width_fifth"]["z"]
    note = (
        "The band search's last step: the band above, its adaptive state kept per width bin. "
        "Relative: the 80% interval score "
        "against the naive band's, pooled over the spot pairs (evaluation: its standard error "
        f"in points). Verdict: {verdict}. On the validation origins, where every step is "
        f"chosen, the band without it has its 1-day width fifths' trend at z = {z:+.2f}, "
        f"{'within' if abs(z) <= bound else 'beyond'} the rule's {bound}."
    )
    return markdown_table(header, body, note)


def _width_fifths(day: dict) -> list[str]:
    """The 1-day width fifths' 80% coverage, narrowest first, and their trend's z."""
    fifths = " / ".join(f"{c['coverage']:.1%}" for c in day["coverage_80_by_width_fifth"])
    return [fifths, f"{day['coverage_80_trend']['width_fifth']['z']:+.2f}"]


def reanchored_table(panel: dict) -> str:
    """The re-anchored band against the band issued then: over a cycle, then per shift."""
    rows = [("**cycle (0-5 h)**", panel["cycle"])]
    rows += [(s, found) for s, found in panel["reanchored"].items()]
    body = []
    for shift, horizons in rows:
        for label, found in horizons.items():
            fresh = found["fresh"]
            ratio, se = fresh["reanchored_over_this"], fresh["reanchored_over_this_se"]
            cells = [f"{_relative(b)}, {_coverage(b)}" for b in (found["reanchored"], fresh)]
            body.append([shift, label, *cells, f"{ratio - 1:+.2%} ({se:.2%})"])
    cycle = panel["cycle"]
    note = (
        "Relative to the naive band issued at origin + s; each cell as in the peers' table; last "
        "column: the re-anchored band's interval score over the fresh band's, minus one (its "
        "standard error). The cycle: s = 0 to 5 hours alike, a six-hourly release answered "
        f"until the next deploys ({next(iter(cycle.values()))['forecasts']} forecasts at each "
        "horizon)."
    )
    header = [
        "s",
        "horizon",
        "re-anchored: relative (SE), coverage (SE)",
        "fresh: relative (SE), coverage (SE)",
        "re-anchored / fresh - 1 (SE)",
    ]
    return f"**What users get.** {readings.users_get(panel)}\n\n" + markdown_table(
        header, body, note
    )


def peer_settings_table(panel: dict) -> str:
    """Per setting of each full-strength peer, its score on the validation origins as issued
    and calibrated the band's way, and the served band minus it (`tools/candidates.py`)."""
    found = panel["peer_settings"]
    labels = list(found["scores"])
    header = [
        "peer",
        "setting",
        *(
            f"{label}: relative as issued / calibrated, served minus calibrated (SE)"
            for label in labels
        ),
    ]
    body = []
    for peer, chosen in found["chosen"].items():
        for said in SETTINGS[peer]:
            scored = [found["scores"][label][f"{peer}: {said}"] for label in labels]
            calibrated = [found["scores"][label][f"{peer}: {said}{CALIBRATED}"] for label in labels]
            cells = [
                f"{mine['relative']:+.2%} / {theirs['relative']:+.2%}, {_margin(theirs)}"
                for mine, theirs in zip(scored, calibrated, strict=True)
            ]
            body.append(
                [readings.peer_name(peer), f"**{said}**" if said == chosen else said, *cells]
            )
    served = found["scores"][labels[0]]
    note = (
        "On the validation origins, each setting's peer as issued and calibrated the band's way; "
        "served minus it as in the peers' table (below zero the served band is better). Chosen "
        "(bold): the lowest mean relative score over the leads, calibrated. "
        f"{served['pairs']} spot pairs, {served['origins']} origin times."
    )
    return markdown_table(header, body, note)


def combination_table(choice: dict) -> str:
    """HAR-RV's weight in the served band's spread on the validation origins: each weight's
    relative score per horizon, the one chosen there bold (`tools/panel.py`'s search)."""
    weights = choice["stages"]["HAR-RV's weight"]["weights"]
    chosen = dict(choice["band"].get("horizon_har") or [(h, 0.0) for h in HORIZON_HOURS.values()])
    body = [
        [
            f"{float(w):.0%}",
            *(
                f"**{s[label]:+.2%}**"
                if chosen[HORIZON_HOURS[label]] == float(w)
                else f"{s[label]:+.2%}"
                for label in HORIZONS
            ),
        ]
        for w, s in weights.items()
    ]
    note = (
        "On the validation origins, the served band with HAR-RV's spread (the intraday cascade, "
        "ranges) averaged in logs at each weight: its 80% interval score relative to the naive "
        "band's, pooled over the pairs; served at each horizon: the lowest (bold), where the band "
        "with those weights scores lower over the deciding horizons than the band without."
    )
    return markdown_table(["HAR-RV's weight", *(f"relative {h}" for h in HORIZONS)], body, note)


def _margin(peer: dict) -> str:
    return _bold_beyond(peer["served_minus_this"], peer["served_minus_this_se"])


def _relative(figures: dict) -> str:
    return f"{figures['relative']:+.2%} ({figures['relative_se'] * 100:.2f})"


def _coverage(figures: dict) -> str:
    return f"{figures['coverage_80']:.1%} ({figures['coverage_80_se'] * 100:.1f})"


def _bold_beyond(diff: float, se: float) -> str:
    text = f"{diff * 100:+.2f} ({se * 100:.2f})"
    return f"**{text}**" if abs(diff) > 2 * se else text


def _joint(pooled: dict, name: str) -> str:
    test = pooled["coverage_80_joint_tests"][name]
    if test["p"] is None:
        return "too few windows"
    df = ", ".join(f"{value:.0f}" for value in test["df"])
    kind = "F" if test["test"].startswith("Hotelling") else "chi2"
    left = f", {test['left_out']} left out" if test["left_out"] else ""
    return f"{kind}({df}) = {test['statistic']:.2f}, p = {test['p']:.3f}{left}"


def _panel_row(name: str, figures: dict) -> list[str]:
    diff, se = figures["relative"], figures["relative_se"]
    return [
        name,
        coverages(figures["coverage"], figures["coverage_se"]),
        f"{number(figures['interval_score'])} / {number(figures['naive_interval_score'])}",
        _relative(figures),
        f"{diff / se:+.1f}" if se else "",
        str(figures["lags"]),
        str(figures["origins"]),
    ]


def sections(
    report_dir: Path = REPORT_DIR, panel: Path = PANEL, choice_file: Path = PANEL_CHOICE
) -> dict[str, str]:
    peers, figures, choice = _json(report_dir / "peers.json"), _json(panel), _json(choice_file)
    band = panel_band(path=choice_file)
    assert band is not None, f"{choice_file} holds no band: run `make panel`"
    out = {}
    for asset, key in (("btc-usd", "backtest"), ("eth-usd", "backtest-eth-usd")):
        found = _json(report_dir / report_file(asset))
        backtest = msgspec.convert(found, BacktestReport)
        out[key] = backtest_table(backtest.summary) if backtest.summary else ""
        out[f"{key}-reading"] = readings.backtest_reading(found)
        if asset == "btc-usd":
            out["band"] = band_table(backtest.band) if backtest.band else ""
    return out | {
        "peers": peers_table(peers),
        "settings": settings_table(),
        "damping": damping_table(figures["damping"]),
        "comparison": comparison_table(_json(report_dir / "comparison.json")),
        "card": readings.card(figures),
        "summary": readings.card(figures, "docs/model.md"),
        "panel-reading": readings.panel_timing(figures)
        + " "
        + readings.panel_reading(figures, name_parts(band)),
        "panel": panel_tables(figures),
        "rule-simulation": readings.rule_reading(figures, _json(report_dir / SIMULATION)),
        "conditional": conditional_table(figures),
        "panel-peers": panel_peers_table(figures),
        "panel-settings": peer_settings_table(figures) + "\n\n" + combination_table(choice),
        "dispersion": dispersion_table(figures),
        "rule": rule_table(figures),
        "where-wide": where_wide_table(figures, _json(report_dir / SIMULATION)),
        "reanchored": reanchored_table(figures),
    }


def _json(path: Path) -> dict:
    return json.loads(path.read_text())


_SECTION = re.compile(
    r"(<!-- generated:([a-z0-9-]+) -->\n)(?:.*?\n)?(<!-- /generated:\2 -->)", re.S
)


def render(page: str, generated: dict[str, str]) -> str:
    """`page` with every generated section's body from `generated`."""
    done, count = _SECTION.subn(lambda found: f"{found[1]}{generated[found[2]]}\n{found[3]}", page)
    if count != page.count("<!-- generated:"):
        raise ValueError("the page has a generated section without its end marker")
    return done


def render_pages(root: Path = Path(), report_dir: Path = REPORT_DIR) -> dict[Path, str]:
    """Every page that holds generated sections, as it should read."""
    generated = sections(root / report_dir, root / PANEL)
    return {page: render((root / page).read_text(), generated) for page in PAGES}


def _pcts(entry: dict[str, Any], key: str, labels: list[str] | None = None) -> list[str]:
    return [pct(entry.get(f"{key}_{label}")) for label in labels or HORIZONS]


def report_file(asset: str) -> str:
    """Where the report keeps an asset's backtest: `backtest.json` (BTC/USD) or `<asset>-...`."""
    return "backtest.json" if asset == "btc-usd" else f"{asset}-backtest.json"


def exported(artifact: Path, commit: str) -> tuple[str, str]:
    """(file name, JSON text) of the artifact's backtest figures, commit and data digest."""
    backtest = json.loads((artifact / "backtest.json").read_text())
    manifest = json.loads((artifact / "manifest.json").read_text())
    kept = {key: backtest[key] for key in ("summary", "band", "hindcast")}
    kept["commit"] = commit
    kept["data"] = {key: manifest["data"][key] for key in DATA_FIELDS}
    return report_file(manifest["asset"]), json.dumps(kept, indent=2, sort_keys=True) + "\n"


def export(artifact: Path, report_dir: Path = REPORT_DIR, commit: str | None = None) -> Path:
    """Keep the artifact's backtest figures for the model report; returns the file written."""
    name, text = exported(artifact, current_commit() if commit is None else commit)
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / name).write_text(text)
    return report_dir / name


def current_commit(root: Path = Path()) -> str:
    """HEAD's sha (`-dirty` with local changes); `unknown` outside a git checkout."""
    describe = ["git", "describe", "--always", "--dirty", "--abbrev=40", "--exclude=*"]
    try:
        done = subprocess.run(describe, cwd=root, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return done.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.report")
    parser.add_argument(
        "--artifact",
        type=Path,
        action="append",
        default=[],
        help="take an asset's backtest figures from this artifact first (repeatable)",
    )
    parser.add_argument(
        "--artifacts",
        type=Path,
        help=f"take the backtest figures of {', '.join(REPORTED)} from DIR/<asset> first "
        "(`make report`: the model `make e2e` trains)",
    )
    args = parser.parse_args(argv)
    artifacts = [args.artifacts / asset for asset in REPORTED] if args.artifacts else []
    for artifact in [*artifacts, *args.artifact]:
        export(artifact)
    for page, text in render_pages().items():
        page.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
