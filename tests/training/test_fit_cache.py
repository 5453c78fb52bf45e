"""The fit cache, as a pair's graph reads and writes it: a second run refits nothing, new bars
refit only the origins they add, and another configuration is another fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cryptopredict.model import refits as refitting
from cryptopredict.model.config import DEFAULT, ModelConfig
from cryptopredict.model.plan import Plan
from cryptopredict.training import steps
from cryptopredict.training.fitcache import FitCache
from cryptopredict.training.graph import backtest_pair
from tests.model.quick import history_from_prices, quick_job

GROWTH = 1e-4  # the prices' log growth per hour, which the stand-in for Prophet follows
PLAN = Plan(min_training=pd.Timedelta(days=30), step=pd.Timedelta(days=3))
CONFIG = DEFAULT.with_changes(window_days=30, damping_grid=())  # undamped: every origin


@pytest.fixture
def client(dask_client):
    return dask_client


def test_a_second_run_refits_nothing_and_new_bars_refit_only_new_origins(
    client, tmp_path, monkeypatch, caplog
):
    calls = []

    def fake_path(config, train, times):
        calls.append(train["ds"].iloc[-1])
        return np.log(train["y"].iloc[-1]) + GROWTH * np.arange(len(times))

    monkeypatch.setattr(refitting, "prophet_path", fake_path)
    # The scores are not this test's: the graph's last step only says it ran.
    monkeypatch.setattr(steps, "backtest", lambda *inputs: "scored")
    cache = FitCache(tmp_path)

    def run(days: int, config: ModelConfig = CONFIG) -> tuple[int, str]:
        """The pair's backtest: how many refit origins it has, and what the log says of them."""
        prices = pd.Series(100 * np.exp(GROWTH * np.arange(days * 24)))
        job = quick_job(history_from_prices(prices), config=config, plan=PLAN)
        caplog.clear()
        assert backtest_pair(client, job, cache=cache) == "scored"
        (said,) = [line for line in caplog.messages if "Prophet refitted at" in line]
        return int(said.split("Prophet refitted at ")[1].split()[0]), said

    caplog.set_level("INFO", logger="cryptopredict.training.graph")
    origins, said = run(90)
    assert len(calls) == origins > 10
    assert said.endswith(f": 0 from the cache, {origins} to fit")
    assert len(list(cache.directory.iterdir())) == origins, "every fit is cached"
    again, said = run(90)
    assert again == origins
    assert len(calls) == origins, "every fit came from the cache"
    assert said.endswith(f": {origins} from the cache, 0 to fit")
    more, _ = run(100)
    assert len(calls) - origins == more - origins > 0
    # A changed configuration is a different fit.
    run(90, CONFIG.with_changes(changepoint_prior_scale=0.5))
    assert len(calls) == more + origins


def test_the_fits_of_other_library_versions_are_dropped(tmp_path, caplog):
    """Issue 50: a Prophet, cmdstanpy or numpy bump changes every key; the old fits, which no
    key can name again, are deleted, so the cache the release carries holds one set."""
    cache = FitCache(tmp_path)
    cache.put("a" * 64, np.arange(3.0))
    older = tmp_path / "prophet-1.1.5_cmdstanpy-1.2.4_numpy-2.1.0"
    older.mkdir()
    for key in ("b", "c"):
        np.save(older / f"{key * 64}.npy", np.arange(3.0))
    np.save(tmp_path / f"{'d' * 64}.npy", np.arange(3.0))  # the layout before folders
    (tmp_path / "tmp3kq_x9.tmp").write_bytes(b"a write cut short")
    # FIT_CACHE may name a folder that holds more: what the cache did not write stays.
    (tmp_path / "history").mkdir()
    (tmp_path / "history" / "btc-usd.parquet").write_bytes(b"bars")
    np.save(tmp_path / "notes.npy", np.arange(3.0))
    caplog.set_level("INFO", logger="cryptopredict.training.fitcache")
    assert cache.drop_other_versions() == 3
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [cache.directory.name, "history", "notes.npy"]
    )
    assert (tmp_path / "history" / "btc-usd.parquet").read_bytes() == b"bars"
    assert cache.get("a" * 64) is not None, "this environment's fits stay"
    assert "deleted 3 fits of other library versions" in caplog.text
    assert cache.drop_other_versions() == 0
    assert FitCache(None).drop_other_versions() == 0
