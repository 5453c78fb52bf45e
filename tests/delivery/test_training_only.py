"""Training-only packages come from the lock files; the serving image must hold none."""

from __future__ import annotations

from pathlib import Path

import pytest

from ci.training_only import ISSUE_NAMED, main, normalize, training_only

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["Alpaca_Py", "alpaca.py", "ALPACA-py", " alpaca-py "])
def test_names_are_normalized(name):
    assert normalize(name) == "alpaca-py"


def test_the_real_lock_files_forbid_what_the_issue_names_and_allow_what_serving_needs():
    forbidden = training_only(ROOT / "requirements-train.txt", ROOT / "requirements-api.txt")
    assert forbidden >= ISSUE_NAMED
    assert forbidden >= {"prophet", "pandas", "cmdstanpy", "matplotlib", "plotly"}
    assert not forbidden & {"numpy", "flask", "waitress", "msgspec", "prometheus-client"}


def test_the_market_feed_needs_no_websocket_client_in_the_image():
    """python-binance and alpaca-py pin websockets; the feed polls over REST (urllib)."""
    lock = [ROOT / f"requirements-{name}.txt" for name in ("train", "api")]
    assert "websockets" in training_only(*lock)


def test_a_package_serving_pins_is_never_called_training_only(tmp_path):
    (tmp_path / "train.txt").write_text("statsmodels==1.0\nalpaca-py==1\npython-binance==2\n")
    (tmp_path / "api.txt").write_text("statsmodels==1.0\n    # via -r requirements-api.in\n")
    with pytest.raises(ValueError, match="statsmodels would be allowed"):
        training_only(tmp_path / "train.txt", tmp_path / "api.txt")


def test_main_lists_the_offenders(tmp_path, capsys):
    installed = tmp_path / "installed"
    installed.write_text("prophet\nFlask\nstatsmodels\npython_binance\n")
    assert main([str(installed)]) == 1
    assert "prophet, python-binance, statsmodels" in capsys.readouterr().out


def test_main_passes_a_serving_only_list(tmp_path, capsys):
    installed = tmp_path / "installed"
    installed.write_text("Flask\nwaitress\nnumpy\nmsgspec\n")
    assert main([str(installed)]) == 0
    assert "none of the" in capsys.readouterr().out
