"""Settings from the environment (each process parses only those it reads), intervals, and the
canonical frame's shape check."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pandas as pd
import pytest

from cryptopredict.assets import ASSETS, UnknownPairError, asset_for_symbol
from cryptopredict.config import (
    PROCESSES,
    ApiSettings,
    CollectorSettings,
    ConfigError,
    HistorySettings,
    TrainingSettings,
    WorkerSettings,
    variables,
)
from cryptopredict.data.frame import FrameError, check_frame, make_frame
from cryptopredict.training.steps import fetch
from cryptopredict.training.tasks import Fetch, FetchSettings
from tests.paths import ROOT

# What each process parses: nothing more, so a value only another process reads never stops it.
PARSED = {
    "API": {
        "HOST", "PORT", "THREADS", "MAX_CONNECTIONS_PER_CLIENT", "CLIENT_IP_HEADER", "ACCESS_LOG",
        "CORS_ORIGINS",
        "FORECAST_MAX_POINTS", "CANDLES_MAX_POINTS", "CACHE_SECONDS", "POLLER_FAILING_AFTER",
        "STALE_AFTER_HOURS", "NOTE_AFTER_HOURS",
        "MODEL_DIR", "MAX_HORIZON_DAYS", "DATABASE_URL",
        "LIVE_CONNECT_TIMEOUT", "LIVE_STATEMENT_TIMEOUT", "LIVE_RETRY_SECONDS",
        "LIVE_MAX_THREADS", "LIVE_MAX_ROWS", "LIVE_CACHE_SECONDS",
        "LOG_LEVEL",
        # the market feed's, which it runs beside it
        "LATEST_PRICES", "LATEST_PRICE_SECONDS", "LATEST_PRICE_TIMEOUT", "MINUTE_RETENTION_DAYS",
        "ASSETS", "ALPACA_API_KEY", "ALPACA_SECRET_KEY", "MAX_BAR_JUMP",
    },
    "training client": {
        "TRAIN_WORKERS", "DASK_SCHEDULER_ADDRESS",
        "DASK_DASHBOARD_ADDRESS", "MODEL_VERSION", "GIT_SHA", "GATE_MIN_COVERAGE",
        "GATE_MAX_COVERAGE", "GATE_MAX_MAPE_RATIO", "ASSETS", "MODEL_DIR", "MAX_HORIZON_DAYS",
        "TRACK_RECORD_AFRESH", "PREVIOUS_IMAGE",
        "LOG_LEVEL",
        # sent to the workers with each pair's job (FetchSettings)
        "BINANCE_API_URL", "ALPACA_DATA_URL", "HTTP_CONNECT_TIMEOUT", "HTTP_READ_TIMEOUT",
        "HTTP_ATTEMPTS", "CRYPTOPREDICT_CACHE", "REQUIRE_FRESH_HOURS", "FETCH_TIMEOUT", "MIN_ROWS",
        "MAX_BAR_JUMP",
    },
    "Dask worker": {"ALPACA_API_KEY", "ALPACA_SECRET_KEY"},
    "market feed": {
        "LATEST_PRICES", "LATEST_PRICE_SECONDS", "LATEST_PRICE_TIMEOUT", "MINUTE_RETENTION_DAYS",
        "DATABASE_URL", "ASSETS", "ALPACA_API_KEY",
        "ALPACA_SECRET_KEY", "MAX_BAR_JUMP", "LOG_LEVEL",
    },
}  # fmt: skip

# Where each process's code reads its settings (the training client's sent sections are read by
# the workers' data sources).
READ_IN = {
    "API": ("cryptopredict/api", "cryptopredict/collect"),  # it runs the feed beside it
    "training client": ("cryptopredict/training", "cryptopredict/model/gate.py"),
    "Dask worker": ("cryptopredict/data",),
    "market feed": ("cryptopredict/collect",),
}
SENT = set(variables(FetchSettings))


def test_each_process_parses_the_settings_it_lists():
    parsed = {name: {v.env for v in variables(kind).values()} for name, kind in PROCESSES.items()}
    assert parsed == PARSED


def _attributes(*paths: str) -> set[str]:
    files = [
        f for p in paths for f in ([ROOT / p] if p.endswith(".py") else (ROOT / p).rglob("*.py"))
    ]
    return {
        node.attr
        for file in files
        for node in ast.walk(ast.parse(file.read_text()))
        if isinstance(node, ast.Attribute)
    }


@pytest.mark.parametrize("process", list(PROCESSES))
def test_no_process_parses_a_setting_it_does_not_read(process):
    fields = set(variables(PROCESSES[process]))
    own = fields - SENT if process == "training client" else fields
    assert own - _attributes(*READ_IN[process]) == set()
    if process == "training client":
        assert fields & SENT == SENT
        assert SENT - _attributes("cryptopredict/data") == set()


def test_a_malformed_setting_stops_only_the_process_that_reads_it():
    bad = {"PORT": "80a", "TRAIN_WORKERS": "0"}  # the API's own, and training's
    with pytest.raises(
        ConfigError, match=r"PORT must be a whole number, at least 0 and at most 65535, got '80a'"
    ):
        ApiSettings.from_env(bad)
    with pytest.raises(ConfigError, match="MINUTE_RETENTION_DAYS must be a number, more than 0"):
        CollectorSettings.from_env({**bad, "MINUTE_RETENTION_DAYS": "0"})  # the API's too
    with pytest.raises(ConfigError, match="TRAIN_WORKERS must be a whole number, at least 1"):
        TrainingSettings.from_env(bad)
    assert TrainingSettings.from_env({"PORT": "80a"}) == TrainingSettings()
    assert CollectorSettings.from_env({"PORT": "80a"}) == CollectorSettings()
    assert WorkerSettings.from_env(bad) == WorkerSettings()


def test_a_malformed_port_on_a_worker_does_not_fail_a_pair(monkeypatch, tmp_path):
    client = TrainingSettings.from_env({"CRYPTOPREDICT_CACHE": str(tmp_path), "MIN_ROWS": "50"})
    # The worker's environment: the API's variables malformed, its own key set.
    for name, value in {"PORT": "80a", "THREADS": "0", "MIN_ROWS": "many"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ALPACA_API_KEY", "key-id")
    job = Fetch("1h", "2024-01-01", "snapshot", None, FetchSettings.of(client))
    on_worker = job.settings.settings()
    assert on_worker.min_rows == 50  # the client's, sent with the job
    assert on_worker.cache_dir == tmp_path
    assert on_worker.alpaca_api_key == "key-id"  # the worker's own
    history = fetch(ASSETS["btc-usd"], job)
    assert len(history.bars.frame) >= 50


def test_defaults_apply_when_the_environment_is_empty():
    settings = HistorySettings.from_env({})
    assert settings == HistorySettings()
    assert settings.cache_dir == Path(".cache/history")
    assert settings.require_fresh_hours is None


def test_environment_values_are_typed():
    settings = TrainingSettings.from_env(
        {"REQUIRE_FRESH_HOURS": "12", "HTTP_ATTEMPTS": "2", "CRYPTOPREDICT_CACHE": "/tmp/x",
         "TRAIN_WORKERS": "3", "MODEL_DIR": " ", "GIT_SHA": "abc"}
    )  # fmt: skip
    assert settings.require_fresh_hours == 12.0
    assert settings.http_attempts == 2
    assert settings.cache_dir == Path("/tmp/x")
    assert settings.train_workers == 3
    assert settings.model_dir == Path("artifacts")  # blank: unset
    assert settings.git_sha == "abc"
    assert ApiSettings.from_env({"ACCESS_LOG": "true"}).access_log is True


@pytest.mark.parametrize(
    ("env", "text", "said"),
    [
        ("HTTP_ATTEMPTS", "many", "HTTP_ATTEMPTS must be a whole number, at least 1, got 'many'"),
        ("TRAIN_WORKERS", "0", "TRAIN_WORKERS must be a whole number, at least 1, got '0'"),
        (
            "GATE_MIN_COVERAGE",
            "1.5",
            "GATE_MIN_COVERAGE must be a number, at least 0 and at most 1",
        ),
        ("LOG_LEVEL", "loud", "must be text, DEBUG, INFO, WARNING, ERROR or CRITICAL, in any"),
        ("LATEST_PRICES", "kraken", "must be text, binance, alpaca or both, comma-separated, e.g."),
    ],
)
def test_a_bad_value_names_the_variable_and_the_values_it_allows_in_words(env, text, said):
    with pytest.raises(ConfigError, match=re.escape(said)) as refused:
        (ApiSettings if env == "LATEST_PRICES" else TrainingSettings).from_env({env: text})
    assert env in str(refused.value)
    assert "(?i)" not in str(refused.value)  # never a regular expression


def test_secrets_stay_out_of_reprs():
    settings = WorkerSettings.from_env({"ALPACA_API_KEY": "key-id", "ALPACA_SECRET_KEY": "s3cret"})
    assert settings.alpaca_secret_key == "s3cret"
    assert "s3cret" not in repr(settings)
    assert "key-id" not in repr(settings)


def test_make_frame_coerces_types_and_keeps_order():
    frame = make_frame(
        {
            "timestamp": ["2024-01-01T01:00:00Z", "2024-01-01T00:00:00Z"],
            "open": [1, 2],
            "high": ["3", "4"],
            "low": [1, 1],
            "close": [2, 2],
            "volume": [0, 5],
            "ignored": ["a", "b"],
        }
    )
    assert list(frame.columns) == ["timestamp", "open", "high", "low", "close", "volume"]
    assert str(frame["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert frame["high"].tolist() == [3.0, 4.0]
    assert frame["timestamp"].iloc[0].hour == 1
    with pytest.raises(FrameError, match="not sorted"):
        check_frame(frame)


def test_check_frame_lists_every_problem():
    frame = pd.DataFrame({"timestamp": ["x"], "open": [1], "high": [1.0], "extra": [1]})
    with pytest.raises(FrameError) as failure:
        check_frame(frame)
    message = str(failure.value)
    for problem in ("missing column(s) low, close, volume", "unexpected column(s) extra",
                    "timestamp is", "open is int64"):  # fmt: skip
        assert problem in message


def test_assets_are_found_by_symbol_or_slug():
    assert asset_for_symbol("btc/usd").binance_symbol == "BTCUSDT"
    assert asset_for_symbol("eth-usd").alpaca_symbol == "ETH/USD"
    with pytest.raises(UnknownPairError, match="'DOGE' is not a pair"):
        asset_for_symbol("DOGE")
