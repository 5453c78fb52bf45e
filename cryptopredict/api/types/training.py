"""A training run still writing into the model directory (`make run`), as `/healthz` and
`/assets` report it: the pairs still training, with their progress, and those it could not
train or ends with their quick model, with why."""

from __future__ import annotations

from typing import Annotated, Literal

from cryptopredict.api.types.common import Answer, Time, doc
from cryptopredict.artifact.training import Served


class TrainingPair(Answer):
    asset: Annotated[str, doc("The slug, e.g. `eth-usd`.")]
    state: Annotated[
        Literal["running", "waiting"],
        doc(
            "`running`: a task of it runs on a worker now (`step` says which); `waiting`: its "
            "next task waits for a worker (the other pairs' tasks run first)."
        ),
    ]
    step: Annotated[str, doc("What runs now, or what it waits to do, in words.")]
    fits_done: Annotated[int, doc("Prophet fits done (backtest refits, final fit).")]
    fits_total: Annotated[
        int,
        doc(
            "Prophet fits planned, all that it may need; refits found not needed (the damping "
            "chosen) leave the total. 0 until the pair's history is read."
        ),
    ]
    percent: Annotated[int, doc("`fits_done` of the total.")]
    served: Annotated[
        Served | None,
        doc(
            "What is served of the pair meanwhile: `quick`, its quick model (the last price "
            "carried forward with a typical band, not yet tested on past prices), or null: "
            "nothing yet."
        ),
    ]
    eta_seconds: Annotated[
        int | None,
        doc(
            "Seconds until its last fit ends, estimated: the work left in the order the workers "
            "run it, each pair's fits at their own measured cost; null at first."
        ),
    ]


class FailedPair(Answer):
    asset: str
    reason: Annotated[str, doc("Why it did not train.")]


class QuickPair(Answer):
    asset: str
    reason: Annotated[str, doc("Why its backtest was not done in this run.")]


class Training(Answer):
    """A training run still writing into the model directory (`make run`)."""

    updated_at: Time
    eta_seconds: Annotated[
        int | None, doc("Seconds left in all: when the last pair's last fit should end.")
    ]
    pairs: Annotated[list[TrainingPair], doc("The pairs still training.")]
    failed: Annotated[
        list[FailedPair],
        doc("The pairs this run could not train, with why (a quick model written stays served)."),
    ]
    quick: Annotated[
        list[QuickPair],
        doc("The pairs this run ends with their quick model served, not backtested, with why."),
    ]


TRAINING = doc(
    "While training still writes into the model directory (`make run` serves each pair as soon "
    "as its model is written): the pairs still training, with their progress, and those it "
    "could not train; null otherwise."
)
