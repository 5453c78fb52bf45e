"""cryptopredict: crypto price forecasts, retrained every six hours and served over HTTP, or
read as a table without a server: `cryptopredict.forecasts()` (`cryptopredict/table.py`)."""

from typing import Any


def __getattr__(name: str) -> Any:
    """`forecasts`, imported when first used: importing the package loads nothing else."""
    if name != "forecasts":
        raise AttributeError(f"module 'cryptopredict' has no attribute {name!r}")
    from cryptopredict.table import forecasts  # noqa: PLC0415

    return forecasts
