"""Settings from the environment, intervals, and the canonical frame's shape check."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cryptopredict.assets import UnknownAssetError, asset_for_symbol
from cryptopredict.config import ConfigError, Settings
from cryptopredict.data.frame import FrameError, check_frame, make_frame


def test_defaults_apply_when_the_environment_is_empty():
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.cache_dir == Path(".cache/history")
    assert settings.require_fresh_hours is None


def test_environment_values_are_typed():
    settings = Settings.from_env(
        {"REQUIRE_FRESH_HOURS": "12", "HTTP_ATTEMPTS": "2", "CRYPTOPREDICT_CACHE": "/tmp/x"}
    )
    assert settings.require_fresh_hours == 12.0
    assert settings.http_attempts == 2
    assert settings.cache_dir == Path("/tmp/x")


def test_a_bad_value_names_the_variable():
    with pytest.raises(ConfigError, match="HTTP_ATTEMPTS must be a whole number, got 'many'"):
        Settings.from_env({"HTTP_ATTEMPTS": "many"})


def test_secrets_stay_out_of_reprs():
    settings = Settings.from_env({"ALPACA_API_KEY": "key-id", "ALPACA_SECRET_KEY": "s3cret"})
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
    with pytest.raises(UnknownAssetError, match="'DOGE' is not a pair"):
        asset_for_symbol("DOGE")
