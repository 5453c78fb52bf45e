"""`/assets` over 200 pairs: filtered by quote and interval, in market order, a page at a time,
with what the last training run recorded (`run.json`)."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

import pytest

from cryptopredict.api.app import create_app
from cryptopredict.artifact.run import (
    RUN,
    LeftOut,
    MarketRanking,
    PairFailure,
    RankedPair,
    TrainingRun,
    write_run,
)
from cryptopredict.artifact.store import open_artifacts
from tests.api.artifacts import PROPHET_DEPRECATION

pytestmark = PROPHET_DEPRECATION

# The market as `top:N` might rank it: three of the served pairs, most traded first.
RANKED = ("sol-usdt", "btc-usdt", "1000pepe-usdt")


@pytest.fixture
def ranked_dir(many_pairs_dir, tmp_path):
    """The 200 pairs, and the record of the run that trained them from `top:3`."""
    ranking = MarketRanking(
        asked=3,
        as_of=datetime(2024, 3, 10, 2, 47, tzinfo=UTC),
        by="24-hour quote volume of the spot pairs against USDT on Binance",
        pairs=tuple(
            RankedPair(asset=slug, symbol=slug.replace("-", "").upper(), rank=rank, quote_volume=v)
            for rank, (slug, v) in enumerate(zip(RANKED, (9e8, 7e8, 5e8), strict=True), start=1)
        ),
        left_out=(LeftOut(symbol="FDUSDUSDT", quote_volume=8e8, why="a stablecoin"),),
    )
    run = TrainingRun(
        asked="top:3",
        finished_at=datetime(2024, 3, 10, 4, 0, tzinfo=UTC),
        model_version="1.2.3",
        trained=("btc-usd", *RANKED),
        failed=(PairFailure(asset="xyz-usdt", reason="only 40 bars"),),
        ranking=ranking,
    )
    write_run(many_pairs_dir, run)
    yield many_pairs_dir
    (many_pairs_dir / RUN).unlink()


@pytest.fixture
def client(ranked_dir, settings):
    return create_app(open_artifacts(ranked_dir), settings).test_client()


def test_filters_by_quote_and_interval(client, conforms):
    every = [entry["asset"] for entry in client.get("/assets").get_json()["assets"]]
    usdt = client.get("/assets?quote=usdt")
    conforms("/assets", usdt)
    listing = usdt.get_json()
    expected = [slug for slug in every if slug.endswith("-usdt")]
    assert len(expected) == 40  # of the 200: 40 bases, each in 5 quotes
    assert listing["total"] == len(expected)
    assert {entry["quote"] for entry in listing["assets"]} == {"usdt"}
    assert [entry["asset"] for entry in listing["assets"]] == expected
    # The fixture's ETH-based pairs are daily, BTC/USD hourly.
    hourly = client.get("/assets?interval=1h").get_json()
    assert [entry["asset"] for entry in hourly["assets"]] == ["btc-usd"]
    both = client.get("/assets?q=sol&quote=usdt").get_json()
    assert [entry["asset"] for entry in both["assets"]] == ["sol-usdt"]


def test_market_order_puts_the_most_traded_first(client):
    listing = client.get("/assets?sort=rank").get_json()
    slugs = [entry["asset"] for entry in listing["assets"]]
    assert slugs[:3] == list(RANKED)
    assert slugs[3:] == sorted(slugs[3:])  # the unranked ones, by slug
    ranks = {entry["asset"]: entry["volume_rank"] for entry in listing["assets"]}
    assert [ranks[slug] for slug in RANKED] == [1, 2, 3]
    assert ranks["eth-usd"] is None
    sol = listing["assets"][0]
    assert sol["quote_volume_24h"] == 9e8


def test_pages_cover_every_asset_once(client, conforms):
    seen, url, pages = [], "/assets?limit=64&sort=slug", 0
    while url is not None:
        response = client.get(url)
        conforms("/assets", response)
        page = response.get_json()
        assert page["total"] == 200
        assert len(page["assets"]) <= 64
        seen += [entry["asset"] for entry in page["assets"]]
        url, pages = page["next"], pages + 1
        if url is not None:
            assert dict(parse_qsl(urlsplit(url).query))["sort"] == "slug"
    assert pages == 4
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen)) == 200
    past_the_end = client.get("/assets?offset=500").get_json()
    assert (past_the_end["assets"], past_the_end["next"]) == ([], None)


def test_says_what_training_was_asked_what_failed_and_why(client):
    training = client.get("/assets?limit=1").get_json()["last_run"]
    assert training["asked"] == "top:3"
    assert training["trained"] == 4
    assert training["failed"] == [{"asset": "xyz-usdt", "reason": "only 40 bars"}]
    assert training["ranking"]["as_of"] == "2024-03-10T02:47:00Z"
    assert training["ranking"]["left_out"] == [
        {"symbol": "FDUSDUSDT", "quote_volume_24h": 8e8, "why": "a stablecoin"}
    ]
    assert "quick" not in training


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("quote=us-dt", "not a currency"),
        ("interval=7x", "interval="),
        ("sort=volume", "sort by slug or rank"),
        ("limit=0", "from 1 to 1000"),
        ("limit=1001", "from 1 to 1000"),
        ("offset=-1", "from 0"),
        ("limit=ten", "whole number"),
        ("limit=1&limit=2", "given 2 times"),
    ],
)
def test_a_query_it_cannot_read_is_a_400_saying_why(client, query, says):
    response = client.get(f"/assets?{query}")
    assert response.status_code == 400
    assert says in response.get_json()["detail"]


def test_an_unreadable_record_leaves_the_listing_served(many_pairs_dir, settings, caplog):
    (many_pairs_dir / RUN).write_text('{"asked": 7}')
    try:
        listing = create_app(open_artifacts(many_pairs_dir), settings).test_client()
        answer = listing.get("/assets").get_json()
    finally:
        (many_pairs_dir / RUN).unlink()
    assert "last_run" not in answer
    assert answer["total"] == 200
    assert "not describing the last training run" in caplog.text
