"""Serving while training writes into the model directory (issues 47 and 56): `/healthz` and
`/assets` list the pairs still training with what each does now and its progress; a pair still
training answers 503 with `Retry-After` and its progress, never 404; a pair the run could not
train makes `/healthz` degraded, naming it and why, while the run lasts and after it, until the
next run; the server serves every pair as soon as its artifact is written, a pair retrained
anew."""

from __future__ import annotations

import json
import math
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from cryptopredict.api.app import create_app
from cryptopredict.api.reloading import Reloading
from cryptopredict.api.serving.catalog import SWAPPED_IN
from cryptopredict.artifact.arrays import ArtifactError
from cryptopredict.artifact.index import record
from cryptopredict.artifact.run import PairFailure, TrainingRun, write_run
from cryptopredict.artifact.store import open_artifacts
from cryptopredict.artifact.training import (
    FILE,
    STALE_SECONDS,
    VERSION,
    PairStatus,
    TrainingStatus,
    clear_status,
    write_status,
)
from cryptopredict.config import ApiSettings
from tests.live_server import answered, start_server

BACKTEST = "backtest of the served forecast"
NO_SOURCE = "no source delivered NOSUCH/USD 1h bars (the embedded data holds no NOSUCH/USD)"


def _pair(asset: str, state: str, *, why=None) -> PairStatus:
    running = state == "running"
    return PairStatus(
        asset=asset,
        state=state,  # type: ignore[arg-type]
        step=BACKTEST if running else "waiting for a worker (next: reading its history)",
        why=why,
        eta_seconds=240.99 if running else None,
    )


def _status(*pairs: PairStatus, ago: float = 0.0) -> TrainingStatus:
    updated = datetime.now(UTC) - timedelta(seconds=ago)
    return TrainingStatus(
        version=VERSION, started_at=updated - timedelta(minutes=3), updated_at=updated,
        eta_seconds=300.99, pairs=pairs,
    )  # fmt: skip


def _counted_down(training: dict, written: float, ago: float = 60.0) -> dict:
    """`training` without its times left, having checked them: the run's 301 s and BTC/USD's
    241 s said `ago` seconds before `written`, each counted down by every second the app took
    to answer since (a loaded machine takes more than one)."""
    late = math.ceil(time.monotonic() - written)
    assert 301 - ago - late <= training.pop("eta_seconds") <= 301 - ago
    assert 241 - ago - late <= training["pairs"][0].pop("eta_seconds") <= 241 - ago
    return training


def _client(model_dir: Path, tmp_path: Path):
    settings = ApiSettings(
        model_dir=model_dir,
        database_url=f"sqlite:///{tmp_path / 'none.db'}",
        stale_after_hours=1e6,  # the fixture's data ends months ago (test_staleness.py)
    )
    return create_app(open_artifacts(model_dir), settings).test_client()


def test_healthz_and_assets_list_the_pairs_still_training_with_their_progress(
    copy, tmp_path, conforms
):
    written = time.monotonic()
    write_status(
        copy,
        _status(
            _pair("btc-usd", "running"),
            _pair("eth-usd", "done"),
            _pair("sol-usdt", "waiting"),
            _pair("nosuch-usd", "failed", why=NO_SOURCE),
            ago=60.0,  # its times left count down since (issue 106: never frozen between writes)
        ),
    )
    client = _client(copy, tmp_path)
    health = client.get("/healthz")
    assert health.status_code == 200
    conforms("/healthz", health)
    training = _counted_down(health.get_json()["training"], written)
    assert training["pairs"] == [
        {"asset": "btc-usd", "state": "running", "step": BACKTEST},
        {
            "asset": "sol-usdt", "state": "waiting",
            "step": "waiting for a worker (next: reading its history)", "eta_seconds": None,
        },
    ]  # fmt: skip
    assert training["failed"] == [{"asset": "nosuch-usd", "reason": NO_SOURCE}]
    assets = client.get("/assets")
    conforms("/assets", assets)
    assert _counted_down(assets.get_json()["training"], written) == training
    # The list grows as pairs are written: no cache may keep it meanwhile.
    assert assets.headers["Cache-Control"] == "no-store"


def test_without_a_run_training_is_null_and_assets_are_cached(copy, tmp_path):
    client = _client(copy, tmp_path)
    health = client.get("/healthz").get_json()
    assert health["training"] is None
    assert (health["status"], health["failed"]) == ("ok", [])
    assets = client.get("/assets")
    assert assets.get_json()["training"] is None
    assert assets.headers["Cache-Control"].startswith("public")


@pytest.mark.parametrize(
    "written",
    [
        # a run killed long ago left its file: not training any more
        lambda d: write_status(
            d,
            _status(_pair("sol-usdt", "waiting"), ago=STALE_SECONDS + 60),
        ),
        lambda d: (d / FILE).write_text("{not json"),
        # every final model served: nothing is left to say
        lambda d: write_status(d, _status(_pair("btc-usd", "done"))),
        # a file of the version before a pair was one task (it counted fits)
        lambda d: (d / FILE).write_text(
            json.dumps({**msgspec.to_builtins(_status(_pair("btc-usd", "waiting"))), "version": 2})
        ),
    ],
)
def test_a_stale_unreadable_or_finished_status_is_not_training(copy, tmp_path, written):
    written(copy)
    client = _client(copy, tmp_path)
    assert client.get("/healthz").get_json()["training"] is None


def test_a_failed_pair_makes_healthz_degraded_naming_it_while_the_run_lasts_and_after(
    copy, tmp_path, conforms
):
    """Issue 56 bar 2: the run's failure is named with why until the next run, not dropped."""
    write_status(
        copy,
        _status(
            _pair("btc-usd", "running"),
            _pair("nosuch-usd", "failed", why=NO_SOURCE),
        ),
    )
    settings = ApiSettings(model_dir=copy, stale_after_hours=1e6)  # data months old
    reloading = Reloading(lambda: create_app(open_artifacts(copy), settings), copy)
    during = reloading.app.test_client().get("/healthz")
    conforms("/healthz", during)
    said = during.get_json()
    assert (said["status"], said["failed"]) == (
        "degraded",
        [{"asset": "nosuch-usd", "reason": NO_SOURCE}],
    )
    # The run ends: it records what failed and removes its status file.
    ended = datetime.now(UTC).replace(microsecond=0)
    write_run(
        copy,
        TrainingRun(
            asked="btc-usd,nosuch-usd", finished_at=ended, model_version="dev",
            trained=("btc-usd",), failed=(PairFailure(asset="nosuch-usd", reason=NO_SOURCE),),
            ranking=None,
        ),
    )  # fmt: skip
    clear_status(copy)
    assert reloading.check() is True  # the run's record is read as it is written
    after = reloading.app.test_client().get("/healthz").get_json()
    assert (after["status"], after["failed"], after["training"]) == (
        "degraded",
        [{"asset": "nosuch-usd", "reason": NO_SOURCE}],
        None,
    )
    # The next run: what it says now, not what the last one failed.
    write_status(copy, _status(_pair("btc-usd", "running")))
    again = reloading.app.test_client().get("/healthz").get_json()
    assert (again["status"], again["failed"]) == ("ok", [])


# Every route of an asset, with a query it answers.
ROUTES = (
    ("/forecast/{asset}", "?date=2026-08-01"),
    ("/forecast/{asset}/range", "?start=2026-08-01&end=2026-08-02"),
    ("/forecast/{asset}/range.csv", "?start=2026-08-01&end=2026-08-02"),
    ("/model/{asset}", ""),
    ("/model/{asset}/backtest", ""),
    ("/model/{asset}/track-record", ""),
    ("/candles/{asset}", ""),
    ("/candles/{asset}.csv", ""),
    ("/price/{asset}", ""),
)


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("asked", ["sol-usdt", "SOL/USDT", "SOL-USDT"])
def test_a_pair_still_training_answers_503_with_retry_after_and_its_progress(
    copy, tmp_path, route, asked, conforms
):
    """Issue 56 bar 3: asked before its first model is written, a pair still training says so,
    and when to ask again: not 404, which says it does not exist."""
    write_status(copy, _status(_pair("sol-usdt", "running")))
    client = _client(copy, tmp_path)
    path, asking = route
    answer = client.get(path.format(asset=asked.replace("/", "%2F")) + asking)
    assert answer.status_code == 503, answer.get_json()
    assert answer.headers["Retry-After"] == "10"
    said = answer.get_json()
    assert said["error"] == "still_training"
    assert said["detail"].startswith(f"sol-usdt is still training ({BACKTEST}): it is served")
    conforms(path, answer)
    # a pair nobody trains is still unknown
    assert client.get(path.format(asset="nosuch-usdt") + asking).status_code == 404


@pytest.mark.parametrize("status", ["done", None])
def test_a_pair_written_but_not_yet_served_answers_503_not_404(
    copy, artifact_dir, tmp_path, status
):
    """Issue 84 bar 1: between the run saying BTC/USD is done (or ending, its status file gone)
    and the server's next look at the index, /bitcoin is still coming, not unknown; and while the
    run lasts, /healthz lists it as training (it said none left: issue 47 bar 1)."""
    shutil.rmtree(copy / "btc-usd")
    record(copy, None, afresh=True)
    client = _client(copy, tmp_path)  # serves ETH/USD alone
    shutil.copytree(artifact_dir / "btc-usd", copy / "btc-usd")
    record(copy, None, afresh=True)  # written: the index lists it, this application does not
    if status is not None:
        write_status(copy, _status(_pair("btc-usd", status)))
    answer = client.get("/bitcoin?date=2026-08-01")
    assert (answer.status_code, answer.headers.get("Retry-After")) == (503, "1")
    assert answer.get_json()["error"] == "still_training"
    assert "its model is written, and served within seconds" in answer.get_json()["detail"]
    assert client.get("/forecast/nosuch-usd?date=2026-08-01").status_code == 404
    training = client.get("/healthz").get_json()["training"]
    coming = [{"asset": "btc-usd", "state": "running", "step": SWAPPED_IN, "eta_seconds": None}]
    assert (training and training["pairs"]) == (coming if status else None)


def test_the_application_is_built_again_when_the_index_changes(copy):
    built: list[int] = []

    def build():
        built.append(len(open_artifacts(copy)))
        if len(built) == 3:
            raise ArtifactError("the index is being rewritten")
        return create_app(open_artifacts(copy), ApiSettings(model_dir=copy))

    reloading = Reloading(build, copy)
    first = reloading.app
    assert built == [2]
    assert reloading.check() is False  # nothing changed
    shutil.rmtree(copy / "eth-usd")
    record(copy, None, afresh=True)
    assert reloading.check() is True
    assert built == [2, 1]
    assert reloading.app is not first
    assert list(reloading.catalog.store) == ["btc-usd"]
    # A build that fails leaves the application serving as it was.
    serving = reloading.app
    record(copy, None, afresh=True)
    assert reloading.check() is False
    assert reloading.app is serving


def test_before_its_first_model_it_serves_the_run_s_progress(artifact_dir, tmp_path, conforms):
    """Issue 96, item 1: `make run` listens from its first second; until a model is written, a
    pair still training answers 503 with its progress, `/healthz` 200 `starting` with the run's,
    the dashboard the training alone (training.js draws it: test_browser.py); then the model is
    served. An empty model directory without a run is refused, saying to train first."""
    model_dir = tmp_path / "models"
    model_dir.mkdir()
    build = lambda: create_app(open_artifacts(model_dir), ApiSettings(model_dir=model_dir))  # noqa: E731
    with pytest.raises(ArtifactError, match=f"no artifact to serve in {model_dir}; train first"):
        build()
    written = time.monotonic()
    write_status(model_dir, _status(_pair("btc-usd", "running"), _pair("eth-usd", "waiting")))
    reloading = Reloading(build, model_dir)
    client = reloading.wsgi.test_client()
    for route in ("/bitcoin?date=2026-08-01", "/bitcoin/forecast", "/model", "/candles/btc-usd"):
        answer = client.get(route)
        assert (answer.status_code, answer.headers["Retry-After"]) == (503, "10"), route
        assert answer.get_json()["error"] == "still_training", route
        assert answer.get_json()["detail"].startswith(f"btc-usd is still training ({BACKTEST})")
    conforms("/bitcoin", client.get("/bitcoin?date=2026-08-01"))
    assert "known: none yet" in client.get("/forecast/nosuch-usd").get_json()["detail"]
    for route in ("/openapi.json", "/metrics", "/live", "/docs"):
        assert client.get(route).status_code == 200, route
    listed = client.get("/assets")
    conforms("/assets", listed)
    assert [listed.get_json()[key] for key in ("default", "assets")] == [None, []]
    health = client.get("/healthz")
    conforms("/healthz", health)
    said = health.get_json()
    assert (health.status_code, said["status"], said["asset"]) == (200, "starting", None)
    # Issue 106, item 2: the run's time left from the first poll, as once serving.
    assert _counted_down(said["training"], written, ago=0)["pairs"][1]["eta_seconds"] is None
    page = client.get("/")
    assert (page.status_code, page.headers["Cache-Control"]) == (200, "no-store")
    assert "<h1>Training: no pair is served yet</h1>" in page.text
    shutil.copytree(artifact_dir / "btc-usd", model_dir / "btc-usd")
    record(model_dir, None, afresh=True)
    assert reloading.check() is True
    assert client.get("/bitcoin?date=2026-08-01").status_code == 200
    assert client.get("/healthz").get_json()["asset"] == "btc-usd"


def test_the_server_serves_a_pair_as_soon_as_its_artifact_is_written(artifact_dir, tmp_path):
    model_dir = tmp_path / "models"
    model_dir.mkdir()
    shutil.copytree(artifact_dir / "btc-usd", model_dir / "btc-usd")
    record(model_dir, None, afresh=True)
    with start_server(model_dir, tmp_path / "api.log") as server:
        assert answered(f"{server.url}/forecast/eth-usd?date=2026-06-01")[0] == 404
        # As training writes one: beside the others, then swapped in, then the index.
        shutil.copytree(artifact_dir / "eth-usd", model_dir / ".tmp-eth-usd")
        (model_dir / ".tmp-eth-usd").rename(model_dir / "eth-usd")
        record(model_dir, None, afresh=True)
        deadline = time.monotonic() + 60  # the server looks every second; a loaded machine lags
        while answered(f"{server.url}/forecast/eth-usd?date=2026-06-01")[0] != 200:
            assert time.monotonic() < deadline, server.log.read_text()
            time.sleep(0.2)
        assets = json.loads(answered(f"{server.url}/assets")[1])
        assert [asset["asset"] for asset in assets["assets"]] == ["btc-usd", "eth-usd"]
        assert "the artifacts changed: serving them now" in server.log.read_text()
