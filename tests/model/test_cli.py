"""`python train.py`: any daily CSV, a closing report, and failures that write nothing."""

from __future__ import annotations

import gzip
import json

import pytest

from cryptopredict.data.snapshot import SnapshotSource
from cryptopredict.model.cli import main

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def daily_csv(tmp_path_factory):
    """Four years of real daily BTC bars, written with the headers a spreadsheet would use."""
    lines = gzip.decompress((SnapshotSource().data_dir / "btc-usd-1d.csv.gz").read_bytes())
    rows = lines.decode().splitlines()
    kept = [row for row in rows[1:] if "2022-01-01" <= row[:10] <= "2025-12-31"]
    path = tmp_path_factory.mktemp("csv") / "btc daily.csv"
    path.write_text("Date,Open,High,Low,Close,Volume\n" + "\n".join(kept) + "\n")
    return path


def test_trains_on_any_daily_csv_and_reports(daily_csv, tmp_path, capsys):
    code = main(
        ["--csv", str(daily_csv), "--interval", "1d", "--out", str(tmp_path), "--jobs", "2"]
    )
    assert code == 0
    manifest = json.loads((tmp_path / "btc-usd" / "manifest.json").read_text())
    assert manifest["interval"] == "1d"
    assert manifest["data"]["source"] == f"csv:{daily_csv}"
    assert manifest["data"]["first"] == "2022-01-01T00:00:00Z"
    assert manifest["horizon"]["grid_last"] == "2026-12-31T00:00:00Z"
    report = capsys.readouterr().out
    assert "data:     1461 1d bars of BTC/USD from 2022-01-01T00:00:00Z" in report
    assert "| prophet |" in report
    assert "| naive |" in report
    assert f"artifact: {tmp_path / 'btc-usd'} (dev)" in report


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--symbol", "DOGE/USD"], "unknown symbol 'DOGE/USD'"),
        (["--csv", "/nonexistent.csv", "--interval", "1d"], "no such file: /nonexistent.csv"),
        (["--source", "snapshot", "--require-fresh", "6"], "does not accept the embedded snapshot"),
        (["--source", "snapshot", "--interval", "90m"], "no 90m data"),
    ],
)
def test_failures_exit_non_zero_and_write_nothing(arguments, message, tmp_path, caplog):
    assert main([*arguments, "--out", str(tmp_path / "out"), "--no-backtest"]) == 1
    assert message in caplog.text
    assert "nothing was written" in caplog.text
    assert not (tmp_path / "out").exists()


def test_a_gate_failure_from_the_environment_exits_non_zero(
    daily_csv, tmp_path, monkeypatch, caplog
):
    monkeypatch.setenv("GATE_MIN_COVERAGE", "0.99")
    arguments = ["--csv", str(daily_csv), "--interval", "1d", "--out", str(tmp_path), "--jobs", "2"]
    assert main(arguments) == 1
    assert "quality gate failed: 7-day coverage" in caplog.text
    assert list(tmp_path.iterdir()) == []


def test_a_bad_setting_is_named(monkeypatch, capsys):
    monkeypatch.setenv("HTTP_ATTEMPTS", "lots")
    assert main(["--no-backtest"]) == 2
    assert "HTTP_ATTEMPTS must be a whole number" in capsys.readouterr().err
