"""Issue 117: the API's backtest route pages through every origin the release's backtest scored,
with every level, on the real model (BTC/USD's, trained by `training.py`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cryptopredict.artifact.read import load_artifact
from cryptopredict.artifact.schema import LEVELS
from cryptopredict.standard_error import inside

ROUTE = "/model/btc-usd/backtest/origins"


@pytest.fixture(scope="module")
def pages(served) -> list[dict]:
    """Every page of the route, following `next` from the first."""
    found, url = [], f"{ROUTE}?limit=4000"
    while url is not None:
        answer = served.get(url)
        assert answer.status_code == 200, answer.text
        found.append(answer.json())
        url = found[-1]["next"]
    return found


def test_every_row_the_backtest_scored_comes_once_with_every_level(pages, model_dir):
    artifact = load_artifact(model_dir / "btc-usd")
    summary, boundary = artifact.manifest.metrics, artifact.manifest.backtest_boundary
    assert summary is not None
    assert boundary is not None
    rows = pd.DataFrame([row for p in pages for row in p["rows"]], columns=pages[0]["columns"])
    assert len(pages) > 1
    assert {page["total"] for page in pages} == {len(rows)}
    assert not rows.duplicated(["cutoff", "horizon"]).any()
    cutoff, ds = pd.to_datetime(rows["cutoff"]), pd.to_datetime(rows["ds"])
    assert cutoff.is_monotonic_increasing
    assert ((ds - cutoff) == rows["horizon"].str.replace("d", "D").map(pd.Timedelta)).all()
    # The evaluation origins are the summary's: each at every horizon it scored, as many rows.
    evaluated = rows[cutoff > pd.Timestamp(boundary.first_evaluation_origin)]
    assert evaluated["cutoff"].nunique() == summary.origins
    horizons = summary.horizons()
    assert set(rows["horizon"]) == set(horizons)
    for label, scores in horizons.items():
        at = evaluated[evaluated["horizon"] == label]
        assert len(at) == scores.prophet.n, label
        # Their numbers are those the backtest scored: its coverage and error, from the rows.
        for level in LEVELS:
            held = inside(at["y"].to_numpy(), at[f"lo-{level}"].to_numpy(), at[f"hi-{level}"])
            assert held.mean() == scores.prophet.coverage_by_level[str(level)], (label, level)
        mape = np.mean(np.abs(at["yhat"] / at["y"] - 1))
        assert mape == pytest.approx(scores.prophet.mape, rel=1e-5), label
    assert (cutoff > pd.Timestamp(boundary.first_validation_origin)).all()  # and validation


def test_bad_paging_is_refused_saying_why_and_the_pages_stay_whole(served, pages):
    for query, said in [
        ("limit=0", "limit='0': give a whole number from 1 to 10000"),
        ("limit=10001", "limit='10001': give a whole number from 1 to 10000"),
        ("offset=x", "offset='x': give a whole number from 0 to 1000000"),
        ("offset=1&offset=2", "offset is given 2 times; give it once"),
    ]:
        answer = served.get(f"{ROUTE}?{query}")
        assert answer.status_code == 400, query
        assert answer.json() == {"error": "bad_request", "detail": said}
    first = served.get(f"{ROUTE}?limit=4000").json()
    assert first == pages[0]
    past = served.get(f"{ROUTE}?offset={first['total']}").json()
    assert past == {"total": first["total"], "next": None, "columns": first["columns"], "rows": []}
