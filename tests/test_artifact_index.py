"""`index.json`, the catalog beside the artifacts: one entry per artifact, kept current by
`write_artifact` when one pair is retrained alone and when several writers run at once; and the
grid's stored layout, which keeps an hourly pair under 2 MB."""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from dataclasses import replace
from pathlib import Path

import msgspec
import numpy as np
import pytest

from cryptopredict.artifact.arrays import (
    DAY,
    FINE_DAYS,
    FULL_DAYS,
    ArtifactError,
    BarHistory,
    Grid,
    StoredGrid,
    check_grid,
    encode_grid,
    open_table,
    stored_grid,
)
from cryptopredict.artifact.index import INDEX, read_index
from cryptopredict.artifact.read import JSON_MAX, Artifact, load_artifact
from cryptopredict.artifact.schema import GRID
from cryptopredict.artifact.store import open_artifacts
from cryptopredict.utc import utc_datetime
from tests.artifact_files import write_artifact
from tests.paths import ROOT
from tests.test_artifact import HOUR, START, grid, parts


def renamed(slug: str, version: str = "v1") -> dict:
    written = parts(version)
    written["manifest"] = msgspec.structs.replace(
        written["manifest"], asset=slug, symbol=slug.upper()
    )
    return written


def index_of(model_dir: Path) -> dict:
    return json.loads((model_dir / INDEX).read_text())["assets"]


def test_every_write_enters_its_artifact_in_the_index(tmp_path):
    for slug in ("btc-usd", "eth-usd"):
        write_artifact(tmp_path, **renamed(slug))
    entries = read_index(tmp_path)
    assert entries is not None
    assert sorted(entries) == ["btc-usd", "eth-usd"]
    artifact = load_artifact(tmp_path / "eth-usd")
    assert entries["eth-usd"] == artifact.entry
    assert entries["eth-usd"].symbol == "ETH-USD"
    assert entries["eth-usd"].last_bar == int(artifact.history.ds[-1])


def test_retraining_one_pair_changes_its_entry_alone(tmp_path):
    for slug in ("btc-usd", "eth-usd", "sol-usd"):
        write_artifact(tmp_path, **renamed(slug))
    before = index_of(tmp_path)
    write_artifact(tmp_path, **renamed("eth-usd", "v2"))
    after = index_of(tmp_path)
    assert after["eth-usd"]["model_version"] == "v2"
    assert after["eth-usd"]["manifest_sha256"] != before["eth-usd"]["manifest_sha256"]
    assert {k: v for k, v in after.items() if k != "eth-usd"} == {
        k: v for k, v in before.items() if k != "eth-usd"
    }


def test_a_write_restores_a_missing_or_unreadable_index_from_the_manifests(tmp_path):
    for slug in ("btc-usd", "eth-usd"):
        write_artifact(tmp_path, **renamed(slug))
    (tmp_path / INDEX).write_text("{not json")
    with pytest.raises(ArtifactError, match=r"index\.json"):
        read_index(tmp_path)
    write_artifact(tmp_path, **renamed("sol-usd"))
    assert sorted(index_of(tmp_path)) == ["btc-usd", "eth-usd", "sol-usd"]
    (tmp_path / INDEX).unlink()
    write_artifact(tmp_path, **renamed("sol-usd", "v2"))
    assert sorted(index_of(tmp_path)) == ["btc-usd", "eth-usd", "sol-usd"]


def test_an_endless_or_linked_index_is_refused_naming_it_and_rebuilt_by_the_next_write(tmp_path):
    write_artifact(tmp_path, **renamed("btc-usd"))
    (tmp_path / INDEX).unlink()
    (tmp_path / INDEX).symlink_to("/dev/zero")  # read to its end, it would take every byte
    with pytest.raises(ArtifactError, match=r"index\.json: is a symbolic link"):
        read_index(tmp_path)
    write_artifact(tmp_path, **renamed("eth-usd"))
    assert sorted(index_of(tmp_path)) == ["btc-usd", "eth-usd"]
    with (tmp_path / INDEX).open("r+b") as index:
        index.truncate(JSON_MAX + 1)  # sparse: no disk taken
    with pytest.raises(ArtifactError, match=r"index\.json: is 67,108,865 bytes, more than"):
        read_index(tmp_path)


def test_an_entry_whose_artifact_is_gone_is_dropped_at_the_next_write(tmp_path):
    for slug in ("btc-usd", "eth-usd"):
        write_artifact(tmp_path, **renamed(slug))
    for path in (tmp_path / "eth-usd").iterdir():
        path.unlink()
    (tmp_path / "eth-usd").rmdir()
    write_artifact(tmp_path, **renamed("btc-usd", "v2"))
    assert sorted(index_of(tmp_path)) == ["btc-usd"]


WRITER = """
import sys
from pathlib import Path

from tests.test_artifact_index import renamed
from tests.artifact_files import write_artifact

for round in range(3):
    write_artifact(Path(sys.argv[1]), **renamed(sys.argv[2], f"v{round}"))
"""


@pytest.mark.slow
def test_writers_running_at_once_lose_no_entry(tmp_path):
    """Four processes, as Dask workers writing to one directory, each writing its pair three
    times: the index ends with every pair's last version, and says what each artifact holds."""
    pairs = [f"p{number}-usd" for number in range(4)]
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), slug], cwd=ROOT)
        for slug in pairs
    ]
    assert [writer.wait(timeout=300) for writer in writers] == [0] * len(pairs)
    entries = index_of(tmp_path)
    assert sorted(entries) == pairs
    assert {entry["model_version"] for entry in entries.values()} == {"v2"}
    store = open_artifacts(tmp_path)
    for slug in pairs:
        assert store.entry(slug).manifest_sha256 == store[slug].manifest_sha256


RECORDER = """
import sys
from pathlib import Path

from cryptopredict.artifact.index import record
from cryptopredict.artifact.schema import IndexEntry

model_dir, first, count = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])

for number in range(first, first + count):
    slug = f"p{number}-usd"
    entry = IndexEntry(slug, slug, "1h", 4, "v1", 0, "test", 0, 1, 0, 2, 0.8, "")
    record(model_dir, entry)  # the others' empty manifests are left out: entries come from records
"""


@pytest.mark.slow
def test_records_made_at_once_by_many_processes_are_all_kept(tmp_path):
    """The read-modify-write of the index under the lock: four processes recording 60 entries
    each, as fast as they can; without the lock, entries are lost."""
    per_process, processes = 60, 4
    for number in range(per_process * processes):
        (tmp_path / f"p{number}-usd").mkdir()
        (tmp_path / f"p{number}-usd" / "manifest.json").write_text("{}")
    recorders = [
        subprocess.Popen(
            [sys.executable, "-c", RECORDER, str(tmp_path), str(k * per_process), str(per_process)],
            cwd=ROOT,
        )
        for k in range(processes)
    ]
    assert [recorder.wait(timeout=300) for recorder in recorders] == [0] * processes
    assert len(index_of(tmp_path)) == per_process * processes


def hourly_pair(years: float, horizon_days: int) -> tuple[BarHistory, Grid]:
    """Hourly bars and their grid, the hindcast from an origin every six hours (as the release
    retrains)."""
    bars = int(years * 365 * 24)
    ds = START + HOUR * np.arange(bars + horizon_days * 24, dtype=np.int64)
    close = 30_000 + np.sin(np.arange(bars)) * 100
    history = BarHistory(
        ds=ds[:bars],
        **dict.fromkeys(("open", "high", "low", "close", "vwap"), close),
        volume=np.ones(bars),
    )
    last_bar = int(ds[bars - 1])
    six_hourly = np.maximum((ds - 1) // (6 * HOUR) * (6 * HOUR), ds[0])
    origin = np.where(ds > last_bar, last_bar, np.minimum(six_hourly, last_bar))
    return history, replace(grid(ds, last_bar), origin=origin)


def test_an_hourly_grid_of_five_and_a_half_years_and_a_three_year_horizon_is_under_800_kb(
    tmp_path,
):
    history, full = hourly_pair(5.5, 1096)
    stored = encode_grid(tmp_path / GRID, full, last_bar=int(history.ds[-1]))
    assert len(stored) < 800_000
    # As training used to store it: every hour, nine 8-byte arrays.
    assert len(full.ds) * 9 * 8 > 5_000_000


def written_pair(tmp_path: Path, history: BarHistory, full: Grid) -> Artifact:
    written = parts()
    written.update(grid=full, history=history)
    manifest = written["manifest"]
    data = msgspec.structs.replace(
        manifest.data,
        first=utc_datetime(int(history.ds[0])),
        last=utc_datetime(int(history.ds[-1])),
    )
    horizon = msgspec.structs.replace(manifest.horizon, grid_last=utc_datetime(int(full.ds[-1])))
    written["manifest"] = msgspec.structs.replace(manifest, data=data, horizon=horizon)
    return load_artifact(write_artifact(tmp_path, **written))


def test_past_30_days_the_grid_keeps_a_knot_a_day_and_serves_every_hour_between(tmp_path):
    history, full = hourly_pair(0.1, 90)
    artifact = written_pair(tmp_path, history, full)
    last_bar = int(history.ds[-1])
    times = artifact.grid_file.times()
    ahead = times[times >= last_bar]
    fine = ahead <= last_bar + FINE_DAYS * DAY
    assert np.all(np.diff(ahead[fine]) == HOUR)
    assert np.all(np.diff(ahead[~fine]) == DAY)
    assert ahead[fine][-1] == last_bar + FINE_DAYS * DAY
    assert times[-1] == full.ds[-1]
    served = artifact.grid
    np.testing.assert_array_equal(served.ds, full.ds)
    knots = np.searchsorted(full.ds, times)
    np.testing.assert_array_equal(served.yhat[knots], full.yhat[knots])
    # The test grid is linear in time, so the hours between knots come back exactly.
    np.testing.assert_allclose(served.yhat, full.yhat, rtol=1e-12)
    np.testing.assert_allclose(served.upper(95), full.upper(95), rtol=1e-7)
    np.testing.assert_array_equal(served.origin, full.origin)


def test_before_its_last_90_days_the_hindcast_keeps_two_knots_an_origin(tmp_path):
    history, full = hourly_pair(200 / 365, 10)
    last_bar = int(history.ds[-1])
    curved = np.sqrt(full.ds - full.origin)  # a band widening along the lead, as a real one
    wider = replace(full, yhat_upper_95=full.yhat_upper_95 + curved)
    artifact = written_pair(tmp_path, history, wider)
    times = artifact.grid_file.times()
    fine_from = last_bar - FULL_DAYS * DAY
    older = times[times < fine_from]
    origin = full.origin[np.searchsorted(full.ds, older)]
    # Each origin's first and last hour: two knots a run of six.
    assert np.array_equal(
        np.unique(origin, return_counts=True)[1][1:-1], [2] * (len(older) // 2 - 1)
    )
    assert np.all(np.diff(times[times >= fine_from]) == HOUR)
    served = artifact.grid
    # Every answer's origin is the one it had; the knots' values are the grid's.
    np.testing.assert_array_equal(served.origin, wider.origin)
    knots = np.searchsorted(wider.ds, times)
    np.testing.assert_allclose(served.upper(95)[knots], wider.upper(95)[knots], rtol=1e-7)
    recent = wider.ds >= fine_from
    np.testing.assert_allclose(served.upper(95)[recent], wider.upper(95)[recent], rtol=1e-7)
    # Between an origin's first and last hour the band is a straight line: narrower than the
    # curved one (to float32's precision), by at most the curve's bulge over a run from lead 0
    # to 6 hours (the first origin's), whose chord is lowest beneath it at lead 1.5 hours.
    gap = (wider.upper(95) - served.upper(95))[~recent]
    bulge = np.sqrt(1.5 * HOUR) - np.sqrt(6 * HOUR) / 4
    assert gap.min() > -1e-7 * wider.upper(95).max()
    assert 0 < gap.max() < bulge


def test_a_grid_interpolating_between_two_origins_is_refused(tmp_path):
    """Between two knots an answer takes the later knot's origin: were it after the earlier
    knot, an hour between them would be answered with data from after it."""
    history, full = hourly_pair(0.05, 2)
    last_bar = int(history.ds[-1])
    path = tmp_path / GRID
    path.write_bytes(encode_grid(path, full, last_bar=last_bar))
    with path.open("rb") as opened:
        record, _ = open_table(path, opened)
    kept = stored_grid(path, record)
    check_grid(path, kept, first_bar=int(history.ds[0]), last_bar=last_bar)
    skipping = replace(
        kept, time=kept.time[::3], yhat=kept.yhat[::3], band=kept.band[::3], lead=kept.lead[::3]
    )
    with pytest.raises(ArtifactError, match="answers between them would have seen later data"):
        check_grid(path, skipping, first_bar=int(history.ds[0]), last_bar=last_bar)


def test_an_answer_at_one_instant_copies_nothing_of_the_grid_s_axis():
    """The knots around an instant are searched in the axis as stored. Converting the whole
    axis on every request (twice) was what let Waitress's loop spin at 64 connections: each
    conversion releases the GIL (docs/performance.md, "The 64-connection collapse, found
    again")."""
    knots = 2_000_000  # 8 MB as int64
    time = (1_600_000_000 + 60 * np.arange(knots)).astype(np.uint32)
    band = np.tile(np.log([0.9, 1.1, 0.8, 1.2, 0.7, 1.3]), (knots, 1)).astype(np.float32)
    grid = StoredGrid(60, time, np.linspace(1.0, 2.0, knots), band, np.zeros(knots, np.uint32))
    instant = np.array([float(time[knots // 2]) + 15.0])
    tracemalloc.start()
    try:
        before, after, fraction = grid.between(instant)
        values = grid.values_at((before, after, fraction), 80)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # One conversion of the axis is 16 MB; tracemalloc also counts what the worker's other
    # threads (a test's leftover cluster or poller) allocate meanwhile: a few hundred KB.
    assert peak < 1024 * 1024
    assert (before[0], after[0], fraction[0]) == (knots // 2, knots // 2 + 1, 0.25)
    yhat = grid.yhat[knots // 2] + 0.25 * (grid.yhat[knots // 2 + 1] - grid.yhat[knots // 2])
    np.testing.assert_allclose(values[0], yhat * np.array([1.0, 0.8, 1.2]), rtol=1e-6)
