"""The live scorecard: every stored minute since a model's data ended, scored against the
forecast the API served for that instant, beside the naive forecast, per lead and level.

Which minutes: those that opened once the model's last bar had closed, when its data ended
(nothing of them was trained on), and closed within the served forecast's range. A minute is
scored at its close time, with its close, against the served forecast at that instant, as
`/price` places the last minute: whether the close fell inside each band (50, 80, 95%), each
band's interval score, and naive's: the last price of the model's data with naive's band at
the same instant, calibrated as the backtest calibrates naive's at an origin (`NaiveBand`). A
minute's lead, which buckets it, is the time from the end of the model's data to its close
(the forecast answers' `lead_hours` count from the last bar's open time: an interval more).

How it adds up: by lead (`LEADS`), since the model's data ended (`since_release`) and over the
minutes of a rolling window before the newest (`window`); per lead the count of minutes, and per
level the mean of each score with the one standard error (`cryptopredict.standard_error`): a
model's minutes all follow one price path from one origin, so minutes closer together than the
lead bucket's shortest lead (the first hour: the whole hour) are counted as overlapping. That is
the least overlap there is: read the standard error as a floor. It is given once the minutes
span twice the overlap (never for the first hour).

Incrementally: only the minutes stored after the newest read (`MinuteSource`), at most every
`refresh_seconds`, each scored once into running sums (`OverlapSums`). A gap is a gap, never a
miss; a hole filled after later minutes were scored is left out, as it was missing then."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from cryptopredict.api.serving.utc import iso_utc
from cryptopredict.api.types import scorecard as answers
from cryptopredict.artifact.schema import DEFAULT_LEVEL, LEVELS, BacktestSummary, NaiveBand
from cryptopredict.band_scores import inside, interval_score
from cryptopredict.postprocess import empirical_offsets
from cryptopredict.standard_error import OverlapSums

if TYPE_CHECKING:
    from cryptopredict.api.serving.catalog import Catalog, ServedAsset
    from cryptopredict.api.serving.forecast import Forecast

MINUTE = 60
HOUR = 3600
READ_ROWS = 10_000  # minutes asked for per query while catching up

# Per minute, the columns scored: inside each band, each band's interval score, naive's, and
# the served minus naive's, each at every level of LEVELS in turn.
INSIDE, SERVED, NAIVE, DIFFERENCE = range(4)
COLUMNS = 4 * len(LEVELS)


@dataclass(frozen=True)
class Lead:
    """A lead bucket: minutes that closed [start, end) hours after the model's data ended,
    overlapping when closer than `overlap` minutes, compared with the backtest at `horizon`."""

    name: answers.LeadBucket
    start: float
    end: float | None
    overlap: int
    horizon: str

    def holds(self, hours: np.ndarray) -> np.ndarray:
        return (hours >= self.start) & (hours < (math.inf if self.end is None else self.end))


LEADS = (
    Lead(answers.LeadBucket.UNDER_1H, 0, 1, 60, "1h"),
    Lead(answers.LeadBucket.H1_TO_1D, 1, 24, 60, "1d"),
    Lead(answers.LeadBucket.D1_TO_7D, 24, 168, 24 * 60, "7d"),
    Lead(answers.LeadBucket.BEYOND_7D, 168, None, 7 * 24 * 60, "30d"),
)

# The newest minute read (open time), and up to `limit` minutes (open time, close) after it.
MinuteSource = Callable[["ServedAsset", int, int], np.ndarray]


def column(kind: int, level: int) -> int:
    return kind * len(LEVELS) + LEVELS.index(level)


@dataclass(frozen=True)
class Minutes:
    """Scored minutes: each one's step (open time in minutes), lead bucket and scores."""

    at: np.ndarray
    lead: np.ndarray
    scores: np.ndarray  # (minutes, COLUMNS)
    closed: np.ndarray  # close times

    @classmethod
    def none(cls) -> Minutes:
        empty = np.empty(0, dtype=np.int64)
        return cls(empty, empty, np.empty((0, COLUMNS)), empty)

    def __len__(self) -> int:
        return len(self.at)

    def where(self, keep: np.ndarray) -> Minutes:
        return Minutes(self.at[keep], self.lead[keep], self.scores[keep], self.closed[keep])

    def then(self, later: Minutes) -> Minutes:
        return Minutes(
            *(
                np.concatenate([mine, theirs])
                for mine, theirs in zip(self.parts(), later.parts(), strict=True)
            )
        )

    def parts(self) -> tuple[np.ndarray, ...]:
        return self.at, self.lead, self.scores, self.closed


def score_minutes(
    forecast: Forecast, naive: NaiveBand | None, opened: np.ndarray, close: np.ndarray
) -> Minutes:
    """Each minute (open times `opened`, closes `close`) scored at its close time."""
    closed = opened + MINUTE
    hours = (closed - forecast.last_bar) / HOUR  # ahead of the last bar's time, as the grid
    scores = np.zeros((len(opened), COLUMNS))
    for level in LEVELS:
        served = forecast.values_at(closed, level)
        low, high = served[:, 1], served[:, 2]
        mine = interval_score(close, low, high, level)
        scores[:, column(INSIDE, level)] = inside(close, low, high)
        scores[:, column(SERVED, level)] = mine
        if naive is not None:
            key = str(level)
            lower = empirical_offsets(hours, naive.hours, naive.lower[key], upper=False)
            upper = empirical_offsets(hours, naive.hours, naive.upper[key], upper=True)
            theirs = interval_score(
                close, naive.price * np.exp(lower), naive.price * np.exp(upper), level
            )
            scores[:, column(NAIVE, level)] = theirs
            scores[:, column(DIFFERENCE, level)] = mine - theirs
    lead = np.zeros(len(opened), dtype=np.int64)
    since_data = (closed - forecast.last_bar - forecast.step) / HOUR
    for index, bucket in enumerate(LEADS):
        lead[bucket.holds(since_data)] = index
    return Minutes(opened // MINUTE, lead, scores, closed)


@dataclass(frozen=True)
class LevelScores:
    """One level's figures over one lead bucket's minutes (None where not known)."""

    level: int
    coverage: float | None
    coverage_se: float | None
    interval_score: float | None
    interval_score_se: float | None
    naive_interval_score: float | None
    difference: float | None  # served minus naive
    difference_se: float | None

    def verdict(self) -> answers.BandVerdict | None:
        """The served band against naive's by interval score: better or worse when the
        difference is beyond two standard errors, else a tie; None without a standard error."""
        if self.difference is None or self.difference_se is None:
            return None
        if abs(self.difference) <= 2 * self.difference_se:
            return answers.BandVerdict.TIE
        return answers.BandVerdict.BETTER if self.difference < 0 else answers.BandVerdict.WORSE


@dataclass(frozen=True)
class LeadScores:
    lead: Lead
    minutes: int
    first: int | None  # close times of the first and last minute
    last: int | None
    levels: tuple[LevelScores, ...]


def lead_scores(
    lead: Lead, sums: OverlapSums, naive: bool, span: tuple[int, int] | None
) -> LeadScores:
    """A bucket's figures from its running sums (standard errors once its minutes span twice
    the overlap)."""
    mean, se = sums.mean(), sums.se()

    def value(kind: int, level: int, of: np.ndarray) -> float | None:
        found = float(of[column(kind, level)])
        if not math.isfinite(found) or (kind in (NAIVE, DIFFERENCE) and not naive):
            return None
        return found

    levels = tuple(
        LevelScores(
            level=level,
            coverage=value(INSIDE, level, mean),
            coverage_se=value(INSIDE, level, se),
            interval_score=value(SERVED, level, mean),
            interval_score_se=value(SERVED, level, se),
            naive_interval_score=value(NAIVE, level, mean),
            difference=value(DIFFERENCE, level, mean),
            difference_se=value(DIFFERENCE, level, se),
        )
        for level in LEVELS
    )
    first, last = span if span is not None else (None, None)
    return LeadScores(lead, sums.n, first, last, levels)


@dataclass
class Buckets:
    """Running sums per lead bucket, with each bucket's first and last close time."""

    sums: list[OverlapSums] = field(
        default_factory=lambda: [OverlapSums(lead.overlap, COLUMNS) for lead in LEADS]
    )
    spans: list[tuple[int, int] | None] = field(default_factory=lambda: [None] * len(LEADS))

    def add(self, minutes: Minutes) -> None:
        for index, sums in enumerate(self.sums):
            mine = minutes.where(minutes.lead == index)
            if not len(mine):
                continue
            sums.add(mine.at, mine.scores)
            span = self.spans[index]
            first = int(mine.closed[0]) if span is None else span[0]
            self.spans[index] = (first, int(mine.closed[-1]))

    def scores(self, naive: bool) -> tuple[LeadScores, ...]:
        return tuple(
            lead_scores(lead, sums, naive, span)
            for lead, sums, span in zip(LEADS, self.sums, self.spans, strict=True)
        )


@dataclass(frozen=True)
class Report:
    """A model's live scorecard as it stands."""

    asset: str
    symbol: str
    model_version: str
    data_until: int  # the last bar's time
    scored_from: int  # the first minute scored opens here
    scored_until: int  # ... and the last closes by here (the forecast's end)
    minutes: int
    first: int | None  # close times of the first and last minute scored
    last: int | None
    missing: int  # minutes missing between them (gaps: not scored)
    since_release: tuple[LeadScores, ...]
    window_hours: float
    window: tuple[LeadScores, ...]
    naive: bool  # whether naive's band is known (artifacts written before it was kept: not)
    backtest: dict[str, dict[str, float]]  # per lead bucket: the backtest's coverage by level


class ModelScorecard:
    """One served model's scorecard, kept up to date by `update` (thread-safe)."""

    def __init__(self, served: ServedAsset, *, window_hours: float) -> None:
        self.served = served
        forecast = served.forecast
        self.naive = served.artifact.manifest.naive
        self.window_seconds = round(window_hours * HOUR)
        self.window_hours = window_hours
        self.start = forecast.last_bar + forecast.step  # the first minute scored opens here
        self.cursor = self.start - MINUTE  # the newest minute read
        self.release = Buckets()
        self.recent = Minutes.none()  # the minutes still in the window
        self.count = 0
        self.first: int | None = None
        self.last: int | None = None
        self.lock = threading.Lock()
        self._window: tuple[int | None, tuple[LeadScores, ...]] | None = None

    def update(self, read: MinuteSource) -> None:
        """Score the minutes stored since the newest one read."""
        forecast = self.served.forecast
        rows = read(self.served, self.cursor, READ_ROWS)
        while len(rows):
            self.cursor = int(rows[-1, 0])
            opened = rows[:, 0].astype(np.int64)
            keep = (opened >= self.start) & (opened + MINUTE <= forecast.end)
            if keep.any():
                self._add(score_minutes(forecast, self.naive, opened[keep], rows[keep, 1]))
            if len(rows) < READ_ROWS:
                break
            rows = read(self.served, self.cursor, READ_ROWS)

    def _add(self, minutes: Minutes) -> None:
        self.release.add(minutes)
        self.count += len(minutes)
        self.first = int(minutes.closed[0]) if self.first is None else self.first
        self.last = int(minutes.closed[-1])
        recent = self.recent.then(minutes)
        self.recent = recent.where(recent.closed > self.last - self.window_seconds)

    def report(self) -> Report:
        served, forecast = self.served, self.served.forecast
        missing = 0
        if self.first is not None and self.last is not None:
            missing = (self.last - self.first) // MINUTE + 1 - self.count
        return Report(
            asset=served.slug,
            symbol=served.symbol,
            model_version=served.model_version,
            data_until=forecast.last_bar,
            scored_from=self.start,
            scored_until=forecast.end,
            minutes=self.count,
            first=self.first,
            last=self.last,
            missing=missing,
            since_release=self.release.scores(self.naive is not None),
            window_hours=self.window_hours,
            window=self._window_scores(),
            naive=self.naive is not None,
            backtest=backtest_coverage(served.artifact.manifest.metrics),
        )

    def _window_scores(self) -> tuple[LeadScores, ...]:
        if self._window is None or self._window[0] != self.last:
            buckets = Buckets()
            buckets.add(self.recent)
            self._window = (self.last, buckets.scores(self.naive is not None))
        return self._window[1]


def backtest_coverage(summary: BacktestSummary | None) -> dict[str, dict[str, float]]:
    """Per lead bucket, the served band's coverage by level in the backtest at the bucket's
    horizon (none for a model trained without a backtest)."""
    if summary is None:
        return {}
    horizons = summary.horizons()
    out: dict[str, dict[str, float]] = {}
    for lead in LEADS:
        scores = horizons.get(lead.horizon)
        served = scores.prophet if scores is not None else None
        if served is not None and served.coverage_by_level:
            out[lead.name] = dict(served.coverage_by_level)
    return out


class Scorecards:
    """Every served model's scorecard, created when its minutes are first asked for, each
    updated at most every `refresh_seconds` from `read`."""

    def __init__(
        self,
        catalog: Catalog,
        read: MinuteSource,
        *,
        window_hours: float,
        refresh_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.catalog = catalog
        self.read = read
        self.window_hours = window_hours
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self._cards: dict[str, tuple[float, ModelScorecard]] = {}
        self._lock = threading.Lock()

    def report(self, served: ServedAsset) -> Report:
        """`served`'s scorecard, with the minutes stored since it was last updated (unless
        that was less than `refresh_seconds` ago); the reader's errors go through."""
        with self._lock:
            due, card = self._cards.get(served.slug, (-math.inf, None))
            if card is None or card.served is not served:
                due, card = -math.inf, ModelScorecard(served, window_hours=self.window_hours)
                self._cards[served.slug] = (due, card)
        with card.lock:
            if self.clock() >= due:
                card.update(self.read)
                with self._lock:
                    self._cards[served.slug] = (self.clock() + self.refresh_seconds, card)
            return card.report()


def answer(report: Report) -> answers.LiveScorecard:
    """The scorecard as `/model/{asset}/live` answers it."""
    return answers.LiveScorecard(
        asset=report.asset,
        symbol=report.symbol,
        model_version=report.model_version,
        data_until=iso_utc(report.data_until),
        scored_from=iso_utc(report.scored_from),
        scored_until=iso_utc(report.scored_until),
        minutes=report.minutes,
        first=_date(report.first),
        last=_date(report.last),
        missing_minutes=report.missing,
        naive=report.naive,
        since_release=[_lead(each, report.backtest) for each in report.since_release],
        window=answers.LiveWindow(
            hours=report.window_hours,
            leads=[_lead(each, report.backtest) for each in report.window],
        ),
        detail=None if report.minutes else _nothing_yet(report),
    )


def _lead(scores: LeadScores, backtest: dict[str, dict[str, float]]) -> answers.LiveLead:
    lead = scores.lead
    held = backtest.get(lead.name, {})
    return answers.LiveLead(
        lead=lead.name,
        from_hours=lead.start,
        to_hours=lead.end,
        minutes=scores.minutes,
        first=_date(scores.first),
        last=_date(scores.last),
        overlap_minutes=lead.overlap,
        backtest_horizon=lead.horizon,
        levels={
            str(level.level): answers.LiveLevelScores(
                expected=level.level / 100,
                coverage=level.coverage,
                coverage_se=level.coverage_se,
                backtest_coverage=held.get(str(level.level)),
                interval_score=level.interval_score,
                interval_score_se=level.interval_score_se,
                naive_interval_score=level.naive_interval_score,
                difference=level.difference,
                difference_se=level.difference_se,
                verdict=level.verdict(),
            )
            for level in scores.levels
        },
    )


def _date(epoch: int | None) -> str | None:
    return None if epoch is None else iso_utc(epoch)


def _nothing_yet(report: Report) -> str:
    return (
        f"no stored minute of {report.symbol} opened from {iso_utc(report.scored_from)} (when "
        f"the model's last bar closed) and closed by {iso_utc(report.scored_until)} (the end "
        "of its forecast) yet"
    )


def summary(report: Report) -> answers.LiveSummary:
    """What the model card says of the live scorecard: a sentence, and per lead bucket the
    minutes scored and the 80% band's share inside, since the model's data ended."""
    leads = [
        answers.LiveLeadSummary(
            lead=scores.lead.name,
            minutes=scores.minutes,
            coverage_80=_level(scores, DEFAULT_LEVEL).coverage,
            coverage_80_se=_level(scores, DEFAULT_LEVEL).coverage_se,
        )
        for scores in report.since_release
    ]
    return answers.LiveSummary(
        url=f"/model/{report.asset}/live",
        minutes=report.minutes,
        last=_date(report.last),
        sentence=_sentence(report),
        leads=leads,
    )


def _level(scores: LeadScores, level: int) -> LevelScores:
    return next(found for found in scores.levels if found.level == level)


def _sentence(report: Report) -> str:
    if not report.minutes:
        return f"No live minute has been scored yet: {_nothing_yet(report)}."
    held = []
    for scores in report.since_release:
        found = _level(scores, DEFAULT_LEVEL)
        if found.coverage is None:
            continue
        se = "" if found.coverage_se is None else f" (SE {found.coverage_se:.1%})"
        held.append(
            f"{found.coverage:.1%}{se} of {scores.minutes:,} {LEAD_WORDS[scores.lead.name]}"
        )
    return (
        f"Since its data ended ({iso_utc(report.data_until)}), {report.minutes:,} live minutes "
        f"were scored to {_date(report.last)}: the {DEFAULT_LEVEL}% band held "
        f"{_listed(held)}, against {DEFAULT_LEVEL}% expected."
    )


LEAD_WORDS = {
    "under_1h": "minutes under an hour ahead",
    "1h_to_1d": "an hour to a day ahead",
    "1d_to_7d": "a day to a week ahead",
    "beyond_7d": "beyond a week",
}


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
