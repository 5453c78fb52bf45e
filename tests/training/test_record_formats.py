"""Every track record format a release ever wrote is read and extended by `train.py --previous`
(issue 67, bars 3 and 4): `tests/records/v<N>/` holds a record as the `main` of its day wrote it
(`WRITTEN_BY` names the commit: BTC/USD hourly and ETH/USD daily, two releases each, trained on
the embedded data to 2026-07-20 and 2026-07-22; each later format's is the first's records as
that format's code rewrote them; all frozen: `tests/test_record_fixtures.py`), and slugs read
from a previous record never become paths outside the output directory."""

from __future__ import annotations

import json
import lzma
import shutil
from pathlib import Path

import pytest

from cryptopredict.artifact.record import READS, SUFFIX, read_records, write_record
from cryptopredict.artifact.record_rows import PairRecord
from cryptopredict.training.cli import main

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("stand_in_fit")]

RECORDS = Path(__file__).parents[1] / "records"
TRAIN = ["--all", "--source", "snapshot", "--since", "2026-01-01", "--no-backtest"]


@pytest.mark.parametrize("version", READS)
def test_each_format_is_read_and_extended_with_no_setting(version, tmp_path, monkeypatch):
    monkeypatch.delenv("TRACK_RECORD_AFRESH", raising=False)
    monkeypatch.delenv("PREVIOUS_IMAGE", raising=False)
    previous = tmp_path / "previous"
    shutil.copytree(RECORDS / f"v{version}", previous)
    published = read_records(previous)
    assert published is not None
    assert main([*TRAIN, "--previous", str(previous), "--out", str(tmp_path / "out")]) == 0
    extended = read_records(tmp_path / "out")
    assert extended is not None
    assert extended.keys() == published.keys()
    # BTC/USD's hourly bars run on past its last issue (ETH/USD's daily ones end before).
    assert extended["btc-usd"].count.scored > published["btc-usd"].count.scored
    for slug, before in published.items():
        after = extended[slug]
        assert after.started == before.started, "the record goes on from where it began"
        assert [issue.model_version for issue in after.issues[:-1]] == [
            issue.model_version for issue in before.issues
        ]
        assert len(after.issues) == len(before.issues) + 1
        # Every row scored before is kept as it was; those that fell due since are added.
        scored = {
            (issue, lead): tuple(steps)
            for issue, lead, steps in zip(
                after.scored.issue.tolist(),
                after.scored.lead.tolist(),
                after.scored.steps.tolist(),
                strict=True,
            )
        }
        for issue, lead, steps in zip(
            before.scored.issue.tolist(),
            before.scored.lead.tolist(),
            before.scored.steps.tolist(),
            strict=True,
        ):
            assert scored[issue, lead] == tuple(steps)


def test_a_release_image_that_holds_no_record_fails_the_run_naming_it(
    tmp_path, monkeypatch, caplog
):
    image = "ghcr.io/octo/cryptopredict@sha256:" + "ab" * 32
    monkeypatch.setenv("PREVIOUS_IMAGE", image)
    out = tmp_path / "out"
    assert main([*TRAIN, "--previous", str(tmp_path / "empty"), "--out", str(out)]) == 2
    assert f"the release image {image} holds no track record" in caplog.text
    assert "start-anew" in caplog.text
    assert not out.exists()
    monkeypatch.setenv("TRACK_RECORD_AFRESH", "the first release of ghcr.io/octo/cryptopredict")
    assert main([*TRAIN, "--previous", str(tmp_path / "empty"), "--out", str(out)]) == 0
    run = json.loads((out / "run.json").read_text())
    assert run["extends"] == image


def test_a_slug_that_is_no_pair_is_refused_and_nothing_is_written_outside(
    tmp_path, monkeypatch, caplog
):
    monkeypatch.delenv("TRACK_RECORD_AFRESH", raising=False)
    previous = tmp_path / "images" / "previous"
    shutil.copytree(RECORDS / f"v{READS[-1]}", previous)
    index = previous / "track-record" / "index.json"
    planted = json.loads(index.read_text())
    planted["assets"]["../x"] = [1, 0]
    index.write_text(json.dumps(planted))
    record = (previous / "track-record" / f"btc-usd{SUFFIX}").read_bytes()
    (previous / f"x{SUFFIX}").write_bytes(
        lzma.compress(lzma.decompress(record).replace(b"btc-usd", b"../x"))
    )
    before = sorted(path for path in tmp_path.rglob("*"))
    out = tmp_path / "images" / "out"
    assert main([*TRAIN, "--previous", str(previous), "--out", str(out)]) == 2
    assert "'../x' is not a pair's name" in caplog.text
    assert sorted(path for path in tmp_path.rglob("*")) == before, "nothing written anywhere"


def test_a_directory_of_an_older_format_is_rewritten_whole_when_a_record_is_written(tmp_path):
    """A record written beside records of format 1 (a local run's own MODEL_DIR): every record
    is rewritten in the current format, the old files go, and each reads as it did."""
    shutil.copytree(RECORDS / "v1", tmp_path / "models")
    before = read_records(tmp_path / "models")
    assert before is not None
    started = before["btc-usd"].started
    write_record(tmp_path / "models", PairRecord("sol-usd", "SOL/USD", started, 0), None)
    after = read_records(tmp_path / "models")
    assert after == {**before, "sol-usd": PairRecord("sol-usd", "SOL/USD", started, 0)}
    directory = tmp_path / "models" / "track-record"
    assert sorted(path.name for path in directory.iterdir()) == [
        f"btc-usd{SUFFIX}",
        f"eth-usd{SUFFIX}",
        "index.json",
        f"sol-usd{SUFFIX}",
    ]
    assert json.loads((directory / "index.json").read_text())["record_version"] == READS[-1]
