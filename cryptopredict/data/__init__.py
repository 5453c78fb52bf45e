"""Market data: sources, the history store, validation, and candles."""

from cryptopredict.candles import Interval
from cryptopredict.data.errors import DataError, SourceError, StaleDataError, ValidationError
from cryptopredict.data.frame import Bars, check_frame, make_frame, resample
from cryptopredict.data.history import History, NoHistoryError, load_history
from cryptopredict.data.validation import Rules, ValidationFindings, summarize, validate

__all__ = [
    "Bars",
    "DataError",
    "History",
    "Interval",
    "NoHistoryError",
    "Rules",
    "SourceError",
    "StaleDataError",
    "ValidationError",
    "ValidationFindings",
    "check_frame",
    "load_history",
    "make_frame",
    "resample",
    "summarize",
    "validate",
]
