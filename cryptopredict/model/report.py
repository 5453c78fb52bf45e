"""The model report: Markdown tables from the backtest and the comparison, for the README.

`python -m cryptopredict.model.report [--artifact artifacts/btc-usd]` first copies the artifact's
backtest summary and choices to `docs/model-report/backtest.json` (when given), then rewrites the
README's generated sections (between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->`)
from `docs/model-report/*.json` and the settings.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import sys
from pathlib import Path

from cryptopredict.artifact import LEVELS
from cryptopredict.config import settings_table
from cryptopredict.model.backtest import HORIZONS, SERVED

REPORT_DIR = Path("docs/model-report")
README = Path("README.md")


def backtest_table(summary: dict) -> str:
    """Per horizon: the served band against the naive band, with paired standard errors."""
    header = [
        "horizon",
        "MAPE served / naive",
        "coverage 50 / 80 / 95%, served",
        "same, naive band",
        "interval score 80%, served / naive",
        "difference (SE)",
        "quantile score difference (SE)",
        "verdict",
    ]
    body = []
    for label in HORIZONS:
        if label not in summary:
            continue
        served, naive = summary[label].get(SERVED, {}), summary[label].get("naive", {})
        versus = summary[label].get("prophet_vs_naive", {})
        body.append(
            [
                label,
                f"{_pct(served.get('mape'))} / {_pct(naive.get('mape'))}",
                _levels(served),
                _levels(naive),
                f"{_num(served.get('interval_score'))} / {_num(naive.get('interval_score'))}",
                _diff(versus, "interval_score"),
                _diff(versus, "quantile_score"),
                verdict(versus),
            ]
        )
    refits = summary.get("refits", 0)
    how = (
        "the point forecast there is the last close (damping tau 0), so Prophet needed no refit "
        "on them"
        if not refits
        else f"Prophet was refitted at {refits} of them, its path re-anchored at the others"
    )
    note = (
        f"{summary['origins']} evaluation origins {summary.get('origin_step_hours', 0):g} hours "
        f"apart; {how}. Scores on log prices, "
        "lower is better; standard errors are Newey-West over the origins a horizon overlaps. "
        "Verdict on the 80% interval score: lower or higher when the difference is beyond two "
        "standard errors, else a tie."
    )
    return _table(header, body, note)


def width_table(summary: dict, level: int = 80) -> str:
    """Per horizon: the served band's coverage within each fifth of band width, narrowest
    first, with standard errors."""
    header = ["horizon", *(f"fifth {k} of width" for k in range(1, 6))]
    body = []
    for label in HORIZONS:
        cells = summary.get(label, {}).get(SERVED, {}).get("coverage_by_width_quintile", {})
        if str(level) in cells:
            body.append(
                [label, *(f"{c['coverage']:.1%} ({c['se']:.1%})" for c in cells[str(level)])]
            )
    note = (
        f"Coverage of the {level}% band on the evaluation origins, within each fifth of them by "
        "band width (narrowest first), with Newey-West standard errors."
    )
    return _table(header, body, note)


def verdict(versus: dict) -> str:
    diff, se = versus.get("interval_score_diff"), versus.get("interval_score_se")
    if diff is None or se is None:
        return ""
    if abs(diff) <= 2 * se:
        return "tie"
    return "**lower**" if diff < 0 else "higher"


def _levels(metrics: dict) -> str:
    """Coverage at each level, and its standard error where the summary has it."""
    by_level = metrics.get("coverage_by_level") or {}
    if not by_level:
        return ""
    shown = " / ".join(_pct(by_level.get(str(level))) for level in LEVELS)
    se = metrics.get("coverage_se_by_level")
    if se:
        shown += " (SE " + " / ".join(f"{se[str(level)]:.1%}" for level in LEVELS) + ")"
    return shown


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _diff(versus: dict, key: str) -> str:
    diff, se = versus.get(f"{key}_diff"), versus.get(f"{key}_se")
    if diff is None or se is None:
        return ""
    return f"{diff:+.5f} ({se:.5f})"


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
    header = ["configuration", *_per_horizon("MAPE", labels), *_per_horizon("coverage", labels)]
    return _table(header, body, note)


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
        versus = ""
        if row.get("served_minus_this") is not None:
            diff, se = row["served_minus_this"], row["served_minus_this_se"]
            tie = (
                "tie" if abs(diff) <= 2 * se else ("served lower" if diff < 0 else "served higher")
            )
            versus = f"{diff:+.4f} ({se:.4f}), {tie}"
        body.append(
            [
                row["horizon"],
                row["model"],
                _pct(row["mape"]),
                _levels(row),
                _num(row["interval_score"]),
                versus,
                f"{row['quantile_score']:.5f}",
            ]
        )
    origins = peers["origins"]
    note = (
        f"{len(origins)} refit origins spread from {origins[0][:10]} to {origins[-1][:10]} "
        "(Newey-West standard errors). statsforecast's models are fitted on the log close of the "
        "last 365 days, like Prophet; their bands are statsforecast's conformal intervals."
    )
    return _table(header, body, note)


def damping_table(damping: dict) -> str:
    labels = [label for label in HORIZONS if f"mape_{label}" in damping["candidates"][0]]
    body = []
    for entry in damping["candidates"]:
        tau = "none (undamped)" if entry["tau"] is None else f"{entry['tau']:g}"
        tau = f"**{tau}** (chosen)" if entry["tau"] == damping["chosen"] else tau
        body.append([tau, *_pcts(entry, "mape", labels), f"{entry['ratio']:.3f}x"])
    header = ["tau (hours)", *_per_horizon("MAPE", labels), "vs naive"]
    return _table(header, body, f"Chosen on {damping['validation_origins']} validation origins.")


def band_table(band: dict, shown: int = 10) -> str:
    """The band candidates, best first (the `shown` best and the chosen one)."""
    ranked = sorted(band["candidates"], key=lambda entry: entry["score"])
    chosen = band["chosen"]
    labels = [label for label in HORIZONS if f"score_{label}" in ranked[0]]
    body = []
    for entry in ranked[:shown]:
        spec = {key: entry.get(key) for key in chosen}
        name = f"**{entry['name']}** (chosen)" if spec == chosen else entry["name"]
        scores = [_num(entry[f"score_{label}"]) for label in labels]
        body.append([name, f"{entry['score']:.3f}x", *scores, *_pcts(entry, "coverage", labels)])
    header = [
        "band",
        "vs naive",
        *[f"interval score {label}" for label in labels],
        *[f"80% coverage {label}" for label in labels],
    ]
    note = (
        f"The {min(shown, len(ranked))} best of {len(ranked)} candidates on "
        f"{band['validation_origins']} validation origins, by the mean over the horizons of the "
        "80% interval score relative to the naive band's (lower is better). The chosen band is "
        "the best drift-free candidate, with its calibration pool chosen per horizon by the "
        "quantile score (below), then with or without drift, whichever scores better, then "
        "per horizon averaged with the empirical band or not by the 80% interval score (below)."
    )
    tables = [_table(header, body, note)]
    if "pools" in band:
        tables.append(pools_table(band["pools"]))
    if "mix" in band:
        tables.append(mix_table(band["mix"]))
    return "\n\n".join(tables)


def pools_table(pools: dict) -> str:
    """How far back the chosen band's calibration reaches at each horizon, and why."""
    labels = [label for label in HORIZONS if label in pools["chosen"]]
    body = []
    for entry in pools["candidates"]:
        days = entry["days"]
        name = "all past errors" if days is None else f"last {days} days"
        cells = [
            f"**{entry[label]:.5f}**" if pools["chosen"][label] == days else f"{entry[label]:.5f}"
            for label in labels
        ]
        body.append([name, *cells])
    note = (
        "Calibration pool per horizon: the mean quantile score (pinball loss over every served "
        "quantile, log prices) of the chosen band on the validation origins with each pool; "
        "the lowest (bold) is used."
    )
    return _table(["errors calibrated on", *_per_horizon("quantile score", labels)], body, note)


def mix_table(mix: dict) -> str:
    """How much of the empirical band the chosen band's quantiles take at each horizon, and why."""
    labels = [label for label in HORIZONS if label in mix["chosen"]]
    names = {0.0: "scaled band alone", 0.5: "average of the two", 1.0: "empirical band alone"}
    body = []
    for entry in mix["candidates"]:
        weight = entry["weight"]
        cells = [
            f"**{entry[label]:.5f}**" if mix["chosen"][label] == weight else f"{entry[label]:.5f}"
            for label in labels
        ]
        body.append([names.get(weight, f"{weight:.0%} empirical"), *cells])
    note = (
        "Band method per horizon: the mean 80% interval score (log prices) on the validation "
        "origins of the chosen scaled band, of the empirical band (the naive band without "
        "drift), and of the equal-weight average of their quantiles (Vincentization); the "
        "lowest (bold) is served at that horizon, the weight linear in lead in between."
    )
    return _table(["quantiles", *_per_horizon("interval score", labels)], body, note)


def sections(report_dir: Path = REPORT_DIR) -> dict[str, str]:
    backtest = json.loads((report_dir / "backtest.json").read_text())
    comparison = json.loads((report_dir / "comparison.json").read_text())
    peers = json.loads((report_dir / "peers.json").read_text())
    return {
        "peers": peers_table(peers),
        "settings": settings_table(),
        "backtest": backtest_table(backtest["summary"]),
        "damping": damping_table(backtest["damping"]),
        "band": band_table(backtest["band"]),
        "comparison": comparison_table(comparison),
    }


def render(readme: str, generated: dict[str, str]) -> str:
    for name, body in generated.items():
        pattern = re.compile(
            rf"(<!-- generated:{name} -->\n)(?:.*?\n)?(<!-- /generated:{name} -->)", re.DOTALL
        )
        if not pattern.search(readme):
            raise ValueError(f"README has no generated:{name} section")
        readme = pattern.sub(functools.partial(_fill, body=body), readme)
    return readme


def _fill(match: re.Match[str], *, body: str) -> str:
    return f"{match.group(1)}{body}\n{match.group(2)}"


def _table(header: list[str], body: list[list[str]], note: str) -> str:
    lines = [_row(header), "|" + "---|" * len(header), *(_row(cells) for cells in body)]
    return "\n".join([*lines, "", note])


def _per_horizon(title: str, labels: list[str] | None = None) -> list[str]:
    return [f"{title} {label}" for label in labels or HORIZONS]


def _pcts(entry: dict, key: str, labels: list[str] | None = None) -> list[str]:
    return [_pct(entry.get(f"{key}_{label}")) for label in labels or HORIZONS]


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.1%}"


def export(artifact: Path, report_dir: Path = REPORT_DIR) -> None:
    """Keep the artifact's backtest figures (not its per-origin paths) for the README."""
    backtest = json.loads((artifact / "backtest.json").read_text())
    kept = {key: backtest[key] for key in ("summary", "damping", "band", "hindcast")}
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "backtest.json").write_text(json.dumps(kept, indent=2, sort_keys=True) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cryptopredict.model.report")
    parser.add_argument("--artifact", type=Path, help="take the backtest figures from here first")
    args = parser.parse_args(argv)
    if args.artifact is not None:
        export(args.artifact)
    README.write_text(render(README.read_text(), sections()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
