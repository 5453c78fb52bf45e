"""What the model card says of a model: its point forecast, and how its band fared against the
naive forecast's at each horizon, with the figures behind each verdict."""

from __future__ import annotations

import math

from cryptopredict.api.types.model import HorizonVerdict, Verdict
from cryptopredict.artifact.schema import (
    BandVerdict,
    EvaluationScores,
    ForecastScores,
    ModelConfig,
    NaiveComparison,
    ServedNames,
)

RULE = (
    "The 80% band's interval score (its width plus 2 / 0.2 times how far the close fell outside "
    "it, on log prices; lower is better) against the naive forecast's, paired over the same "
    "evaluation origins with a Newey-West standard error (a flat top over the origins a horizon "
    "overlaps): better or worse when the difference is beyond two standard errors (Student's "
    "t's critical value where few independent windows make it larger), else a tie; too few "
    "windows where no critical value holds. Relative: (served - naive) / naive, with its "
    "one-sided 95% upper bound."
)
NAIVE = "naive is the last close carried forward, with a year's returns as its band"
BEYOND = "beyond the critical value"
SAID = {  # each verdict in the sentence, where it lies, and in plain words
    "better": ("is better than", BEYOND, "beat"),
    "tie": ("ties with", "within the critical value", "tied with"),
    "worse": ("is worse than", BEYOND, "did worse than"),
    "too few windows": (
        "cannot yet be told apart from",
        "on too few independent windows",
        "had too few independent windows to be judged against",
    ),
}


def verdict(
    params: ModelConfig,
    summary: EvaluationScores | None,
    symbol: str,
    served: ServedNames | None = None,
) -> Verdict:
    rows = [
        _row(label, scores.prophet, scores.naive, scores.prophet_vs_naive)
        for label, scores in (summary.horizons().items() if summary else [])
    ]
    groups: dict[str, list[HorizonVerdict]] = {}
    for row in rows:
        if row.verdict is not None:
            groups.setdefault(row.verdict, []).append(row)
    origins = summary.origins if summary else 0
    return Verdict(
        summary=plain(params, groups, origins),
        point_forecast=point_forecast(params, served),
        band=band(served),
        sentence=sentence(groups, origins, symbol),
        rule=RULE,
        horizons=rows,
    )


HORIZON_WORDS = {"1h": "an hour", "1d": "a day", "7d": "a week", "30d": "30 days"}


def plain(params: ModelConfig, groups: dict[str, list[HorizonVerdict]], origins: int) -> str:
    """One sentence without figures or terms of art."""
    share = round(params.interval_width * 100)
    said = (
        f"{_line(params)}, and the {share}% band around it is where the price should be "
        f"{share}% of the time"
    )
    if not groups:
        return f"{said}; it has not been tested on past prices yet."
    words = {
        found: [HORIZON_WORDS.get(row.horizon, row.horizon) for row in rows]
        for found, rows in groups.items()
    }
    clauses = [f"{SAID[found][2]} it {listed(ahead)} ahead" for found, ahead in words.items()]
    return (
        f"{said}; tested on {origins:,} past forecasts against a simple rule (the last price, "
        f"with a year of price moves as its band), the band {listed(clauses)}."
    )


def _line(params: ModelConfig) -> str:
    tau = params.damping_hours
    if not params.anchored:
        return "The line is the model's predicted path"
    if tau == 0:
        return "The line is the last price, carried forward"
    if tau is None:
        return "The line is the model's predicted path, started at the last price"
    return (
        "The line is the last price plus part of the model's predicted move, less of it the "
        "further ahead"
    )


def point_forecast(params: ModelConfig, served: ServedNames | None = None) -> str:
    tau = params.damping_hours
    damping = served.damping if served else None
    if tau == 0:
        how = f" Settled beforehand: {damping.why}." if damping is not None else ""
        return (
            "The point forecast is the last close (damping tau 0), and the band around it is "
            "calibrated on the last close's past errors: Prophet's fit contributes nothing "
            f"to what is served (it ships as the model of record).{how}"
        )
    if not params.anchored:
        said = "The point forecast is Prophet's path."
    elif tau is None:
        said = "The point forecast is Prophet's path, shifted to start at the last close."
    else:
        said = (
            f"The point forecast is Prophet damped by tau: the last close plus Prophet's move "
            f"from it, damped by tau / (tau + h) at h hours ahead with tau {tau:g} hours."
        )
    if damping is not None:
        said += f" Damping {damping.how}: {damping.why}."
    return said


def band(served: ServedNames | None) -> str:
    if served is None:
        return ""
    return f"The band is {served.band_method}. {served.band.how.capitalize()}: {served.band.why}."


def sentence(groups: dict[str, list[HorizonVerdict]], origins: int, symbol: str) -> str:
    if not groups:
        return ""
    clauses = []
    for found, items in groups.items():
        figures = listed([f"{item.horizon} ({_figures(item)})" for item in items])
        verb, where, _ = SAID[found]
        clauses.append(f"{verb} the naive forecast, {where}, at {figures}")
    return (
        f"Backtested on {origins} evaluation origins and scored by the 80% band's interval "
        f"score (lower is better), the {symbol} model {listed(clauses)}; {NAIVE}."
    )


def listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def decimals(se: float) -> int:
    """To show a standard error to two significant digits."""
    return max(0, 1 - math.floor(math.log10(se))) if se > 0 else 4


def _figures(row: HorizonVerdict) -> str:
    places = decimals(row.se or 0.0)
    said = (
        f"{row.interval_score:.{places}f} against {row.naive_interval_score:.{places}f}, "
        f"difference {row.difference:+.{places}f} ± {row.se:.{places}f}"
    )
    if row.relative is not None:
        said += f", {row.relative:+.1%} relative"
        if row.relative_bound is not None:
            said += f" (95% bound {row.relative_bound:+.1%})"
    return said


def _row(
    label: str,
    served: ForecastScores | None,
    naive: ForecastScores | None,
    versus: NaiveComparison | None,
) -> HorizonVerdict:
    score = served.interval_score if served else None
    naive_score = naive.interval_score if naive else None
    found = versus.verdict if versus else None
    return HorizonVerdict(
        horizon=label,
        # a verdict only where both scores are there to show beside it
        verdict=(
            BandVerdict(found)
            if found is not None and score is not None and naive_score is not None
            else None
        ),
        interval_score=score,
        naive_interval_score=naive_score,
        difference=versus.interval_score_diff if versus else None,
        se=versus.interval_score_se if versus else None,
        relative=versus.interval_score_relative if versus else None,
        relative_bound=versus.interval_score_relative_bound if versus else None,
        coverage=served.coverage_by_level if served else None,
        coverage_se=served.coverage_se_by_level if served else None,
        naive_coverage=naive.coverage_by_level if naive else None,
        naive_coverage_se=naive.coverage_se_by_level if naive else None,
        mape=served.mape if served else None,
        naive_mape=naive.mape if naive else None,
    )
