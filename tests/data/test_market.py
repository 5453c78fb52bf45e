"""`top:N` against a local server speaking Binance's exchange-information and 24-hour ticker
shapes, answering the spot market recorded on 2024-03-10."""

from __future__ import annotations

import dataclasses

import pytest

from cryptopredict.assets import SLUG, asset_for_symbol, read_pairs_file
from cryptopredict.data.binance import rank_pairs, top_pairs
from cryptopredict.data.errors import SourceError
from tests.data.binance_market import EXCHANGE_INFO, TICKER_24HR, binance_market, recorded

STABLECOINS = set(read_pairs_file().top.stablecoins)
SUFFIXES = ("UP", "DOWN", "BULL", "BEAR")


def leveraged_tokens() -> set[str]:
    """The recording's leveraged tokens: another base (or none) then UP, DOWN, BULL or BEAR."""
    bases = {entry["baseAsset"] for entry in recorded(EXCHANGE_INFO)["symbols"]}
    return {f"{stem}{suffix}" for stem in {*bases, ""} for suffix in SUFFIXES} & bases


@pytest.fixture
def exchange(settings):
    with binance_market() as (url, market):
        yield dataclasses.replace(settings, binance_api_url=url), market


def test_top_200_lists_200_pairs_in_volume_order_none_stable_or_leveraged(exchange):
    settings, market = exchange
    chosen = top_pairs(200, settings)
    assert market.requests == ["/api/v3/exchangeInfo", "/api/v3/ticker/24hr"]
    assert len(chosen.pairs) == 200
    assert [pair.rank for pair in chosen.pairs] == list(range(1, 201))
    volumes = [pair.quote_volume for pair in chosen.pairs]
    assert volumes == sorted(volumes, reverse=True)
    assert chosen.pairs[0].asset == "btc-usdt"
    assert chosen.pairs[0].quote_volume == pytest.approx(1_537_040_739.35)
    leveraged = leveraged_tokens()
    assert {"BTCUP", "ETHDOWN", "BULL"} <= leveraged
    assert "JUP" not in leveraged
    for pair in chosen.pairs:
        base = pair.symbol.removesuffix("USDT")
        assert pair.asset == f"{base.lower()}-usdt"
        assert SLUG.fullmatch(pair.asset)
        assert asset_for_symbol(pair.asset).binance_symbol == pair.symbol
        assert base not in STABLECOINS
        assert base not in leveraged
    # 2024-03-10 (UTC 02:47): the ticker's 24 hours end there.
    assert chosen.as_of.timestamp() == 1_710_038_820


def test_the_stablecoins_that_outtraded_the_200th_are_named_with_why(exchange):
    chosen = top_pairs(200, exchange[0])
    left_out = {out.symbol: out.why for out in chosen.left_out}
    # FDUSD traded second only to BTC that day, USDC tenth: both stablecoins against USDT.
    assert list(left_out)[:2] == ["FDUSDUSDT", "USDCUSDT"]
    assert "stablecoin" in left_out["FDUSDUSDT"]
    assert "EURUSDT" in left_out
    assert all(out.quote_volume >= chosen.pairs[-1].quote_volume for out in chosen.left_out)


def test_every_pair_ranked_leaves_out_leveraged_tokens_and_pairs_not_trading(exchange):
    chosen = top_pairs(10_000, exchange[0])
    ranked = {pair.symbol for pair in chosen.pairs}
    why = {out.symbol: out.why for out in chosen.left_out}
    # BTCUP and friends still traded (BTCUP: 1.24 million USDT); JUP is a coin, not J-UP.
    for token in ("BTCUPUSDT", "BTCDOWNUSDT", "ETHUPUSDT", "ETHDOWNUSDT", "BNBUPUSDT"):
        assert token not in ranked
        assert "leveraged" in why[token]
    assert "JUPUSDT" in ranked
    # TUSD, USDP: stablecoins by name; no pair whose status is BREAK (BULLUSDT, BCCUSDT).
    assert {"TUSDUSDT", "USDPUSDT"} <= set(why)
    statuses = {entry["symbol"]: entry["status"] for entry in recorded(EXCHANGE_INFO)["symbols"]}
    assert all(statuses[symbol] == "TRADING" for symbol in ranked)
    assert "BULLUSDT" not in ranked
    assert "BTCUSDC" not in ranked
    assert len(chosen.pairs) < 10_000


def test_a_new_dollar_stablecoin_is_caught_by_its_price_and_an_unspellable_base_named():
    info = {
        "symbols": [
            _symbol("SOLUSDT", "SOL"),
            _symbol("NEWUSDUSDT", "NEWUSD"),
            _symbol("币安人生USDT", "币安人生"),
        ]
    }
    tickers = [
        _ticker("SOLUSDT", 5e8, low=140, high=150),
        _ticker("NEWUSDUSDT", 9e8, low=0.998, high=1.002),
        _ticker("币安人生USDT", 7e8, low=0.1, high=0.2),
    ]
    chosen = rank_pairs(info, tickers, 5)
    assert [pair.asset for pair in chosen.pairs] == ["sol-usdt"]
    why = {out.symbol: out.why for out in chosen.left_out}
    assert "dollar stablecoin" in why["NEWUSDUSDT"]
    assert "slug" in why["币安人生USDT"]


def test_an_answer_not_in_the_exchange_s_shape_fails_naming_binance(settings):
    not_a_list = {"code": 0, "msg": "not a list"}
    with binance_market(ticker=not_a_list) as (url, _), pytest.raises(SourceError, match="binance"):
        top_pairs(5, dataclasses.replace(settings, binance_api_url=url))
    broken = [{"symbol": "BTCUSDT", "quoteVolume": "lots"}]
    with binance_market(ticker=broken) as (url, _), pytest.raises(SourceError, match="quoteVolume"):
        top_pairs(5, dataclasses.replace(settings, binance_api_url=url))


def test_a_client_error_is_not_retried_and_says_the_status(settings):
    with binance_market() as (url, market):
        market.answer("/api/v3/ticker/24hr", {"code": -1121, "msg": "Invalid symbol."}, status=400)
        with pytest.raises(SourceError, match="HTTP 400"):
            top_pairs(5, dataclasses.replace(settings, binance_api_url=url))
        assert market.requests.count("/api/v3/ticker/24hr") == 1


def test_the_recordings_are_the_files_provenance_names():
    # tests/data/recorded/PROVENANCE.md: 2,519 symbols, 490 of them against USDT.
    assert len(recorded(TICKER_24HR)) == 2519
    assert sum(s["quoteAsset"] == "USDT" for s in recorded(EXCHANGE_INFO)["symbols"]) == 490


def _symbol(symbol: str, base: str) -> dict:
    return {
        "symbol": symbol,
        "status": "TRADING",
        "baseAsset": base,
        "quoteAsset": "USDT",
        "isSpotTradingAllowed": True,
    }


def _ticker(symbol: str, volume: float, *, low: float, high: float) -> dict:
    return {
        "symbol": symbol,
        "quoteVolume": str(volume),
        "highPrice": str(high),
        "lowPrice": str(low),
        "closeTime": 1_710_038_820_176,
    }
