"""Logging for the command-line tools: one line per event on stderr, naming the pair a training
line is about, with the password of any URL (and any `password=...`) as `***`, whoever wrote it.
"""

from __future__ import annotations

import logging

from cryptopredict.redaction import redact_text

NOISY = ("cmdstanpy", "prophet", "urllib3", "binance")


class RedactingFormatter(logging.Formatter):
    """Also starts a line with the pair its record carries (`training.tasks.naming`)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        pair = getattr(record, "pair", None)
        if pair and not record.message.startswith(f"{pair}:"):
            record.message = f"{pair}: {record.message}"
        return super().formatMessage(record)


def configure(level: str = "INFO") -> None:
    """A stderr handler on the root logger, as `logging.basicConfig` makes (none if it has one)."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(
            RedactingFormatter(
                "%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%Y-%m-%dT%H:%M:%S"
            )
        )
        root.addHandler(handler)
        root.setLevel(level.upper())
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)
