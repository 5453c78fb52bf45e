"""Market data: sources, the history store, validation, and candles."""

from cryptopredict.data.candles import Candles, aggregate
from cryptopredict.data.errors import DataError, SourceError, StaleDataError, ValidationError
from cryptopredict.data.frame import Bars, check_frame, make_frame
from cryptopredict.data.history import SOURCE_NAMES, History, NoHistoryError, load_history
from cryptopredict.data.intervals import Interval
from cryptopredict.data.validation import Rules, ValidationReport, validate

__all__ = [
    "SOURCE_NAMES",
    "Bars",
    "Candles",
    "DataError",
    "History",
    "Interval",
    "NoHistoryError",
    "Rules",
    "SourceError",
    "StaleDataError",
    "ValidationError",
    "ValidationReport",
    "aggregate",
    "check_frame",
    "load_history",
    "make_frame",
    "validate",
]
