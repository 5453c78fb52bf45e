"""The committed model report is what this code trains: training is deterministic, so the report
written from the model `make e2e` trained matches `docs/model-report/` in every field but the
commit it was written at, each figure within a fifth of its own sampling error (another CPU's
floating point moves them far less; `model_report`). The quality bars themselves run on the
trained model too (`tests/model/test_model_report.py`, with `--e2e`)."""

from __future__ import annotations

import json

import pytest

from tests.e2e.model_report import COMMITTED, REGENERATE, differences, trained_reports
from tools.report import REPORTED, report_file


@pytest.fixture(scope="module")
def trained(model_dir):
    return trained_reports(model_dir)


@pytest.mark.parametrize("asset", REPORTED)
def test_the_committed_report_is_what_this_code_trains(trained, asset):
    name = report_file(asset)
    committed = json.loads((COMMITTED / name).read_text())
    found = list(differences(committed, trained[name]))
    shown = "\n".join(found[:20]) + (f"\n... and {len(found) - 20} more" if len(found) > 20 else "")
    assert not found, (
        f"docs/model-report/{name} is not what this code trains "
        f"({len(found)} difference{'s' if len(found) > 1 else ''}):\n"
        f"{shown}\n{REGENERATE}"
    )
