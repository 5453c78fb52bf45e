"""Training with a budget (issue 50): every pair served its quick model first, then the
backtests in order (`--must-train` first, then the pairs whose refits are cached, the fewest
left first, then the cold ones by rank), none started or going on once the budget ends but the
must-train pairs'; a pair left on its quick model is said so with why in `run.json`, and the
refits it fitted stay in the fit cache for the next run.

Real Prophet fits on a real local Dask cluster, on the embedded hourly spot pairs: the run's
last 120 days with the quick tests' plan (a dozen validation refits a pair, a third of a second
each), so a run takes seconds; the budget is ended by the test at a known step (`Budget.end`),
or is one second, over before any pair is read.
"""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path

import pandas as pd
import pytest
from distributed import Event, as_completed

from cryptopredict.artifact.read import load_artifact
from cryptopredict.artifact.run import DEFERRED, read_run
from cryptopredict.assets import configured_assets
from cryptopredict.config import HistorySettings
from cryptopredict.data import History, load_history
from cryptopredict.data.snapshot import SnapshotSource
from cryptopredict.duration import Duration
from cryptopredict.model.gate import GateRules
from cryptopredict.training.budget import Budget, backtest_order
from cryptopredict.training.cli import main
from cryptopredict.training.driver import train_pairs
from cryptopredict.training.fitcache import FitCache
from cryptopredict.training.graph import Kept
from cryptopredict.training.tasks import Needs
from tests.model.quick import quick_job

pytestmark = pytest.mark.slow

SPOT = SnapshotSource().data_dir / "binance-spot-16pairs-1h.csv.gz"
LAST = pd.Timestamp("2026-05-16T18:00:00Z")  # the file's last bar
PAIRS = ("sol-usdt", "ada-usdt", "link-usdt", "xrp-usdt")  # their rank: this order
ANY_SCORE = GateRules(0.0, 1.0, 1e9)  # the gate is not these tests' subject
CLEARED = ("DASK_SCHEDULER_ADDRESS", "TRAIN_WORKERS", "FIT_CACHE", "ASSETS", "TRAIN_BUDGET")


@pytest.fixture(scope="module")
def histories(tmp_path_factory) -> dict[str, History]:
    """Each pair's last 120 days of hours, read and validated as training reads them."""
    settings = HistorySettings(cache_dir=tmp_path_factory.mktemp("history"))
    since = LAST - pd.Timedelta(days=120)
    return {
        asset.slug: load_history(asset, "1h", since, settings, source="csv", csv=SPOT)
        for asset in configured_assets(",".join(PAIRS))
    }


@pytest.fixture
def client(dask_client):
    return dask_client  # the session's cluster, in this process (tests/conftest.py)


class Recorded(Kept):
    """What the driver said of each pair; the budget ended at the `at`-th refit of `pair`."""

    def __init__(self, budget: Budget | None = None, pair: str = "", at: int = 0) -> None:
        self.budget, self.pair, self.at = budget, pair, at
        self.fits: dict[str, int] = {}
        self.served_as: dict[str, list[str]] = {}
        self.deferred_why: dict[str, str] = {}
        self.backtested: list[str] = []

    def fitted(self, slug: str) -> None:
        self.fits[slug] = self.fits.get(slug, 0) + 1
        if self.budget is not None and slug == self.pair and self.fits[slug] == self.at:
            self.budget.end()

    def served(self, slug, kind, path, finished) -> None:
        self.served_as.setdefault(slug, []).append(kind)
        if kind == "backtested":
            self.backtested.append(slug)

    def quick(self, slug: str, why: str) -> None:
        self.deferred_why[slug] = why


def _jobs(histories: dict[str, History], slugs=PAIRS):
    assets = {asset.slug: asset for asset in configured_assets(",".join(slugs))}
    return [quick_job(histories[slug], asset=assets[slug], gate=ANY_SCORE) for slug in slugs]


def _refits_logged(caplog, slug: str) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if "Prophet refitted at" in record.getMessage() and getattr(record, "pair", "") == slug
    ]


def test_the_budget_goes_to_the_must_pairs_then_the_cached_then_the_cold_by_rank(
    client, histories, tmp_path, caplog
):
    caplog.set_level(logging.INFO, logger="cryptopredict")
    cache = FitCache(tmp_path / "fits")
    # A run before backtested the last-ranked pair: its refits are cached.
    (xrp,) = _jobs(histories, ["xrp-usdt"])
    before = train_pairs(client, [xrp], cache=cache, out=tmp_path / "before", progress=Kept())
    assert before.failed == {}
    assert before.deferred == {}
    cached = set(cache.directory.iterdir())
    assert cached, "the pair has refits"

    budget = Budget(3600)
    said = Recorded(budget, "ada-usdt", 3)  # the budget ends at ADA's third refit
    out = tmp_path / "models"
    outcome = train_pairs(
        client, _jobs(histories), cache=cache, out=out, progress=said, budget=budget,
        must=frozenset({"sol-usdt"}),
    )  # fmt: skip

    (order,) = [m for m in caplog.messages if m.startswith("every pair is served")]
    assert order.endswith("in this order: xrp-usdt, ada-usdt, link-usdt"), order
    assert outcome.failed == {}
    assert outcome.deferred["ada-usdt"] == DEFERRED == said.deferred_why["ada-usdt"]
    assert "sol-usdt" not in outcome.deferred, "a must-train pair is backtested, budget or not"
    assert said.served_as["sol-usdt"][-1] == "backtested"
    for slug in PAIRS:  # every pair served: its quick model first, whatever came after
        assert said.served_as[slug][0] == "quick", slug
        manifest = load_artifact(out / slug).manifest
        assert (manifest.metrics is None) == (slug in outcome.deferred), slug
    # ADA's three refits, fitted before the end, are in the cache; nothing after them is.
    new = set(cache.directory.iterdir()) - cached
    fitted = sum(said.fits.get(slug, 0) for slug in PAIRS if slug != "xrp-usdt")
    assert said.fits["ada-usdt"] == 3
    assert len(new) == fitted

    # The next run goes on from there: ADA's three refits come from the cache.
    caplog.clear()
    (ada,) = _jobs(histories, ["ada-usdt"])
    after = train_pairs(client, [ada], cache=cache, out=out, progress=Kept())
    assert after.failed == {}
    assert after.deferred == {}
    (validation, *_) = _refits_logged(caplog, "ada-usdt")
    assert ": 3 from the cache, " in validation, validation
    assert load_artifact(out / "ada-usdt").manifest.metrics is not None


def test_the_backtests_end_in_the_order_they_started(client, histories, tmp_path):
    """A pair's last tasks (the damping, the final fit) go before the next pairs' refits, so
    each pair is done before the next is: a budget that ends leaves one pair half-done, not
    every pair in flight."""
    said = Recorded()
    outcome = train_pairs(
        client, _jobs(histories), cache=FitCache(tmp_path / "fits"), out=tmp_path / "models",
        progress=said, budget=Budget(3600), must=frozenset({"sol-usdt"}),
    )  # fmt: skip
    assert outcome.failed == {}
    assert outcome.deferred == {}
    assert said.backtested == ["sol-usdt", "ada-usdt", "link-usdt", "xrp-usdt"]


def test_the_alarm_wakes_the_driver_while_every_task_still_runs(client):
    """The end comes on time even when no task ends meanwhile (a long refit)."""
    gate = Event("test-budget-gate", client=client)
    held = client.submit(gate.wait, key="test-budget-held", pure=False)
    followed = as_completed([held], loop=client.loop)
    budget = Budget(0.5)
    with budget.alarm(client, followed) as rung:
        first = next(iter(followed))
        assert rung(first), "the alarm's future came first"
        assert budget.over
        assert not held.done()
    gate.set()
    assert held.result() is True


def test_the_order_puts_cached_pairs_first_the_fewest_refits_left_first():
    def needs(*keys: str) -> Needs:
        return Needs(damping=tuple(enumerate(keys[:2])), every=tuple(enumerate(keys)), steps=1,
                     backtest=True)  # fmt: skip

    class Held(FitCache):
        def __init__(self, keys: set[str]) -> None:
            super().__init__(None)
            self.keys = keys

        def has(self, key: str) -> bool:
            return key in self.keys

    cache = Held({"a1", "a2", "b1", "c1", "c2", "c3"})
    pairs = {
        "cold, ranked 1": (needs("x1", "x2", "x3"), 1),
        "cold, ranked 0": (needs("y1", "y2", "y3"), 0),
        "all cached": (needs("c1", "c2", "c3"), 5),
        "validation cached": (needs("a1", "a2", "a3"), 4),
        "half a validation": (needs("b1", "b2", "b3"), 3),
        "no backtest": (Needs((), (), 0, backtest=False), 6),
    }
    ordered = sorted(
        pairs, key=lambda name: backtest_order(*pairs[name][:1], cache, pairs[name][1])
    )
    assert ordered == [
        "all cached", "no backtest", "validation cached", "half a validation", "cold, ranked 0",
        "cold, ranked 1",
    ]  # fmt: skip


@pytest.fixture
def spot_csv(tmp_path) -> Path:
    """Three pairs of the embedded hourly file (two years: the product's plan backtests them
    without a Prophet refit, the damping forced to tau 0), as `train.py --csv` reads them."""
    header, *lines = gzip.decompress(SPOT.read_bytes()).decode().splitlines()
    kept = [line for line in lines if line.startswith(("SOLUSDT,", "ADAUSDT,", "LINKUSDT,"))]
    path = tmp_path / "spot.csv"
    path.write_text("\n".join([header, *kept]) + "\n")
    return path


def test_a_run_whose_budget_ends_serves_every_pair_and_says_which_are_quick(
    spot_csv, tmp_path, monkeypatch
):
    """`--budget 1s` is over before any history is read (the cluster alone takes longer to
    start): the must-train pair is backtested all the same, the others are served their quick
    model, `run.json` says so with why, and the run exits 0: `--tolerate` counts failures only."""
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ASSETS", "sol-usdt,ada-usdt,link-usdt")
    monkeypatch.setenv("TRAIN_WORKERS", "1")
    for name, value in (("MIN_COVERAGE", "0"), ("MAX_COVERAGE", "1"), ("MAX_MAPE_RATIO", "1e9")):
        monkeypatch.setenv(f"GATE_{name}", value)  # the gate is not this test's subject
    monkeypatch.setenv("FIT_CACHE", str(tmp_path / "fits"))
    stale = tmp_path / "fits" / "prophet-0.9_cmdstanpy-0.9_numpy-1.0" / f"{'a' * 64}.npy"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"a fit of other library versions")
    out = tmp_path / "out"
    arguments = ["--all", "--csv", str(spot_csv), "--out", str(out), "--must-train", "sol-usdt"]
    assert main([*arguments, "--budget", "1s", "--tolerate", "0"]) == 0
    run = read_run(out)
    assert run is not None
    assert run.budget == 1.0
    assert set(run.trained) == {"sol-usdt", "ada-usdt", "link-usdt"}
    assert {(pair.asset, pair.why) for pair in run.quick} == {
        ("ada-usdt", DEFERRED),
        ("link-usdt", DEFERRED),
    }
    assert run.failed == ()
    assert not stale.parent.exists(), "a library bump's stale fits are dropped"
    assert load_artifact(out / "sol-usdt").manifest.metrics is not None
    for slug in ("ada-usdt", "link-usdt"):
        manifest = load_artifact(out / slug).manifest
        assert manifest.metrics is None
        assert manifest.data.last == LAST, "the quick model is on this run's bars"
    written = json.loads((out / "run.json").read_text())
    assert written["quick"] == [
        {"asset": "ada-usdt", "why": DEFERRED},
        {"asset": "link-usdt", "why": DEFERRED},
    ]


@pytest.mark.parametrize(("budget", "said"), [("soon", "not a duration"), ("0", "more than 0")])
def test_a_budget_that_is_not_a_duration_is_a_usage_error(
    budget, said, tmp_path, monkeypatch, capsys
):
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SystemExit) as ended:
        main(["--all", "--out", str(tmp_path / "out"), "--budget", budget])
    assert ended.value.code == 2
    assert said in capsys.readouterr().err
    assert not (tmp_path / "out").exists(), "nothing is trained"


def test_a_budget_setting_that_is_not_a_duration_is_named(tmp_path, monkeypatch, capsys):
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TRAIN_BUDGET", "an hour")
    assert main(["--all", "--out", str(tmp_path / "out")]) == 2
    assert "TRAIN_BUDGET must be a duration such as 4h30m, 90m or 600s, got 'an hour'" in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "out").exists(), "nothing is trained"


def test_a_duration_reads_hours_minutes_and_seconds():
    assert [float(Duration(text)) for text in ("4h30m", "90m", "600s", "600", "1.5h")] == [
        16200.0, 5400.0, 600.0, 600.0, 5400.0,
    ]  # fmt: skip
    assert str(Duration("5400")) == "1h30m"
    assert float(Duration("0.5s")) == 0.5
