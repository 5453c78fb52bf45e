"""The manifest's `served`: the point forecast and the band named for what they are, and how
each was settled, never naming a comparison that was not made."""

from __future__ import annotations

from cryptopredict.artifact.schema import BandChoice, DampingCandidate, DampingChoice
from cryptopredict.model.band_spec import DEFAULT_BAND
from cryptopredict.model.config import DEFAULT
from cryptopredict.model.naming import served_parts


def test_a_damping_no_refit_could_choose_is_forced_and_the_last_close_is_named():
    config = DEFAULT.with_changes(damping_hours=0.0)
    parts = served_parts(config, DEFAULT_BAND, damping=None, band_choice=None, backtested=True)
    assert parts.point_forecast.startswith("the last close")
    assert parts.damping.how == "forced"
    assert "no damping could be compared" in parts.damping.why
    assert parts.band_method == DEFAULT_BAND.name


def test_a_chosen_damping_names_what_it_was_chosen_among_and_on_how_many_refits():
    config = DEFAULT.with_changes(damping_hours=6.0)
    candidates = tuple(DampingCandidate(tau=tau, ratio=1.0) for tau in DEFAULT.damping_grid)
    choice = DampingChoice(chosen=6.0, validation_origins=52, candidates=candidates)
    band = BandChoice(chosen=DEFAULT_BAND.setting(), validation_origins=548, candidates=())
    parts = served_parts(config, DEFAULT_BAND, damping=choice, band_choice=band, backtested=True)
    assert parts.point_forecast.startswith("Prophet damped by tau")
    assert "tau 6 h" in parts.point_forecast
    assert parts.damping.how == "chosen"
    assert "on 52 validation refits, among tau none, 720 h, 240 h" in parts.damping.why
    assert parts.band.how == "chosen"
    assert "on 548 validation origins" in parts.band.why


def test_without_a_backtest_both_are_fixed():
    config = DEFAULT.with_changes(damping_hours=0.0)
    parts = served_parts(config, DEFAULT_BAND, damping=None, band_choice=None, backtested=False)
    assert (parts.damping.how, parts.band.how) == ("fixed", "fixed")
    assert "without a backtest" in parts.damping.why
