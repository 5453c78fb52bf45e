"""Every track record format a release ever wrote is read and extended by `train.py --previous`
(issue 67, bars 3 and 4): `tests/records/v<N>/` holds a record as the `main` of its day wrote it
(`WRITTEN_BY` names the commit: BTC/USD hourly and ETH/USD daily, two releases each, trained on
the embedded data to 2026-07-20 and 2026-07-22), and slugs read from a previous record never
become paths outside the output directory."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from cryptopredict.artifact.record import READS, read_records
from cryptopredict.training.cli import main

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("stand_in_fit")]

RECORDS = Path(__file__).parents[1] / "records"
TRAIN = ["--all", "--source", "snapshot", "--since", "2026-01-01", "--no-backtest"]


def test_a_fixture_is_kept_for_every_format_read():
    assert sorted(int(path.name[1:]) for path in RECORDS.glob("v*")) == sorted(READS)


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
        # Every close found before is kept; those of the leads that fell due since are added.
        for old, new in zip(before.issues, after.issues, strict=False):
            kept = [close for close in old.closes if close is not None]
            assert [close for close in new.closes if close is not None][: len(kept)] == kept


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
    record = json.loads(
        gzip.decompress((previous / "track-record" / "btc-usd.json.gz").read_bytes())
    )
    record["asset"] = "../x"
    (previous / "x.json.gz").write_bytes(gzip.compress(json.dumps(record).encode()))
    before = sorted(path for path in tmp_path.rglob("*"))
    out = tmp_path / "images" / "out"
    assert main([*TRAIN, "--previous", str(previous), "--out", str(out)]) == 2
    assert "'../x' is not a pair's name" in caplog.text
    assert sorted(path for path in tmp_path.rglob("*")) == before, "nothing written anywhere"
