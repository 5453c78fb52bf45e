"""Logging for the command-line tools: one line per event on stderr."""

from __future__ import annotations

import logging

NOISY = ("cmdstanpy", "prophet", "urllib3", "binance")


def configure(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
    )
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)
