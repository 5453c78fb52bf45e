"""`python train.py`: any daily CSV, a closing report, and failures that write nothing."""

from __future__ import annotations

import gzip
import json
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cryptopredict.artifact.read import load_artifact
from cryptopredict.artifact.record import SUFFIX, read_record
from cryptopredict.data.snapshot import SnapshotSource
from cryptopredict.training.cli import _interrupted, main
from cryptopredict.training.progress import REPORT
from tests.imports import python_prints

# What training does around a fit is tested here, on the session's cluster with a stand-in for
# Prophet (tests/stand_in.py); the fit's numerics are tests/model's.
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("stand_in_fit")]

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def daily_csv(tmp_path_factory):
    """Four years of real daily BTC bars, written with the headers a spreadsheet would use."""
    lines = gzip.decompress((SnapshotSource().data_dir / "btc-usd-1d.csv.gz").read_bytes())
    rows = lines.decode().splitlines()
    kept = [row for row in rows[1:] if "2022-01-01" <= row[:10] <= "2025-12-31"]
    path = tmp_path_factory.mktemp("csv") / "btc daily.csv"
    path.write_text("Date,Open,High,Low,Close,Volume\n" + "\n".join(kept) + "\n")
    return path


def test_trains_on_any_daily_csv_and_reports(daily_csv, tmp_path, caplog):
    caplog.set_level("INFO", logger="cryptopredict")
    caplog.set_level("INFO", logger="train")
    code = main(["--csv", str(daily_csv), "--interval", "1d", "--out", str(tmp_path)])
    assert code == 0
    manifest = json.loads((tmp_path / "btc-usd" / "manifest.json").read_text())
    # The panel's damping, tau 0: Prophet fitted once, refitted nowhere.
    assert manifest["params"]["damping_hours"] == 0
    assert not any("Prophet is refitted at" in line for line in caplog.messages)
    assert "the panel's damping" in manifest["served"]["damping"]["why"]
    assert manifest["interval"] == "1d"
    assert manifest["data"]["source"] == f"csv:{daily_csv.name}"  # never the local path
    assert manifest["data"]["first"] == "2022-01-01T00:00:00Z"
    # The grid reaches MAX_HORIZON_DAYS (1096) past the last bar: every date the API answers.
    assert manifest["horizon"]["grid_last"] == "2028-12-31T00:00:00Z"
    # The report, in a file the pair's line and the last line name (issue 96, item 2).
    report = (tmp_path / REPORT).read_text()
    assert "data:     1461 1d bars of BTC/USD from 2022-01-01T00:00:00Z" in report
    assert "\n| 1d |" in report  # no hourly horizon
    assert "| 1h |" not in report
    assert "\nband:     " in report
    written = f"btc-usd: written to {tmp_path / 'btc-usd'} (model dev) "
    assert any(line.startswith(written) for line in caplog.messages)
    ours = [record.message for record in caplog.records if record.name == "train"]
    assert ours[-1].endswith(f"each pair's report: {tmp_path / REPORT}")
    assert not any("| 1d |" in line for line in caplog.messages)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--csv", "/nonexistent.csv", "--interval", "1d"], "no such file: /nonexistent.csv"),
        (["--source", "snapshot", "--require-fresh", "6"], "does not accept the embedded snapshot"),
        (["--source", "snapshot", "--asset", "eth-usd", "--interval", "90m"], "no 90m data"),
    ],
)
def test_failures_exit_non_zero_and_write_nothing(arguments, message, tmp_path, caplog):
    assert main([*arguments, "--out", str(tmp_path / "out"), "--no-backtest"]) == 1
    assert message in caplog.text
    assert "nothing was written" in caplog.text
    assert not (tmp_path / "out").exists()


def test_a_csvs_interval_is_its_own_unless_told_and_a_mismatch_is_refused(
    daily_csv, tmp_path, caplog, monkeypatch
):
    """Issue 35, bar 5: a daily file without --interval trains as daily bars (not as the pair's
    default 1h); with --interval 1h it is refused at once, naming both intervals. Without
    `--out` the artifacts go to MODEL_DIR, where the API serves them from (issue 54)."""
    out = tmp_path / "out"
    monkeypatch.setenv("MODEL_DIR", str(out))
    assert main(["--csv", str(daily_csv), "--no-backtest"]) == 0
    manifest = json.loads((out / "btc-usd" / "manifest.json").read_text())
    assert (manifest["interval"], manifest["data"]["rows"]) == ("1d", 1461)
    refused = ["--csv", str(daily_csv), "--interval", "1h", "--no-backtest"]
    assert main([*refused, "--out", str(tmp_path / "other")]) == 1
    assert "holds 1d bars of BTC/USD (read from its timestamps), not 1h" in caplog.text
    assert not (tmp_path / "other").exists()


def test_a_name_that_is_not_a_pair_is_a_usage_error(tmp_path, caplog):
    assert main(["--asset", "DOGE", "--out", str(tmp_path / "out")]) == 2
    assert "'DOGE' is not a pair: name it <base>-<quote>" in caplog.text
    assert not (tmp_path / "out").exists()


def test_a_pair_no_source_knows_fails_by_name_and_the_others_are_trained(
    tmp_path, monkeypatch, caplog
):
    monkeypatch.setenv("ASSETS", "btc-usd,nosuch-usd")
    arguments = ["--all", "--since", "2026-06-01", "--no-backtest", "--source", "snapshot"]
    assert main([*arguments, "--out", str(tmp_path)]) == 1
    assert (tmp_path / "btc-usd" / "manifest.json").exists()
    assert not (tmp_path / "nosuch-usd").exists()
    assert "nosuch-usd: no source delivered NOSUCH/USD 1h bars" in caplog.text
    assert "training failed for nosuch-usd (why above); 1 of 2 pairs trained" in caplog.text
    assert "the embedded data holds no NOSUCH/USD; it holds btc-usd, eth-usd" in caplog.text


def test_every_pair_of_a_csv_of_many_pairs_is_trained(tmp_path, monkeypatch, caplog):
    caplog.set_level("INFO", logger="cryptopredict")
    rows = gzip.decompress(
        (SnapshotSource().data_dir / "binance-spot-16pairs-1h.csv.gz").read_bytes()
    )
    header, *lines = rows.decode().splitlines()
    kept = [line for line in lines if line.startswith(("SOLUSDT,2026-04", "LINKUSDT,2026-04"))]
    path = tmp_path / "two pairs.csv"
    path.write_text("\n".join([header, *kept]) + "\n")
    monkeypatch.setenv("ASSETS", "*")
    arguments = ["--all", "--csv", str(path), "--no-backtest", "--out", str(tmp_path / "out")]
    assert main(arguments) == 0
    manifests = {
        slug: json.loads((tmp_path / "out" / slug / "manifest.json").read_text())
        for slug in ("link-usdt", "sol-usdt")
    }
    assert manifests["sol-usdt"]["symbol"] == "SOL/USDT"  # as the file's SOLUSDT says
    assert manifests["link-usdt"]["data"]["rows"] == 30 * 24
    assert _written(caplog) == {"link-usdt", "sol-usdt"}


def test_all_trains_every_configured_asset_at_its_own_interval(tmp_path, monkeypatch, caplog):
    caplog.set_level("INFO", logger="cryptopredict")
    monkeypatch.setenv("ASSETS", "eth-usd,btc-usd")
    arguments = ["--all", "--since", "2026-03-01", "--no-backtest", "--source", "snapshot"]
    assert main([*arguments, "--out", str(tmp_path)]) == 0
    intervals = {
        slug: json.loads((tmp_path / slug / "manifest.json").read_text())["interval"]
        for slug in ("btc-usd", "eth-usd")
    }
    assert intervals == {"btc-usd": "1h", "eth-usd": "1d"}
    assert _written(caplog) == {"btc-usd", "eth-usd"}


def _written(caplog) -> set[str]:
    """The pairs the log says were written."""
    return {line.split(":")[0] for line in caplog.messages if ": written to " in line}


def test_one_failing_asset_leaves_the_others_trained(tmp_path, monkeypatch, caplog):
    # From June the daily ETH snapshot holds 23 bars, fewer than MIN_ROWS; hourly BTC has plenty.
    monkeypatch.setenv("ASSETS", "btc-usd,eth-usd")
    arguments = ["--all", "--since", "2026-06-01", "--no-backtest", "--source", "snapshot"]
    assert main([*arguments, "--out", str(tmp_path)]) == 1
    assert (tmp_path / "btc-usd" / "manifest.json").exists()
    assert not (tmp_path / "eth-usd").exists()
    assert "eth-usd: nothing was written" in caplog.text
    assert "training failed for eth-usd" in caplog.text


def test_a_vwap_model_is_scored_against_the_close(tmp_path, daily_csv):
    arguments = ["--csv", str(daily_csv), "--interval", "1d", "--target", "vwap"]
    assert main([*arguments, "--out", str(tmp_path)]) == 0
    artifact = json.loads((tmp_path / "btc-usd" / "manifest.json").read_text())
    assert artifact["params"]["price"] == "vwap"
    rows = load_artifact(tmp_path / "btc-usd").origins
    assert rows is not None
    assert len(rows.origin) > 100
    closes = dict(zip(*_daily_closes(daily_csv), strict=True))
    for origin, hours, actual in zip(rows.origin, rows.hours, rows.actual, strict=True):
        assert actual == pytest.approx(closes[int(origin) + int(hours) * 3600], rel=1e-12)


def _daily_closes(daily_csv) -> tuple[list[int], list[float]]:
    rows = [row.split(",") for row in daily_csv.read_text().splitlines()[1:]]
    stamps = [int(datetime.fromisoformat(row[0]).replace(tzinfo=UTC).timestamp()) for row in rows]
    return stamps, [float(row[4]) for row in rows]


def test_a_gate_failure_from_the_environment_exits_non_zero(
    daily_csv, tmp_path, monkeypatch, caplog
):
    monkeypatch.setenv("GATE_MIN_COVERAGE", "0.99")
    arguments = ["--csv", str(daily_csv), "--interval", "1d", "--out", str(tmp_path)]
    assert main(arguments) == 1
    assert "quality gate failed: 7-day coverage" in caplog.text
    assert list(tmp_path.iterdir()) == []


def test_a_bad_setting_is_named(monkeypatch, capsys):
    monkeypatch.setenv("HTTP_ATTEMPTS", "lots")
    assert main(["--no-backtest"]) == 2
    assert "HTTP_ATTEMPTS must be a whole number" in capsys.readouterr().err


def test_the_client_imports_neither_pandas_nor_prophet():
    """train.py only drives the cluster: the training stack is the workers' to import."""
    code = (
        "import sys; from cryptopredict.training.cli import main; "
        "print(sorted(m for m in ('pandas', 'prophet', 'cmdstanpy', 'scipy') if m in sys.modules))"
    )
    assert python_prints(code).strip() == "[]"


def test_until_trains_on_the_bars_closed_by_then(tmp_path):
    """`--until T`: what the model would have said at T. The last hourly bar is the one that
    closed at T (opened an hour before); a T inside an hour leaves that running hour out."""
    arguments = ["--since", "2026-01-20", "--no-backtest", "--source", "snapshot"]
    assert main([*arguments, "--until", "2026-02-16", "--out", str(tmp_path / "a")]) == 0
    manifest = json.loads((tmp_path / "a" / "btc-usd" / "manifest.json").read_text())
    assert manifest["data"]["last"] == "2026-02-15T23:00:00Z"
    assert manifest["horizon"]["grid_first"] == "2026-01-20T00:00:00Z"
    naive = manifest["naive"]
    assert naive["hours"] == [1.0, 24.0, 168.0, 720.0]
    assert naive["lower"]["80"][0] < 0 < naive["upper"]["80"][0]
    assert (
        main([*arguments, "--until", "2026-02-16T00:59+00:00", "--out", str(tmp_path / "b")]) == 0
    )
    manifest = json.loads((tmp_path / "b" / "btc-usd" / "manifest.json").read_text())
    assert manifest["data"]["last"] == "2026-02-15T23:00:00Z"


def test_until_must_be_a_past_instant(tmp_path, capsys):
    for wrong in ("2999-01-01", "yesterday"):
        with pytest.raises(SystemExit) as stopped:
            main(["--until", wrong, "--out", str(tmp_path)])
        assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "'2999-01-01' is in the future" in err
    assert "not an ISO 8601 date or time: 'yesterday'" in err
    assert not tmp_path.joinpath("btc-usd").exists()


def test_a_published_record_that_cannot_be_read_stops_the_run_unless_told_to_start_afresh(
    daily_csv, tmp_path, caplog, monkeypatch
):
    """Issue 61, bar 3: the run names the broken record and the setting, and writes nothing;
    with TRACK_RECORD_AFRESH it trains and each record says why it started then."""
    arguments = ["--csv", str(daily_csv), "--interval", "1d", "--out", str(tmp_path / "out")]
    assert main([*arguments, "--previous", str(tmp_path / "first")]) == 0
    (tmp_path / "first" / "track-record").mkdir(parents=True)
    published = tmp_path / "out" / "track-record" / f"btc-usd{SUFFIX}"
    before = published.read_bytes()
    (tmp_path / "first" / "track-record" / "index.json").write_bytes(
        (published.parent / "index.json").read_bytes()
    )  # the index lists BTC/USD's record, which the previous release lost
    assert main([*arguments, "--previous", str(tmp_path / "first")]) == 2
    assert f"{tmp_path / 'first' / 'track-record' / f'btc-usd{SUFFIX}'}: missing" in caplog.text
    assert "set TRACK_RECORD_AFRESH to why, to start a new one" in caplog.text
    assert published.read_bytes() == before  # the run wrote nothing
    monkeypatch.setenv("TRACK_RECORD_AFRESH", "the previous image lost it")
    assert main([*arguments, "--previous", str(tmp_path / "first")]) == 0
    record = read_record(tmp_path / "out", "btc-usd")
    assert record.started.why == "started afresh: the previous image lost it"
    assert len(record.issues) == 1


def test_a_ctrl_c_that_meets_a_finalizer_still_stops_training():
    """Python writes off an exception raised in a `__del__` as unraisable: the KeyboardInterrupt
    of a Ctrl-C that met a Dask future's finalizer was lost, and `make run` went on serving, deaf
    to any later Ctrl-C (issue 84's clean stop, at the first artifact written)."""
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, _interrupted)

    class Finalized:
        def __del__(self) -> None:
            signal.raise_signal(signal.SIGINT)  # its handler runs here, in the finalizer
            sum(range(1000))

    def finalized_then_waiting() -> None:
        Finalized()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            time.sleep(0.01)

    try:
        with pytest.raises(KeyboardInterrupt):  # raised once the finalizer is over
            finalized_then_waiting()
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
