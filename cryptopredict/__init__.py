"""cryptopredict: crypto price forecasts, retrained every six hours and served over HTTP, or
read as a table without a server (`cryptopredict.forecasts()`, `cryptopredict/table.py`); fitted
on one's own prices (`fit`) and scored at every origin of the panel (`cross_validation`), with
statsforecast's verbs (`cryptopredict/library.py`)."""

import importlib
from typing import Any

VERBS = {"forecasts": "table", "fit": "library", "cross_validation": "library"}


def __getattr__(name: str) -> Any:
    """The verbs, imported when first used: importing the package loads nothing else."""
    if name not in VERBS:
        raise AttributeError(f"module 'cryptopredict' has no attribute {name!r}")
    return getattr(importlib.import_module(f"cryptopredict.{VERBS[name]}"), name)
