"""A training run still writing into the model directory (`make run`), as `/healthz` and
`/assets` report it: the pairs whose final model is not served yet, with their progress."""

from __future__ import annotations

from typing import Annotated

from cryptopredict.api.types.common import Answer, Time, doc
from cryptopredict.artifact.training import Served


class TrainingPair(Answer):
    asset: Annotated[str, doc("The slug, e.g. `eth-usd`.")]
    step: Annotated[str, doc("What its training is doing, in words.")]
    fits_done: Annotated[int, doc("Prophet fits done (backtest refits, final fit).")]
    fits_total: Annotated[int, doc("Prophet fits planned; 0 until the pair's history is read.")]
    percent: Annotated[int, doc("`fits_done` of the total.")]
    served: Annotated[
        Served | None,
        doc(
            "What is served of the pair meanwhile: `quick`, its quick model (the last close and "
            "the panel's band, not yet backtested), or null: nothing yet."
        ),
    ]
    eta_seconds: Annotated[
        int | None, doc("Seconds left, estimated from the run's pace; null at first.")
    ]


class Training(Answer):
    """A training run still writing into the model directory (`make run`)."""

    updated_at: Time
    eta_seconds: Annotated[int | None, doc("Seconds left in all.")]
    pairs: Annotated[list[TrainingPair], doc("The pairs whose final model is not served yet.")]


TRAINING = doc(
    "While training still writes into the model directory (`make run` serves each pair as soon "
    "as its model is written): the pairs still training, with their progress; null otherwise."
)
