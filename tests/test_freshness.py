"""Old data said in words, with how to get fresh prices (issue 84; issue 82 bar 4): what `make
run` prints offline, where the embedded data ends months before now."""

from __future__ import annotations

import pytest

from cryptopredict.freshness import FRESH_PRICES, in_words, old_data

HOUR = 3600
NOW = 1_795_000_000  # 2026-11-18T11:06:40Z


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (60, "1 minute"),
        (45 * 60, "45 minutes"),
        (5 * HOUR, "5 hours"),
        (12 * 24 * HOUR, "12 days"),
        (123 * 24 * HOUR, "4 months (123 days)"),
    ],
)
def test_an_age_is_said_in_words(seconds, said):
    assert in_words(seconds) == said


def test_fresh_data_says_nothing():
    assert old_data({"btc-usd": NOW - HOUR}, NOW, polled=False) is None


def test_old_data_says_each_pairs_age_the_lead_and_how_to_get_fresh_prices():
    ends = {"eth-usd": NOW - 156 * 24 * HOUR, "btc-usd": NOW - 2946 * HOUR}
    said = old_data(ends, NOW, polled=False)
    assert said is not None
    assert said.startswith(
        "the data is old: btc-usd's ends 2026-07-18T17:06:40Z, 4 months (123 days) ago; "
        "eth-usd's ends 2026-06-15T11:06:40Z, 5 months (156 days) ago. With no latest price, "
        "each forecast starts from its pair's last close: the next hour is a 2,947-hour lead"
    )
    assert said.endswith(FRESH_PRICES)
    assert "LATEST_PRICES=binance,alpaca" in FRESH_PRICES


def test_with_latest_prices_polled_it_says_the_forecasts_start_from_them():
    said = old_data({"btc-usd": NOW - 30 * HOUR}, NOW, polled=True)
    assert said is not None
    assert "30 hours ago. The forecasts start from the latest price LATEST_PRICES reads" in said


def test_many_old_pairs_name_three_and_count_the_rest():
    ends = {f"pair-{n}": NOW - (10 + n) * HOUR for n in range(5)}
    said = old_data(ends, NOW, polled=False)
    assert said is not None
    assert "pair-2's ends" in said
    assert "pair-3" not in said
    assert "and 2 more pairs' as old or older" in said
