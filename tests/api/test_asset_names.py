"""A pair by any name a user types (issue 56, bar 3): its slug or its symbol, in any case, with
the symbol's slash encoded in the path, answers on every route of an asset what its slug
answers; a name no asset has says which are served, and a near one which it may mean."""

from __future__ import annotations

import pytest

ROUTES = (
    "/forecast/{}?date=2026-08-01",
    "/forecast/{}/range?start=2026-06-01&end=2026-06-03",
    "/forecast/{}/range.csv?start=2026-06-01&end=2026-06-03",
    "/model/{}",
    "/model/{}/backtest",
    "/model/{}/live",
    "/candles/{}?interval=1d",
    "/candles/{}.csv?interval=1d",
    "/price/{}",
)
NAMES = ("ETH-USD", "Eth-Usd", "eth%2Fusd", "ETH%2FUSD", "eth%2fusd", "%20eth-usd")


@pytest.mark.parametrize("route", ROUTES)
def test_every_route_answers_a_symbol_in_any_case_as_its_slug(client, route):
    canonical = client.get(route.format("eth-usd"))
    assert canonical.status_code in (200, 404)  # 404: /price without minute bars, said so
    for name in NAMES:
        answer = client.get(route.format(name))
        assert (answer.status_code, answer.get_data()) == (
            canonical.status_code,
            canonical.get_data(),
        ), name


def test_a_name_no_asset_has_lists_the_served_ones(client):
    answer = client.get("/forecast/NOSUCH-USD?date=2026-08-01")
    assert answer.status_code == 404
    assert answer.get_json() == {
        "error": "unknown_asset",
        "detail": "no asset 'NOSUCH-USD' is served here; known: btc-usd, eth-usd",
    }


def test_a_name_with_another_quote_says_which_pair_it_may_mean(client):
    """`sol-usd` asked where `sol-usdt` is served: the 404 names it."""
    answer = client.get("/forecast/ETH-USDT?date=2026-08-01")
    assert answer.status_code == 404
    assert answer.get_json()["detail"] == (
        "no asset 'ETH-USDT' is served here; eth-usd is (the same base, another quote)"
    )


def test_an_encoded_slash_elsewhere_in_a_path_is_no_route(client):
    assert client.get("/forecast%2Feth-usd?date=2026-08-01").status_code == 404
    assert client.get("/forecast/eth%2Fusd%2Frange").status_code == 404
