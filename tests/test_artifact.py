"""The artifact contract: written atomically, verified on every read, refused when corrupt."""

from __future__ import annotations

import importlib.metadata
import json
import os
import pickle
import stat
from datetime import UTC, datetime

import msgspec
import numpy as np
import pytest

from cryptopredict.artifact.arrays import ArtifactError, BacktestRows, BarHistory, Grid
from cryptopredict.artifact.read import load_artifact, open_artifact
from cryptopredict.artifact.schema import (
    BACKTEST,
    GRID,
    HISTORY,
    LEVELS,
    MANIFEST,
    MODEL,
    ORIGINS,
    SCHEMA_VERSION,
    BacktestReport,
    GapCount,
    Manifest,
    ModelConfig,
    PostprocessRules,
    RepairCount,
    ValidationFindings,
)
from cryptopredict.model.band_spec import DEFAULT_BAND
from cryptopredict.utc import iso_utc
from tests.artifact_files import load_artifacts, write_artifact
from tests.crafted import resealed, retyped
from tests.crash import kill_9_after

HOUR = 3600
START = 1_700_000_000 - 1_700_000_000 % HOUR


def grid(ds: np.ndarray, last_bar: int) -> Grid:
    """A grid by the contract: a hindcast made an hour before each bar, then the forecast from
    the last bar, with bands 20, 50 and 100 wide."""
    yhat = 30_000 + np.arange(len(ds), dtype=np.float64)
    origin = np.minimum(np.maximum(ds - HOUR, ds[0]), last_bar)
    bands = {}
    for level, half in zip(LEVELS, (20, 50, 100), strict=True):
        bands[f"yhat_lower_{level}"], bands[f"yhat_upper_{level}"] = yhat - half, yhat + half
    return Grid(ds=ds, origin=origin, yhat=yhat, **bands)


def parts(version: str = "v1", points: int = 48) -> dict:
    ds = START + HOUR * np.arange(points, dtype=np.int64)
    yhat = 30_000 + np.arange(points, dtype=np.float64)
    return {
        "model": {"stand-in for": "a fitted Prophet model", "version": version},
        "grid": grid(ds, last_bar=int(ds[23])),
        "history": BarHistory(
            ds=ds[:24],
            **dict.fromkeys(("open", "high", "low", "close", "vwap"), yhat[:24] + 3),
            volume=np.ones(24),
        ),
        "backtest": BacktestReport(summary=None, band=None, hindcast=None),
        "origins": BacktestRows(ds[:23], np.ones(23), yhat[1:24] + 3, yhat[:23], np.zeros((23, 6))),
        "manifest": msgspec.convert(manifest_fields(version, int(ds[-1])), Manifest),
    }


def manifest_fields(version: str, grid_last: int) -> dict:
    """A manifest as JSON fields, from the contract's own types where they have defaults."""
    rules = PostprocessRules(
        "log", START, 30_000.0, 10.3, True, None, 0.8, (1.0,), (-0.01,), (0.01,)
    )
    return {
        "schema_version": SCHEMA_VERSION,
        "files": {},
        "params": msgspec.to_builtins(ModelConfig()),
        "band": {**msgspec.structs.asdict(DEFAULT_BAND), "hindcast": "the hindcast rule"},
        "served": {
            "point_forecast": "the last close",
            "band_method": DEFAULT_BAND.name,
            "damping": {"how": "fixed", "why": "trained without a backtest"},
            "band": {"how": "fixed", "why": "trained without a backtest"},
        },
        "postprocess": msgspec.to_builtins(rules),
        "asset": "btc-usd",
        "symbol": "BTC/USD",
        "interval": "1h",
        "model_version": version,
        "created_at": "2026-11-21T00:00:00Z",
        "git_sha": None,
        "data": {
            "source": "snapshot",
            "failed_sources": ["alpaca: no network"],
            "first": "2023-11-14T22:00:00Z",
            "last": "2023-11-15T21:00:00Z",
            "rows": 24,
            "sha256": "0" * 64,
            "validation": msgspec.to_builtins(
                ValidationFindings(24, "a", "b", 0, False, RepairCount(), RepairCount(), GapCount())
            ),
            "training_window": {
                "first": "2023-11-14T22:00:00Z",
                "last": "2023-11-15T21:00:00Z",
                "rows": 24,
            },
        },
        "versions": {"prophet": importlib.metadata.version("prophet")},
        "metrics": None,
        "backtest_boundary": None,
        "horizon": {
            "days": 1.0,
            "grid_first": "2023-11-14T22:00:00Z",
            "grid_last": iso_utc(grid_last),
        },
        "levels": list(LEVELS),
    }


@pytest.fixture
def written(tmp_path):
    return write_artifact(tmp_path / "artifacts", **parts())


def test_round_trip(written):
    artifact = load_artifact(written)
    assert written.name == "btc-usd"
    assert artifact.manifest.schema_version == SCHEMA_VERSION
    assert set(artifact.manifest.files) == {MODEL, GRID, HISTORY, BACKTEST, ORIGINS}
    assert artifact.origins is not None
    np.testing.assert_array_equal(artifact.origins.actual, parts()["origins"].actual)
    assert artifact.manifest.data.failed_sources == ("alpaca: no network",)
    assert artifact.manifest.created_at == datetime(2026, 11, 21, tzinfo=UTC)
    assert artifact.manifest.interval_width == 0.8
    assert artifact.manifest.levels == LEVELS == (50, 80, 95)
    # Within a day of the last bar the grid keeps every hour; the bands go through float32.
    written_grid = parts()["grid"]
    np.testing.assert_array_equal(artifact.grid.ds, written_grid.ds)
    np.testing.assert_array_equal(artifact.grid.origin, written_grid.origin)
    np.testing.assert_array_equal(artifact.grid.yhat, written_grid.yhat)
    for level in LEVELS:
        np.testing.assert_allclose(artifact.grid.lower(level), written_grid.lower(level), rtol=1e-9)
        np.testing.assert_allclose(artifact.grid.upper(level), written_grid.upper(level), rtol=1e-9)
    # Within 90 days of the last bar the history keeps every column of every bar.
    history = artifact.history
    whole = history.rows(history.first_bar, history.last_bar + 1)
    for name in BarHistory.names():
        np.testing.assert_array_equal(whole[name], parts()["history"][name])
    assert artifact.load_model() == parts()["model"]
    assert list(load_artifacts(written.parent)) == ["btc-usd"]


def test_the_artifact_is_readable_by_other_users(written):
    assert stat.S_IMODE(written.stat().st_mode) & 0o055 == 0o055
    for path in written.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) & 0o044 == 0o044


def test_a_second_write_replaces_the_first_and_leaves_no_debris(written):
    write_artifact(written.parent, **parts("v2"))
    assert load_artifact(written).manifest.model_version == "v2"
    assert sorted(path.name for path in written.parent.iterdir()) == ["btc-usd", "index.json"]


def test_a_failed_write_leaves_the_previous_artifact_intact(written):
    before = {path.name: path.read_bytes() for path in written.iterdir()}
    broken = parts("v2")
    broken["model"] = lambda: "functions cannot be pickled"
    with pytest.raises((pickle.PicklingError, AttributeError)):
        write_artifact(written.parent, **broken)
    assert {path.name: path.read_bytes() for path in written.iterdir()} == before
    assert sorted(path.name for path in written.parent.iterdir()) == ["btc-usd", "index.json"]


def test_invalid_arrays_are_refused_before_anything_is_replaced(written):
    bad = parts("v2")
    bad["grid"].yhat_lower_80[5] = np.nan
    with pytest.raises(ArtifactError, match=r"grid\.npy: yhat_lower_80 holds non-finite values"):
        write_artifact(written.parent, **bad)
    assert load_artifact(written).manifest.model_version == "v1"


def test_a_nan_in_the_manifest_is_refused_naming_it_and_nothing_is_replaced(written):
    """Issue 35: a mean of an empty slice once reached the manifest as NaN, and the write failed
    with json's "Out of range float values are not JSON compliant: nan"."""
    bad = parts("v2")
    rules = bad["manifest"].postprocess
    bad["manifest"] = msgspec.structs.replace(
        bad["manifest"], postprocess=msgspec.structs.replace(rules, model_at_origin=float("nan"))
    )
    with pytest.raises(
        ArtifactError,
        match=r"manifest\.json: postprocess\.model_at_origin \(nan\) is not a finite number; "
        "nothing written",
    ):
        write_artifact(written.parent, **bad)
    assert load_artifact(written).manifest.model_version == "v1"


@pytest.mark.parametrize("name", [GRID, HISTORY, BACKTEST, ORIGINS, MANIFEST])
def test_a_missing_file_is_named(written, name):
    (written / name).unlink()
    with pytest.raises(ArtifactError, match=f"{name}: missing"):
        load_artifact(written)


def test_an_artifact_without_its_pickled_model_is_whole_as_serving_sees_it(written):
    """The image holds only what serving reads: no model.pkl (its build stage keeps them)."""
    (written / MODEL).unlink()
    artifact = load_artifact(written)  # every served file checked against the manifest
    assert artifact.manifest.files[MODEL]  # its digest is still recorded, for the build stage's
    with pytest.raises(ArtifactError, match=r"model\.pkl: is not here: the image holds only"):
        artifact.load_model()


def test_a_truncated_pickle_is_caught(written):
    data = (written / MODEL).read_bytes()
    (written / MODEL).write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtifactError, match=r"model\.pkl: sha256 .* does not match"):
        load_artifact(written)


def test_an_artifact_from_before_the_backtest_s_rows_loads_without_them(tmp_path):
    """A backtest.json with the 100 past forecasts it used to keep (`paths`), no origins.npz."""
    written = write_artifact(tmp_path, **{**parts(), "origins": None})
    report = json.loads((written / BACKTEST).read_text())
    report["paths"] = [{"origin": "2023-11-14T22:00:00Z", "ds": [START], "yhat": [1.0]}]
    (written / BACKTEST).write_text(json.dumps(report))
    resealed(written, BACKTEST)
    artifact = load_artifact(written)
    assert artifact.origins is None
    assert artifact.backtest == parts()["backtest"]


def test_rows_of_other_lengths_are_refused(written):
    with np.load(written / ORIGINS) as stored:
        columns = {name: stored[name] for name in stored.files}
    np.savez_compressed(written / ORIGINS, **{**columns, "hours": columns["hours"][1:]})
    resealed(written, ORIGINS)  # past the digest: the check is of the data itself
    with pytest.raises(ArtifactError, match=r"origins\.npz: its columns are \{22, 23\} long"):
        load_artifact(written)


def test_an_edited_grid_is_caught(written):
    data = bytearray((written / GRID).read_bytes())
    data[-200] ^= 0xFF
    (written / GRID).write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match=r"grid\.npy: sha256 .*corrupt or edited"):
        load_artifact(written)


def test_a_checksum_mismatch_in_the_manifest_is_caught(written):
    rewrite(written, lambda manifest: manifest["files"].update({HISTORY: "0" * 64}))
    with pytest.raises(ArtifactError, match=r"history\.npy: sha256"):
        load_artifact(written)


def test_a_manifest_that_is_not_json_is_refused(written):
    (written / MANIFEST).write_text('{"schema_version": 1,')
    with pytest.raises(ArtifactError, match=r"manifest\.json: not valid JSON"):
        load_artifact(written)


def test_a_manifest_missing_keys_is_refused(written):
    manifest = json.loads((written / MANIFEST).read_text())
    del manifest["metrics"], manifest["interval"]
    (written / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="lacks interval, metrics"):
        load_artifact(written)


def test_a_model_from_another_prophet_version_is_refused_when_loaded(written):
    rewrite(written, lambda manifest: set_path(manifest, "versions.prophet", "0.7.1"))
    artifact = load_artifact(written)  # serving needs no Prophet: reading does not check it
    with pytest.raises(ArtifactError, match=r"pickled with Prophet 0.7.1 but Prophet 1"):
        artifact.load_model()


def rewrite(written, change) -> None:
    manifest = json.loads((written / MANIFEST).read_text())
    change(manifest)
    (written / MANIFEST).write_text(json.dumps(manifest))


def set_path(manifest: dict, path: str, value) -> None:
    *parents, last = path.split(".")
    for key in parents:
        manifest = manifest[key]
    manifest[last] = value


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("symbol", 42, r"Expected `str`, got `int` - at `\$.symbol`"),
        ("interval", "hourly", r"Expected `str` matching regex .* - at `\$.interval`"),
        ("created_at", "2026-11-21T00:00:00", r"timezone component - at `\$.created_at`"),
        ("created_at", "yesterday", r"Invalid RFC3339 .* - at `\$.created_at`"),
        ("data.rows", "24", r"Expected `int`, got `str` - at `\$.data.rows`"),
        ("data.training_window", None, r"got `null` - at `\$.data.training_window`"),
        ("horizon.grid_last", 5, r"Expected `datetime`, got `int` - at `\$.horizon.grid_last`"),
        ("git_sha", 7, r"Expected `str \| null`, got `int` - at `\$.git_sha`"),
        ("postprocess.interval_width", 80, r"`\$.postprocess.interval_width`"),
        ("metrics", [], r"Expected `object \| null`, got `array` - at `\$.metrics`"),
        ("levels", [50, 80], r"levels are \[50, 80\], not the grid's \[50, 80, 95\]"),
        ("levels", "80", r"Expected `array`, got `str` - at `\$.levels`"),
        ("schema_version", SCHEMA_VERSION + 1, "newer than this code understands"),
        (
            "schema_version",
            7,
            r"schema_version 7 is no longer supported \(schema 8 stores the grid and the "
            r"history sized to what is served\); retrain with `python train.py`",
        ),
    ],
)
def test_a_manifest_field_it_cannot_use_is_named(written, path, value, message):
    rewrite(written, lambda manifest: set_path(manifest, path, value))
    with pytest.raises(ArtifactError, match=rf"manifest\.json: .*{message}"):
        load_artifact(written)


@pytest.mark.parametrize(
    ("name", "change", "message"),
    [
        ("grid", {"yhat": -1.0}, r"grid\.npy: yhat holds non-positive values"),
        ("grid", {"yhat_upper_95": -1.0}, r"grid\.npy: yhat_upper_95 holds non-finite values"),
        ("grid", {"yhat_lower_50": np.inf}, r"grid\.npy: yhat_lower_50 holds non-finite values"),
        ("history", {"volume": -1.0}, r"history\.npy: volume holds negative values"),
        ("history", {"close": np.inf}, r"history\.npy: close holds non-finite values"),
        ("history", {"ds": "backwards"}, r"history\.npy: ds is not strictly increasing"),
    ],
)
def test_arrays_that_break_the_contract_are_refused_at_write(tmp_path, name, change, message):
    bad = parts()
    arrays = {key: bad[name][key].copy() for key in bad[name].names()}
    for key, value in change.items():
        if value == "backwards":
            arrays[key] = arrays[key][::-1].copy()
        else:
            arrays[key][3] = value
    bad[name] = type(bad[name])(**arrays)
    with pytest.raises(ArtifactError, match=message):
        write_artifact(tmp_path, **bad)
    assert list(tmp_path.iterdir()) == []


AT_ROW_3 = r"at 2023-11-15T01:00:00Z \(1 rows in all\)"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("yhat_lower_50", 30_003.5, "yhat_lower_50 is above yhat"),
        ("yhat_upper_50", 30_002.5, "yhat_upper_50 is below yhat"),
        ("yhat_lower_80", 29_990.0, "yhat_lower_80 is above the 50% band"),
        ("yhat_upper_95", 30_040.0, "yhat_upper_95 is below the 80% band"),
        ("origin", START + 4 * HOUR, "origin is after ds or after the last stored bar"),
    ],
)
def test_bands_that_do_not_nest_or_origins_that_saw_the_future_are_refused(
    tmp_path, name, value, message
):
    bad = parts()
    arrays = {key: bad["grid"][key].copy() for key in bad["grid"].names()}
    arrays[name][3] = value
    bad["grid"] = Grid(**arrays)
    with pytest.raises(ArtifactError, match=rf"grid\.npy: {message} {AT_ROW_3}"):
        write_artifact(tmp_path, **bad)
    assert list(tmp_path.iterdir()) == []


def test_a_forecast_row_is_made_at_the_last_stored_bar(tmp_path):
    bad = parts()
    ds = bad["grid"].ds
    arrays = {key: bad["grid"][key].copy() for key in bad["grid"].names()}
    arrays["origin"][30] = ds[20]
    bad["grid"] = Grid(**arrays)
    with pytest.raises(
        ArtifactError,
        match=r"origin is before the last stored bar in a forecast row at 2023-11-16T04:00:00Z",
    ):
        write_artifact(tmp_path, **bad)


def test_the_pickle_is_checked_again_when_loaded(written):
    artifact = load_artifact(written)
    (written / MODEL).write_bytes(pickle.dumps({"swapped": "after the server started"}))
    with pytest.raises(ArtifactError, match="does not match"):
        artifact.load_model()


def test_a_model_directory_without_artifacts_says_what_to_do(tmp_path):
    with pytest.raises(
        ArtifactError, match="no such directory; train first: `make run` trains and serves"
    ):
        load_artifacts(tmp_path / "absent")
    (tmp_path / "empty" / ".tmp-btc-usd-x").mkdir(parents=True)
    (tmp_path / "empty" / ".tmp-btc-usd-x" / MANIFEST).write_text("{}")
    with pytest.raises(ArtifactError, match="holds no artifact"):
        load_artifacts(tmp_path / "empty")


# The parts come pickled from the test: this process imports only the writer (importing the
# test module for `parts` cost each writer two seconds before its first write).
ARTIFACT_WRITER = """
import pickle
import sys
from pathlib import Path

import msgspec

from tests.artifact_files import write_artifact

base = pickle.loads(Path(sys.argv[2]).read_bytes())
print("ready", flush=True)
version = 1
while True:
    version += 1
    model = {**base["model"], "version": f"v{version}"}
    manifest = msgspec.structs.replace(base["manifest"], model_version=f"v{version}")
    write_artifact(Path(sys.argv[1]), **{**base, "model": model, "manifest": manifest})
"""


@pytest.mark.slow
def test_kill_9_mid_write_leaves_a_verified_artifact(written, tmp_path):
    """A writer killed at any moment leaves the last complete artifact, never a mix of two."""
    root = written.parent
    base = tmp_path / "parts.pickle"
    base.write_bytes(pickle.dumps(parts("v1", points=200_000)))
    versions_seen = set()
    for delay in (0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95):
        kill_9_after(ARTIFACT_WRITER, [str(root), str(base)], delay)
        artifact = load_artifact(root / "btc-usd")  # verifies every checksum
        version = artifact.manifest.model_version
        assert artifact.load_model()["version"] == version
        versions_seen.add(version)
    assert len(versions_seen) > 1, "the writer never replaced the artifact; the test proved nothing"


@pytest.mark.parametrize(
    ("name", "field", "new_type", "message"),
    [
        # An object in the grid's header once crashed the server: its bytes read as a pointer.
        (GRID, "step", "|O", "not a .npy record this code writes .*OBJECT"),
        (GRID, "yhat", "|O", "not a .npy record this code writes .*OBJECT"),
        (GRID, "step", ">i8", r"holds \[\('step', '>i8'\), .*not the grid this code writes"),
        (GRID, "step", "<f8", r"holds \[\('step', '<f8'\), .*not the grid this code writes"),
        (
            GRID,
            "time",
            "<f4",
            r"holds .*\('time', '<f4', \(48,\)\), .*not the grid this code writes",
        ),
        (
            GRID,
            "lead",
            "<i2",
            r"holds .*\('lead', '<i2', \(48,\)\)\], not the grid this code writes",
        ),
        (
            GRID,
            "lead",
            "<i4",
            r"holds .*\('lead', '<i4', \(48,\)\)\], not the grid this code writes",
        ),
        (HISTORY, "close", "|O", "not a .npy record this code writes .*OBJECT"),
        (HISTORY, "first", "<f8", "first is not one int64"),
        (HISTORY, "close", "<f4", "close is float32 with [0-9]+ decimals, not whole ticks"),
    ],
)
def test_an_array_of_a_type_the_writer_never_writes_is_refused(
    written, name, field, new_type, message
):
    retyped(written / name, field, new_type)
    resealed(written, name)  # past the digest: the check is of the data itself
    with pytest.raises(ArtifactError, match=f"{name}: {message}"):
        open_artifact(written)


@pytest.mark.parametrize("name", [GRID, HISTORY, MANIFEST, BACKTEST, ORIGINS, MODEL])
def test_a_file_that_is_a_symbolic_link_is_never_followed(written, tmp_path, name):
    """Even to a copy of the very file: an artifact's files are the regular files written."""
    outside = tmp_path / f"outside-{name}"
    (written / name).rename(outside)
    (written / name).symlink_to(outside)
    with pytest.raises(ArtifactError, match=rf"{name}: is a symbolic link"):
        load_artifact(written)


def test_a_fifo_is_refused_without_blocking(written):
    (written / GRID).unlink()
    os.mkfifo(written / GRID)
    with pytest.raises(ArtifactError, match=r"grid\.npy: is not a regular file"):
        open_artifact(written)


def test_an_artifact_directory_may_link_within_its_model_directory_only(written, tmp_path):
    model_dir = written.parent
    (model_dir / "releases").mkdir()
    written.rename(model_dir / "releases" / "btc-usd")
    written.symlink_to(model_dir / "releases" / "btc-usd")
    assert open_artifact(written).asset == "btc-usd"
    written.unlink()
    (model_dir / "releases" / "btc-usd").rename(tmp_path / "elsewhere")
    written.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ArtifactError, match="is a symbolic link out of its model directory"):
        open_artifact(written)
