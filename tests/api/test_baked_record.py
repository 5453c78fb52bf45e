"""The track record a release bakes (`artifact/record.py`) and keeps (`training/record.py`),
on the fixture models: an earlier issue scored on the new artifact's hourly closes, the new
issue appended once, a pair not trained carried forward saying why, and a record that is cut
short, lost, another pair's, of a shape its format never had, a symbolic link, no regular file
or too large, or would shrink refused, naming it."""

from __future__ import annotations

import lzma
import os
import shutil

import msgspec
import numpy as np
import pytest

from cryptopredict.artifact.read import JSON_MAX
from cryptopredict.artifact.record import (
    INDEX,
    SUFFIX,
    RecordError,
    read_records,
    record_dir,
    write_record,
)
from cryptopredict.artifact.record_rows import OUTCOMES, PairRecord, RecordIssue, RecordNote
from cryptopredict.artifact.store import open_artifacts
from cryptopredict.training.record import RecordKeeper
from tests.api.artifacts import PROPHET_DEPRECATION
from tests.test_record_fixtures import RECORDS

pytestmark = PROPHET_DEPRECATION
HOUR = 3600
START = RecordNote(1_700_000_000, "the first release")


def earlier_issue(data_until: int, leads_hours: list[int]) -> RecordIssue:
    width = 7
    return RecordIssue(
        model_version="test-0",
        data_until=data_until,
        issued_at=data_until + 600,
        leads=[hours * HOUR for hours in leads_hours],
        served=[[100.0 + row] * width for row in range(len(leads_hours))],
        naive=None,
        closes=[None] * len(leads_hours),
    )


def pair_record(issues: list[RecordIssue], asset: str = "btc-usd") -> PairRecord:
    record = PairRecord(asset, "BTC/USD", START, 0)
    for issue in issues:
        record = record.issued(issue)
    return record


def keeper(previous_dir, out, afresh=None) -> RecordKeeper:
    return RecordKeeper.open(previous_dir, out=out, afresh=afresh, max_horizon_days=1096.0)


def test_an_earlier_issue_is_scored_on_the_new_artifact_s_closes_and_the_new_one_appended(
    copy, facts, tmp_path
):
    earlier = earlier_issue(facts.data_end - 48 * HOUR, [1, 24, 47, 48, 49, 72])
    write_record(tmp_path / "previous", pair_record([earlier]), None)
    kept = keeper(tmp_path / "previous", copy).issued("btc-usd", copy / "btc-usd")
    history = open_artifacts(copy)["btc-usd"].history
    close_at = dict(zip((history.ds + HOUR).tolist(), history["close"].tolist(), strict=True))
    first, new = kept.issues
    assert first.data_until == earlier.data_until
    scored = kept.scored
    assert (scored.issue.tolist(), (scored.lead // HOUR).tolist()) == ([0] * 4, [1, 24, 47, 48])
    close = np.array([close_at[earlier.data_until + lead] for lead in scored.lead.tolist()])
    point = np.array([earlier.served[earlier.leads.index(lead)][0] for lead in scored.lead])
    errors = kept.outcomes()[0][:, OUTCOMES.index("error")]
    # Within half a step of the exact error (a 160th of the lead's unit, here a band of no
    # width: 1e-3, widened at most 2.9 times by 48 hours).
    assert errors == pytest.approx(np.abs(close - point) / close, abs=1e-3 / 160 * 2.9 / 2)
    pending = kept.pending.where(kept.pending.issue == 0)
    assert (pending.lead // HOUR).tolist() == [49, 72]  # after the new data's end: not due yet
    assert (new.model_version, new.data_until) == ("test-1", facts.data_end)
    assert not (kept.scored.issue == 1).any()
    assert kept.scored_until == facts.data_end
    assert kept.started == START
    assert read_records(copy)["btc-usd"] == kept
    # Readable by the server, which runs as another user than the training (the image's).
    files = [record_dir(copy) / INDEX, record_dir(copy) / f"btc-usd{SUFFIX}"]
    assert [oct(file.stat().st_mode & 0o777) for file in files] == [oct(0o644)] * 2


def test_the_same_model_is_issued_once(copy):
    keeping = keeper(copy, copy)
    keeping.issued("btc-usd", copy / "btc-usd")
    again = keeper(copy, copy).issued("btc-usd", copy / "btc-usd")
    assert len(again.issues) == 1


def test_a_pair_not_trained_is_carried_forward_saying_why(copy, tmp_path):
    previous = tmp_path / "previous"
    write_record(previous, pair_record([earlier_issue(1_780_000_000, [1])], "sol-usd"), None)
    write_record(previous, pair_record([earlier_issue(1_780_000_000, [1])], "ada-usd"), None)
    out = tmp_path / "out"
    keeping = keeper(previous, out)
    keeping.carry({"ada-usd": "the gate refused it"})
    carried = read_records(out)
    assert carried["sol-usd"].absent.why == "not among this release's pairs"
    assert carried["ada-usd"].absent.why == "the gate refused it"
    assert carried["sol-usd"].issues == read_records(previous)["sol-usd"].issues


def test_without_a_published_record_each_starts_saying_so(copy, tmp_path):
    kept = keeper(tmp_path / "nothing", copy).issued("btc-usd", copy / "btc-usd")
    # It goes back to its first issue's data end, whenever that release ran.
    assert kept.started == RecordNote(
        kept.issues[0].data_until, "no earlier track record was published"
    )
    afresh = keeper(copy, copy, afresh="the registry lost the image")
    record = afresh.issued("eth-usd", copy / "eth-usd")
    assert record.started.why == "started afresh: the registry lost the image"
    assert record.started.at == record.issues[0].data_until


EDITS = {
    "a column short of its rows": lambda stored: stored["pending"][3].pop(),
    "a row at a lead it does not hold": lambda stored: stored["scales"].pop(3600),
    "a field format 3 does not hold": lambda stored: stored.update(carries=[1, 2]),
}


def _edit(file, edit) -> None:
    stored = msgspec.msgpack.decode(lzma.decompress(file.read_bytes()))
    edit(stored)
    file.write_bytes(lzma.compress(msgspec.msgpack.encode(stored)))


def _damage(directory, how: str) -> None:
    file = record_dir(directory) / f"btc-usd{SUFFIX}"
    if how == "truncated":
        file.write_bytes(file.read_bytes()[: len(file.read_bytes()) // 2])
    elif how == "another pair's":
        text = lzma.decompress(file.read_bytes()).replace(b"btc-usd", b"eth-usd")
        file.write_bytes(lzma.compress(text))
    elif how in EDITS:
        _edit(file, EDITS[how])
    elif how == "format 2 as a development main wrote it":  # three did, before it was frozen
        shutil.rmtree(record_dir(directory))
        shutil.copytree(record_dir(RECORDS / "v2"), record_dir(directory))
        _edit(file, lambda stored: stored.update(scales=[1, 2]))
    elif how == "a symbolic link":  # to a whole record elsewhere: never followed
        shutil.copyfile(file, directory.parent / "elsewhere")
        file.unlink()
        file.symlink_to(directory.parent / "elsewhere")
    elif how == "an endless index":
        (record_dir(directory) / INDEX).unlink()
        (record_dir(directory) / INDEX).symlink_to("/dev/zero")
    elif how == "an index that is no file":
        (record_dir(directory) / INDEX).unlink()
        os.mkfifo(record_dir(directory) / INDEX)  # read, it would wait for a writer forever
    elif how == "an index too large":
        with (record_dir(directory) / INDEX).open("r+b") as index:
            index.truncate(JSON_MAX + 1)  # sparse: no disk taken
    elif how == "missing":
        file.unlink()
    elif how == "without its index":
        (record_dir(directory) / INDEX).unlink()
    elif how == "cut short":  # a whole record, of fewer issues than the index counts
        shorter = directory.parent / "shorter"
        write_record(shorter, pair_record([earlier_issue(1_780_000_000, [1, 2])]), None)
        shutil.copyfile(record_dir(shorter) / f"btc-usd{SUFFIX}", file)


@pytest.mark.parametrize(
    ("how", "named"),
    [
        ("truncated", r"btc-usd\.msgpack\.xz"),
        ("another pair's", r"btc-usd\.msgpack\.xz"),
        ("a column short of its rows", r"btc-usd\.msgpack\.xz: its pending rows are not 16"),
        ("a row at a lead it does not hold", r"btc-usd\.msgpack\.xz: its rows name .*leads"),
        (
            "a field format 3 does not hold",
            r"btc-usd\.msgpack\.xz: record_version 3, but not in the shape this code reads as "
            r"format 3 \(Object contains unknown field `carries`\)",
        ),
        (
            "format 2 as a development main wrote it",
            r"btc-usd\.msgpack\.xz: record_version 2, but not in the shape this code reads as "
            r"format 2 \(Object contains unknown field `scales`\)",
        ),
        ("a symbolic link", r"btc-usd\.msgpack\.xz: is a symbolic link"),
        ("an endless index", r"index\.json: is a symbolic link"),
        ("an index that is no file", r"index\.json: is not a regular file"),
        ("an index too large", r"index\.json: is 67,108,865 bytes, more than"),
        ("missing", r"btc-usd\.msgpack\.xz: missing"),
        ("cut short", r"btc-usd\.msgpack\.xz: cut short"),
        ("without its index", r"index\.json: missing"),
    ],
)
def test_a_published_record_that_cannot_be_read_stops_the_run_naming_it(tmp_path, how, named):
    issues = [earlier_issue(1_780_000_000 + n * 6 * HOUR, [1, 2]) for n in range(2)]
    write_record(tmp_path / "previous", pair_record(issues), None)
    _damage(tmp_path / "previous", how)
    with pytest.raises(RecordError, match=named):
        keeper(tmp_path / "previous", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    fresh = keeper(tmp_path / "previous", tmp_path / "out", afresh="it was lost")
    assert fresh.previous == {}


def test_a_record_is_never_written_shorter_than_the_one_it_extends(tmp_path):
    longer = pair_record([earlier_issue(1_780_000_000 + n * HOUR, [1]) for n in range(3)])
    write_record(tmp_path, longer, None)
    before = (record_dir(tmp_path) / INDEX).read_bytes()
    shorter = pair_record([earlier_issue(1_780_000_000 + n * HOUR, [1]) for n in range(2)])
    with pytest.raises(RecordError, match="shorter than the one it extends"):
        write_record(tmp_path, shorter, longer)
    assert (record_dir(tmp_path) / INDEX).read_bytes() == before
    assert read_records(tmp_path)["btc-usd"] == longer
