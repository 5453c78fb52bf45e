"""The backtest's summary as a Markdown table, for `train.py` and the model report."""

from __future__ import annotations

from cryptopredict.artifact.schema import (
    LEVELS,
    EvaluationScores,
    Manifest,
    ModelConfig,
    NaiveComparison,
)
from cryptopredict.utc import iso_moment


def training_report(manifest: Manifest) -> str:
    data = manifest.data
    window = data.training_window
    lines = [
        f"data:     {data.rows} {manifest.interval} bars of {manifest.symbol} from "
        f"{iso_moment(data.first)} to {iso_moment(data.last)} (source: {data.source})",
        f"trained:  on {window.rows} bars from {iso_moment(window.first)} to "
        f"{iso_moment(window.last)}",
        f"model:    {_describe(manifest.params)}",
        f"band:     {manifest.band.name}",
    ]
    if manifest.metrics is not None:
        lines.append(backtest_table(manifest.metrics))
    else:
        lines.append(
            "backtest: skipped (--no-backtest); the default band, calibrated on the naive "
            "forecast's errors; no gate"
        )
    return "\n".join(lines)


def _describe(params: ModelConfig) -> str:
    price = params.price
    parts = [f"Prophet on {params.target} {price}"]
    if params.window_days:
        parts.append(f"last {params.window_days} days")
    parts.append(f"changepoint_prior_scale {params.changepoint_prior_scale}")
    if params.anchored:
        parts.append(f"anchored to the last {price}")
    if params.damping_hours is not None:
        parts.append(f"damped (tau {params.damping_hours:g} h)")
    if not params.calibrated:
        parts.append("Prophet's own bands")
    return ", ".join(parts)


def backtest_table(summary: EvaluationScores) -> str:
    header = [
        "horizon",
        "MAPE served / naive",
        "coverage 50 / 80 / 95%, served",
        "same, naive band",
        "interval score 80%, served / naive",
        "difference (SE)",
        "relative (95% bound)",
        "quantile score difference (SE)",
        "verdict",
    ]
    body = []
    for label, scores in summary.horizons().items():
        served, naive = scores.prophet, scores.naive
        versus = scores.prophet_vs_naive
        body.append(
            [
                label,
                f"{pct(served.mape if served else None)} / {pct(naive.mape if naive else None)}",
                *(
                    coverages(model.coverage_by_level, model.coverage_se_by_level) if model else ""
                    for model in (served, naive)
                ),
                f"{number(served.interval_score if served else None)} / "
                f"{number(naive.interval_score if naive else None)}",
                _diff(versus, "interval_score"),
                relative_text(versus),
                _diff(versus, "quantile_score"),
                verdict(versus),
            ]
        )
    how = (
        "the point forecast there is the last close (damping tau 0), so Prophet needed no refit "
        "on them"
        if not summary.refits
        else f"Prophet was refitted at {summary.refits} of them, its path re-anchored at the others"
    )
    note = (
        f"{summary.origins} evaluation origins {summary.origin_step_hours:g} hours "
        f"apart; {how}. Scores on log prices, "
        "lower is better; standard errors are the flat-top Newey-West over the origins a "
        "horizon overlaps (cryptopredict/standard_error.py). Relative: (served - naive) / naive "
        "with its one-sided 95% upper bound. Verdict on the 80% interval score: lower or higher "
        "when the difference is beyond two standard errors (Student's t's critical value where "
        "few independent windows make it larger), else a tie; too few windows where no critical "
        "value holds."
    )
    return markdown_table(header, body, note)


def verdict(versus: NaiveComparison | None) -> str:
    found = versus.verdict if versus else None
    words = {"better": "**lower**", "worse": "higher", "tie": "tie", None: ""}
    return words.get(found, found or "")


def relative_text(versus: NaiveComparison | None) -> str:
    if versus is None or versus.interval_score_relative is None:
        return ""
    bound = versus.interval_score_relative_bound
    shown = f"{versus.interval_score_relative:+.1%}"
    return shown if bound is None else f"{shown} ({bound:+.1%})"


def coverages(by_level: dict[str, float] | None, se: dict[str, float] | None) -> str:
    if not by_level:
        return ""
    shown = " / ".join(pct(by_level.get(str(level))) for level in LEVELS)
    if se:
        shown += " (SE " + " / ".join(f"{se[str(level)]:.1%}" for level in LEVELS) + ")"
    return shown


def number(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _diff(versus: NaiveComparison | None, key: str) -> str:
    if versus is None:
        return ""
    diff, se = getattr(versus, f"{key}_diff"), getattr(versus, f"{key}_se")
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
