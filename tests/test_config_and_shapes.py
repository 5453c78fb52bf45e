"""Settings from the environment, intervals, and the canonical frame's shape check."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cryptopredict.assets import UnknownAssetError, asset_for_symbol
from cryptopredict.config import ConfigError, Settings
from cryptopredict.data.frame import FrameError, check_frame, make_frame
from cryptopredict.data.intervals import Interval


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


@pytest.mark.parametrize(
    ("text", "delta"),
    [("1m", "1min"), ("5m", "5min"), ("1h", "1h"), ("4h", "4h"), ("1d", "1D"), ("1w", "7D")],
)
def test_intervals_parse(text, delta):
    assert Interval.parse(text).delta == pd.Timedelta(delta)
    assert str(Interval.parse(text)) == text


@pytest.mark.parametrize("text", ["", "h", "0h", "1y", "1.5h", "-1h"])
def test_bad_intervals_are_refused(text):
    with pytest.raises(ValueError, match="unknown interval"):
        Interval.parse(text)


def test_multiples():
    hour = Interval.parse("1h")
    assert Interval.parse("4h").is_multiple_of(hour)
    assert Interval.parse("1w").is_multiple_of(Interval.parse("1d"))
    assert not Interval.parse("90m").is_multiple_of(hour)
    assert not Interval.parse("30m").is_multiple_of(hour)


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
    with pytest.raises(UnknownAssetError, match="unknown symbol 'DOGE/USD'; known: BTC/USD"):
        asset_for_symbol("DOGE/USD")
