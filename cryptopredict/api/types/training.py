"""A training run still writing into the model directory (`make run`), as `/healthz` and
`/assets` report it: the pairs still training, with their progress, and those it could not
train, with why."""

from __future__ import annotations

from typing import Annotated, Literal

from cryptopredict.api.types.common import Answer, Time, doc


class TrainingPair(Answer):
    asset: Annotated[str, doc("The slug, e.g. `eth-usd`.")]
    state: Annotated[
        Literal["running", "waiting"],
        doc(
            "`running`: its task runs on a worker now (`step` says what it does); `waiting`: "
            "its task waits for a worker (the other pairs' tasks run first)."
        ),
    ]
    step: Annotated[str, doc("What it does now, or what it waits to do, in words.")]
    eta_seconds: Annotated[
        int | None,
        doc(
            "Seconds until its model should be written, estimated: the pairs left in the order "
            "the workers run them, each at its own pace when it last trained into this model "
            "directory, else at that of the pairs of its bar interval done in this run; null "
            "when neither is measured, or it runs past its measure."
        ),
    ]


class FailedPair(Answer):
    asset: str
    reason: Annotated[str, doc("Why it did not train.")]


class TrainingProgress(Answer):
    """A training run still writing into the model directory (`make run`)."""

    updated_at: Time
    eta_seconds: Annotated[
        int | None,
        doc(
            "Seconds left in all: when the last pair's model should be written; null when "
            "a pair's is not known."
        ),
    ]
    pairs: Annotated[list[TrainingPair], doc("The pairs still training.")]
    failed: Annotated[
        list[FailedPair],
        doc("The pairs this run could not train, with why (a model written before stays served)."),
    ]


TRAINING = doc(
    "While training still writes into the model directory (`make run` serves each pair as soon "
    "as its model is written): the pairs still training, with their progress, and those it "
    "could not train; null otherwise."
)
