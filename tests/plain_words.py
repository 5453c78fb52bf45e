"""The terms of art a newcomer does not read first (issue 56): docs/model.md explains each once
("Terms"); the dashboard's first lines and the model card's summary say the same in plain words,
and keep the terms for the detail."""

from __future__ import annotations

import re

# Each term, as docs/model.md's "Terms" names it, and the words that are it in a text.
TERMS = {
    "Prophet": r"prophet",
    "backtest": r"backtest",
    "refit": r"refit",
    "damping": r"damp(?:ing|ed)|\btau\b",
    "naive forecast": r"naive",
    "interval score": r"interval score",
    "Newey-West standard error": r"newey",
    "the panel's band": r"\bpanel",
    "spread floor": r"spread floor|\bpool\b|quantile",
    "calibrated": r"calibrat",
    "hindcast": r"hindcast",
}
TERMS_OF_ART = re.compile("|".join(TERMS.values()), re.IGNORECASE)
