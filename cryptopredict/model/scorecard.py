"""The backtest's summary as a Markdown table, per horizon: `train.py` prints it after
training, and the model report (`tools/report.py`) writes it into the model page."""

from __future__ import annotations

from cryptopredict.artifact import LEVELS
from cryptopredict.model.backtest import HORIZONS, SERVED


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
                f"{pct(served.get('mape'))} / {pct(naive.get('mape'))}",
                coverages(served),
                coverages(naive),
                f"{number(served.get('interval_score'))} / {number(naive.get('interval_score'))}",
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
    return markdown_table(header, body, note)


def verdict(versus: dict) -> str:
    diff, se = versus.get("interval_score_diff"), versus.get("interval_score_se")
    if diff is None or se is None:
        return ""
    if abs(diff) <= 2 * se:
        return "tie"
    return "**lower**" if diff < 0 else "higher"


def coverages(metrics: dict) -> str:
    """Coverage at each level, and its standard error where the summary has it."""
    by_level = metrics.get("coverage_by_level") or {}
    if not by_level:
        return ""
    shown = " / ".join(pct(by_level.get(str(level))) for level in LEVELS)
    se = metrics.get("coverage_se_by_level")
    if se:
        shown += " (SE " + " / ".join(f"{se[str(level)]:.1%}" for level in LEVELS) + ")"
    return shown


def number(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _diff(versus: dict, key: str) -> str:
    diff, se = versus.get(f"{key}_diff"), versus.get(f"{key}_se")
    if diff is None or se is None:
        return ""
    return f"{diff:+.5f} ({se:.5f})"


def markdown_table(header: list[str], body: list[list[str]], note: str) -> str:
    lines = [_row(header), "|" + "---|" * len(header), *(_row(cells) for cells in body)]
    return "\n".join([*lines, "", note])


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def pct(value: float | None) -> str:
    return "" if value is None else f"{value:.1%}"
