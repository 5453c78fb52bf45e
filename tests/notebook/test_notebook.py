"""train.ipynb: committed clean, runs headless end to end, and exports to a report that works
offline."""

from __future__ import annotations

import ast
import re
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from cryptopredict.artifact.schema import ModelConfig
from cryptopredict.model.plan import Plan
from tests.browser import watched_page
from tests.model.quick import QUICK_CONFIG, QUICK_PLAN
from tests.notebook.harness import NOTEBOOK, execute, external_fetches, to_html

# The short run: the slice and backtest size the training tests use (about half a minute of
# fitting). The kernel is a subprocess, out of pytest-socket's reach, so the source is the
# embedded snapshot: no live source is even tried.
QUICK = {
    "SOURCE": "snapshot",
    "SINCE": "2026-01-01",
    "WINDOW_DAYS": QUICK_CONFIG.window_days,
    "MIN_TRAINING_DAYS": QUICK_PLAN.min_training.days,
    "STEP_HOURS": QUICK_PLAN.step // pd.Timedelta(hours=1),
    "EVALUATION_DAYS": QUICK_PLAN.evaluation_span.days,
    "BAND_STEP_HOURS": QUICK_PLAN.band_step // pd.Timedelta(hours=1),
}
CELL_TIMEOUT = 150  # seconds; the whole short run takes well under that


def committed() -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOK, as_version=nbformat.NO_CONVERT)


def parameters() -> dict:
    cells = [cell for cell in committed().cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(cells) == 1, "exactly one cell is tagged `parameters`"
    values = {}
    for statement in ast.parse(cells[0].source).body:
        assert isinstance(statement, ast.Assign), ast.unparse(statement)
        (target,) = statement.targets
        values[target.id] = ast.literal_eval(statement.value)
    return values


def test_the_committed_notebook_has_no_outputs_and_no_execution_counts():
    notebook = committed()
    nbformat.validate(notebook)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {index} has outputs"
            assert cell.execution_count is None, f"cell {index} has an execution count"
        assert set(cell.metadata) <= {"tags"}, f"cell {index} has metadata {set(cell.metadata)}"
    assert set(notebook.metadata) == {"kernelspec", "language_info"}


def test_the_parameters_default_to_the_product_and_cover_the_short_run():
    values = parameters()
    assert set(QUICK) <= set(values)
    assert values["SOURCE"] == "auto"
    assert values["SINCE"] == "2021-01-01"
    plan = Plan()
    assert values["WINDOW_DAYS"] == ModelConfig().window_days
    assert pd.Timedelta(days=values["MIN_TRAINING_DAYS"]) == plan.min_training
    assert pd.Timedelta(hours=values["STEP_HOURS"]) == plan.step
    assert pd.Timedelta(days=values["EVALUATION_DAYS"]) == plan.evaluation_span
    assert pd.Timedelta(hours=values["BAND_STEP_HOURS"]) == plan.band_step
    assert values["MAX_ORIGINS"] == plan.max_origins


def test_the_offline_check_finds_every_kind_of_fetch():
    page = """<html><head>
    <script src="https://cdn.plot.ly/plotly-3.0.0.min.js"></script>
    <script src="data:text/javascript,1"></script>
    <link rel="stylesheet" href="//fonts.example.org/a.css">
    <style>@import url("https://fonts.example.org/b.css"); .a {color: red}</style>
    <script type="module">const m = await import("https://esm.example.org/m.js");</script>
    <script>var url = "https://example.org/not-fetched"; Plotly.newPlot("x", []);</script>
    <img src="https://example.org/i.png"><a href="https://example.org/page">a link</a>
    </head></html>"""
    assert external_fetches(page) == [
        "https://cdn.plot.ly/plotly-3.0.0.min.js",
        "//fonts.example.org/a.css",
        "https://fonts.example.org/b.css",
        "https://esm.example.org/m.js",
        "https://example.org/i.png",
    ]


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> tuple[nbformat.NotebookNode, float]:
    out = tmp_path_factory.mktemp("notebook")
    started = time.monotonic()
    notebook = execute(
        out / "train.ipynb",
        {**QUICK, "ARTIFACT_DIR": str(out / "artifacts")},
        timeout=CELL_TIMEOUT,
    )
    return notebook, time.monotonic() - started


@pytest.fixture(scope="module")
def report(executed, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("report") / "train.html"
    path.write_text(to_html(executed[0]), encoding="utf-8")
    return path


def markdown_outputs(notebook: nbformat.NotebookNode) -> list[str]:
    return [
        output["data"]["text/markdown"]
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if "text/markdown" in output.get("data", {})
    ]


@pytest.mark.slow
@pytest.mark.e2e
def test_the_notebook_runs_end_to_end_on_the_embedded_data(executed):
    notebook, seconds = executed
    print(f"the short run took {seconds:.0f} s")
    errors = [
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output["output_type"] == "error"
    ]
    assert errors == []
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code), "every code cell ran"
    texts = markdown_outputs(notebook)
    assert any("from `snapshot`" in text for text in texts)
    conclusions = texts[-1]
    assert conclusions.startswith("*A shortened run")
    for heading in ("Data", "Structure", "Where Prophet loses", "Served model", "Band"):
        assert f"**{heading}.**" in conclusions
    assert not [text for text in texts if re.search(r"\b(nan|None|inf)\b", text)]


@pytest.mark.slow
@pytest.mark.e2e
def test_the_report_embeds_plotly_once_and_fetches_nothing(report):
    html = report.read_text(encoding="utf-8")
    assert external_fetches(html) == []
    assert len(re.findall(r"\* plotly\.js v\d", html)) == 1, "plotly.js is embedded once"
    assert html.count("Plotly.newPlot(") >= 10


@pytest.mark.slow
@pytest.mark.e2e
def test_the_report_draws_every_chart_in_a_browser_without_a_network(report, chromium):
    with watched_page(chromium) as browser:  # a file may load files, nothing beyond loopback
        browser.page.goto(report.as_uri(), wait_until="load")
        assert browser.page.locator("div.plotly-graph-div").count() >= 10
        # plotly.js marks each chart it has drawn and gives it its SVG layers.
        browser.page.wait_for_function(
            """() => [...document.querySelectorAll('div.plotly-graph-div')].every(
                chart => chart.classList.contains('js-plotly-plot')
                    && chart.querySelector('.main-svg .draglayer'))""",
            timeout=30_000,
        )
    assert browser.blocked == []
    assert browser.problems == []
