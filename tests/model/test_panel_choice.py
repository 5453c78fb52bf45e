"""The panel's choices: the band's settings chosen per horizon on scores pooled over the pairs,
only where a horizon's validation holds enough independent windows, and the damping, read back
as training reads them."""

from __future__ import annotations

import json

import msgspec
import numpy as np
import pandas as pd
import pytest

from cryptopredict.artifact.schema import ModelConfig
from cryptopredict.model.band_spec import scaled, weight_at
from cryptopredict.model.bands import BAND_HOURS, Band
from cryptopredict.model.choices import fixed_band
from cryptopredict.model.market import Market
from cryptopredict.model.panel_choice import PANEL_CHOICE, panel_band, panel_damping, served_config
from cryptopredict.model.plan import Plan
from cryptopredict.model.refits import Refits
from cryptopredict.model.scoring import DenseOrigins
from tools.panel_steps import (
    best,
    deciding,
    per_horizon,
    uniform_mix,
    uniform_pool,
    with_mix,
    with_pools,
)

SPEC = scaled(1, 24, True, width_bins=5, floor=0.1)


def test_only_horizons_with_twenty_independent_windows_decide():
    assert deciding(160) == ["1h", "1d", "7d"]  # 160 days: about 23 weeks, 5 months
    assert deciding(365) == ["1h", "1d", "7d"]
    assert deciding(600) == ["1h", "1d", "7d", "30d"]
    assert deciding(100) == ["1h", "1d"]


def test_the_best_is_chosen_on_the_deciding_horizons():
    calm, busy = SPEC, scaled(7, None, False)
    scores = {calm: {"1h": 0.95, "30d": 2.0}, busy: {"1h": 0.97, "30d": 0.5}}
    assert best(scores, ["1h"]) == calm  # 30d's noise does not decide


def test_a_horizon_that_cannot_decide_takes_the_last_deciding_ones_setting():
    scores = {
        90.0: {"1h": 0.90, "1d": 0.99, "7d": 1.02, "30d": 0.1},
        180.0: {"1h": 0.91, "1d": 0.97, "7d": 1.01, "30d": 0.9},
    }
    chosen = per_horizon(scores, ["1h", "1d", "7d"])
    assert chosen == ((1, 90.0), (24, 180.0), (168, 180.0), (720, 180.0))


def test_the_chosen_settings_read_back_as_the_band_training_serves(tmp_path):
    pools = ((1, (90, False)), (24, (180, False)), (168, (365, True)), (720, (365, True)))
    spec = with_mix(with_pools(SPEC, pools), ((1, 0.0), (24, 0.0), (168, 0.5), (720, 0.5)))
    path = tmp_path / "panel_choice.json"
    path.write_text(json.dumps({"band": msgspec.structs.asdict(spec), "damping": {"chosen": 0.0}}))
    assert panel_band(path=path) == spec
    assert panel_band(pd.Timedelta(days=1), path) is None  # a daily pair chooses its own
    assert "180-day errors at 1d" in spec.name
    assert "365-day errors of the panel at 7d" in spec.name
    assert "50% at 7d" in spec.name
    assert not spec.shared_for(24)
    assert spec.shared_for(168)
    assert spec.shared_for(720)
    assert panel_band(path=tmp_path / "none.json") is None


def test_the_panels_band_is_written_back_as_make_panel_wrote_it():
    """Read as training reads it and written as `tools/panel.py` writes it: the same bytes
    (its numbers as written, 1 day no 1.0, which manifests repeat)."""
    text = PANEL_CHOICE.read_text()
    choice = json.loads(text)
    choice["band"] = msgspec.structs.asdict(panel_band())
    assert json.dumps(choice, indent=1) + "\n" == text


def test_the_panels_damping_is_the_served_configurations(tmp_path):
    for chosen in (0.0, 24.0, None):
        path = tmp_path / f"choice-{chosen}.json"
        path.write_text(
            json.dumps({"band": msgspec.structs.asdict(SPEC), "damping": {"chosen": chosen}})
        )
        assert panel_damping(path) == chosen
        assert served_config(path).damping_hours == chosen
        assert served_config(path).window_days == 365  # the rest is the default's
    older = tmp_path / "band-only.json"
    older.write_text(json.dumps({"band": msgspec.structs.asdict(SPEC)}))
    with pytest.raises(ValueError, match="holds no damping: run `make panel`"):
        panel_damping(older)


def test_uniform_variants_set_one_pool_and_one_weight_at_every_horizon():
    assert uniform_pool(SPEC, 90).pool_for(720) == 90
    assert uniform_pool(SPEC, 90, shared=True).shared_for(1)
    assert not uniform_pool(SPEC, 90).shared_for(1)
    assert set(weight_at(uniform_mix(SPEC, 0.5).horizon_mix, np.array([1.0, 24.0, 720.0]))) == {0.5}


def test_a_fixed_band_is_served_as_given_and_scored_on_the_validation_origins_only():
    hours = 24 * 600
    seconds = 1_600_000_000 // 3600 * 3600 + 3600 * np.arange(hours, dtype=np.int64)
    log_price = np.cumsum(np.random.default_rng(3).normal(0.0, 0.01, hours))
    market = Market(seconds, log_price, 3600)
    config = ModelConfig(name="naive", damping_hours=0.0)
    dense = DenseOrigins(market, np.exp(log_price), Refits.none(3600), config, Plan())
    plan = Plan()
    start, end = plan.validation_start(seconds), plan.validation_end(seconds)
    choice = fixed_band(dense, Band(SPEC, market, dense.pos, dense.errors(BAND_HOURS)), start, end)
    assert choice.chosen == SPEC
    assert len(choice.candidates) == 1
    inside = dense.scored() & (dense.times >= start) & (dense.times <= end)
    assert choice.validation_origins == int(inside.sum()) > 100
    assert 0.5 < choice.candidates[0].score < 1.5
