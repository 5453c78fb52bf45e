"""The model card (the manifest training wrote, the verdict first), backtest rows, `/healthz`."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from cryptopredict.api.types.common import Answer, Query, Time, doc
from cryptopredict.api.types.forecast import AnchorSource
from cryptopredict.api.types.market import MAX_OFFSET, TRAINING, TrainingProgress, whole
from cryptopredict.api.types.track_record import TrackRecordSummary
from cryptopredict.artifact import schema
from cryptopredict.artifact.run import PairFailure
from cryptopredict.artifact.schema import LEVELS, BandVerdict

EDGES = tuple(f"{side}-{level}" for level in LEVELS for side in ("lo", "hi"))
ORIGIN_COLUMNS = ("cutoff", "ds", "horizon", "y", "yhat", *EDGES)


class OriginsQuery(Query):
    offset: Annotated[int, whole("Skip this many rows first. Default 0.", 0, MAX_OFFSET)] = 0
    limit: Annotated[int, whole("At most this many rows (default 1000).", 1, 10_000)] = 1000


class BacktestOrigins(Answer):
    total: Annotated[int, doc("How many rows in all (0: a model trained without a backtest).")]
    next: Annotated[str | None, doc("The URL of the next page; null on the last.")]
    columns: Annotated[list[str], doc("The rows' fields, in order.")]
    rows: Annotated[list[list[str | float]], doc("`pandas.DataFrame(rows, columns=columns)`.")]


def _by_level(description: str) -> msgspec.Meta:
    return doc(f"{description}, by level in percent (`50`, `80`, `95`); null where not scored.")


class HorizonVerdict(Answer):
    horizon: Annotated[str, doc("The horizon scored.", examples=["1h"])]
    verdict: Annotated[
        BandVerdict | None,
        doc(
            "The band against the naive band's by the 80% interval score: a tie within two "
            "standard errors (Student's t's critical value where few independent windows make "
            "it larger), `too few windows` where none holds; null where the band was not scored."
        ),
    ]
    interval_score: Annotated[
        float | None, doc("The served band's mean 80% interval score (log prices).")
    ]
    naive_interval_score: Annotated[float | None, doc("The naive band's, on the same origins.")]
    difference: Annotated[
        float | None, doc("The served minus the naive score, paired over the origins.")
    ]
    se: Annotated[
        float | None, doc("The difference's standard error (flat-top Newey-West over the overlap).")
    ]
    relative: Annotated[
        float | None,
        doc("The served minus the naive score over the naive score.", examples=[-0.092]),
    ]
    relative_bound: Annotated[
        float | None,
        doc(
            "The one-sided 95% upper bound of `relative`: the served band is no worse than "
            "naive's by more than this share (null where too few windows were scored).",
            examples=[-0.07],
        ),
    ]
    coverage: Annotated[dict[str, float] | None, _by_level("Share of closes the served band held")]
    coverage_se: Annotated[dict[str, float] | None, _by_level("Standard error of `coverage`")]
    naive_coverage: Annotated[
        dict[str, float] | None, _by_level("Share of closes the naive band held")
    ]
    naive_coverage_se: Annotated[
        dict[str, float] | None, _by_level("Standard error of `naive_coverage`")
    ]
    mape: Annotated[
        float | None, doc("Mean absolute percentage error of the served point forecast.")
    ]
    naive_mape: Annotated[float | None, doc("The naive forecast's.")]


class Verdict(Answer):
    """What the point forecast is and how the band fared."""

    summary: Annotated[
        str,
        doc(
            "One plain sentence to read first, without figures: what the line is, what the "
            "band is, and how the band scored against the naive forecast's at each horizon (or "
            "that no backtest has yet); the detail is in the fields below."
        ),
    ]
    point_forecast: Annotated[
        str,
        doc(
            "What the served point forecast is (the last close when the damping is tau 0, so "
            "that the band is what the model adds; Prophet damped by tau otherwise), and whether "
            "the damping was chosen, forced or fixed, and why."
        ),
    ]
    band: Annotated[
        str,
        doc(
            "The band's method, and whether it was chosen, forced or fixed, and why; empty for "
            "a model that does not record it."
        ),
    ]
    sentence: Annotated[
        str,
        doc(
            "The verdicts summed up in one sentence, each with the interval scores and standard "
            "error behind it; empty without a backtest."
        ),
    ]
    rule: Annotated[str, doc("How a verdict is reached.")]
    horizons: Annotated[
        list[HorizonVerdict], doc("Per horizon scored, shortest first; empty without a backtest.")
    ]


ModelCard = msgspec.defstruct(
    "ModelCard",
    [
        ("verdict", Verdict),
        *((field.name, field.type) for field in msgspec.structs.fields(schema.Manifest)),
        (
            "track_record",
            Annotated[
                TrackRecordSummary | None,
                doc(
                    "How the forecasts the service issued of the asset fared once due "
                    "(`/model/{asset}/track-record`); null when no minute bars can be read."
                ),
            ],
        ),
    ],
    kw_only=True,
    namespace={
        "__doc__": "Its verdict first, then the manifest training wrote (`naive` null where the "
        "artifact keeps none): what the model is, what it was trained on, how its output is "
        "served, its backtest summary (`metrics`) and where its validation ended (null: trained "
        "without a backtest), and each file's sha256."
    },
)


class AnchorNow(Answer):
    """Where an answer for the next hour starts now: the latest price the API read, when newer
    than the model's data, else (`model`) the close of the model's last bar."""

    source: AnchorSource
    at: Annotated[Time, doc("The instant of that price, in UTC.")]
    age_seconds: Annotated[int, doc("Seconds since `at`.")]


class AssetHealth(Answer):
    asset: str
    model_version: str
    created_at: Annotated[Time, doc("When the model was trained.")]
    data_last: Annotated[Time, doc("Time of the last bar the model saw.")]
    data_age_seconds: Annotated[int, doc("Seconds since `data_last`.")]
    anchor: AnchorNow


class Unavailable(Answer):
    asset: str
    detail: Annotated[str, doc("Why it cannot be served.")]


class FeedHealth(Answer):
    """How the market feed's polls went, as it last recorded in its database."""

    sources: Annotated[
        list[str], doc("The exchanges it polls (LATEST_PRICES), in the order it tries them.")
    ]
    last_success: Annotated[Time | None, doc("When a poll last succeeded; null: none yet.")]
    last_error: Annotated[str | None, doc("Why the polls fail, in a line; null once one succeeds.")]
    last_error_at: Annotated[Time | None, doc("When it failed.")]
    failing_since: Annotated[
        Time | None,
        doc("Since when every poll has failed; null while the last one succeeded."),
    ]


class Health(Answer, kw_only=True):
    """The default asset's model at the top (what a deploy checks), as `assets` says it (null
    while none is served), and every served one."""

    asset: str | None = None
    model_version: str | None = None
    created_at: Time | None = None
    data_last: Time | None = None
    data_age_seconds: int | None = None
    anchor: AnchorNow | None = None
    status: Annotated[
        Literal["starting", "ok", "degraded"],
        doc(
            "`degraded` once an asset's artifact could not be opened (`unavailable`), while a "
            "pair the training run could not train is named in `failed`, while a served asset's "
            "newest data is older than STALE_AFTER_HOURS (`stale`), or while the market feed's "
            "polls have failed, or none was recorded (it stopped), for longer than "
            "POLLER_FAILING_AFTER (`latest_prices`), or while the proxy's connections for large "
            "answers are all taken; `reasons` says which. Else `starting` while no asset is "
            "served yet, a training run writing the first (`training`), and `ok`. Still HTTP 200."
        ),
    ]
    assets: Annotated[list[AssetHealth], doc("Every served asset.")]
    unavailable: Annotated[
        list[Unavailable],
        doc(
            "The assets whose artifact could not be opened (they answer 503); artifacts open on "
            "first use, so one found corrupt appears here once asked for."
        ),
    ]
    failed: Annotated[
        list[PairFailure],
        doc(
            "The pairs the training run could not train, with why: the run training now, or "
            "else the last one (`run.json`), until the next run. A model of it trained before "
            "is still served."
        ),
    ]
    training: Annotated[TrainingProgress | None, TRAINING]
    latest_prices: Annotated[
        FeedHealth | None,
        doc(
            "The market feed, which reads the latest prices the forecasts start from and the "
            "live minutes; null where no feed has written the database (LATEST_PRICES unset)."
        ),
    ]
    stale_after_hours: Annotated[
        float,
        doc(
            "The deployment's promise (STALE_AFTER_HOURS): a served asset whose newest bar is "
            "older than this many hours is `stale`."
        ),
    ]
    stale: Annotated[list[str], doc("The served assets whose newest data breaks the promise.")]
    reasons: Annotated[list[str], doc("Why `status` is `degraded`, each in words; empty if ok.")]
