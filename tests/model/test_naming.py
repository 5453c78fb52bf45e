"""The manifest's `served`: the point forecast and the band named for what they are, and how
each was settled, never naming a comparison that was not made."""

from __future__ import annotations

from cryptopredict.artifact.schema import BandSearch, ModelConfig
from cryptopredict.model.band_spec import DEFAULT_BAND
from cryptopredict.model.build import served_parts


def test_the_panels_damping_is_fixed_beforehand_and_the_last_close_is_named():
    config = ModelConfig().with_changes(damping_hours=0.0)
    parts = served_parts(
        config, DEFAULT_BAND, band_choice=None, panel_damping=True, panel_band=False
    )
    assert parts.point_forecast.startswith("the last close")
    assert parts.damping.how == "fixed"
    assert "the panel's damping" in parts.damping.why
    assert "beyond two standard errors" in parts.damping.why
    assert parts.band_method == DEFAULT_BAND.name


def test_a_damping_not_the_panels_is_named_as_the_configurations():
    config = ModelConfig().with_changes(damping_hours=6.0)
    band = BandSearch(chosen=DEFAULT_BAND, validation_origins=548, candidates=())
    parts = served_parts(config, DEFAULT_BAND, band_choice=band, panel_damping=False,
                         panel_band=False)  # fmt: skip
    assert parts.point_forecast.startswith("Prophet damped by tau")
    assert "tau 6 h" in parts.point_forecast
    assert parts.damping.how == "fixed"
    assert "not the panel's" in parts.damping.why
    assert parts.band.how == "chosen"
    assert "on 548 validation origins" in parts.band.why


def test_without_a_backtest_the_band_is_fixed():
    config = ModelConfig().with_changes(damping_hours=0.0)
    parts = served_parts(
        config, DEFAULT_BAND, band_choice=None, panel_damping=True, panel_band=False
    )
    assert (parts.damping.how, parts.band.how) == ("fixed", "fixed")
    assert "without a backtest" in parts.band.why
