"""`python -m tools.release notes`: what a release trained, from the image's run.json."""

from __future__ import annotations

from datetime import UTC, datetime

from cryptopredict.artifact.run import (
    LeftOut,
    MarketRanking,
    PairFailure,
    RankedPair,
    TrainingRun,
    write_run,
)
from tools.release.cli import main


def test_the_notes_name_every_pair_those_that_failed_and_why(tmp_path, capsys):
    ranking = MarketRanking(
        asked=2,
        as_of=datetime(2024, 3, 10, 2, 47, tzinfo=UTC),
        by="24-hour quote volume of the spot pairs against USDT on Binance",
        pairs=(
            RankedPair(asset="btc-usdt", symbol="BTCUSDT", rank=1, quote_volume=1537040739.3),
            RankedPair(asset="wld-usdt", symbol="WLDUSDT", rank=2, quote_volume=823480000.0),
        ),
        left_out=(LeftOut(symbol="FDUSDUSDT", quote_volume=1.4e9, why="a stablecoin"),),
    )
    run = TrainingRun(
        asked="top:2",
        finished_at=datetime(2024, 3, 10, 4, 5, tzinfo=UTC),
        model_version="1.4.0-20240310040500",
        trained=("btc-usd", "eth-usd", "btc-usdt"),
        failed=(PairFailure(asset="wld-usdt", reason="only 40 bars; at least 100 are needed"),),
        carried=(PairFailure(asset="sol-usdt", reason="binance: HTTP 451; its previous model"),),
        ranking=ranking,
    )
    write_run(tmp_path, run)
    assert main(["notes", "--model-dir", str(tmp_path), "--tag", "v1.4.0"]) == 0
    notes = capsys.readouterr().out
    assert notes.startswith("## v1.4.0: 3 of 5 pairs trained\n")
    said = "Asked for `top:2`; model 1.4.0-20240310040500, trained by 2024-03-10 04:05 UTC."
    assert said in notes
    assert "| `btc-usdt` | yes | 1 | 1,537,040,739 |" in notes
    assert "| `btc-usd` | yes |  |  |" in notes
    assert "| `wld-usdt` | no | 2 | 823,480,000 |" in notes
    assert "- `wld-usdt`: only 40 bars; at least 100 are needed" in notes
    # Issue 112: a pair whose source failed, served from the previous release, with why.
    assert "| `sol-usdt` | its previous model |  |  |" in notes
    assert (
        "Served from the previous release, because training failed:\n\n- `sol-usdt`: binance"
        in notes
    )
    assert "- `FDUSDUSDT`: a stablecoin" in notes


def test_no_record_is_an_error_that_says_so(tmp_path, capsys):
    assert main(["notes", "--model-dir", str(tmp_path), "--tag", "v1.4.0"]) == 1
    assert "holds no training record (run.json)" in capsys.readouterr().err
