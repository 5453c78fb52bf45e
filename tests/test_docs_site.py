"""The documentation site's publication: `.github/workflows/docs.yml` builds the site the way
`make test` does (`make docs`) and publishes exactly the directory that build writes, from main
only."""

from __future__ import annotations

import csv
import gzip
import json
import os
import re
import stat
import subprocess
from pathlib import Path

import pytest
import yaml
from markdown_it import MarkdownIt

from cryptopredict.api.openapi import OPENAPI_VERSION
from cryptopredict.artifact.schema import DEFAULT_LEVEL, LEVELS
from cryptopredict.config import TrainingSettings
from cryptopredict.data.snapshot import SnapshotSource
from cryptopredict.training.progress import LINE_SECONDS
from tests.e2e.readme import mismatches, parse_shown

ROOT = Path(__file__).parents[1]


def test_the_workflow_publishes_what_make_docs_builds_from_main_only():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "docs.yml").read_text())
    site_dir = re.search(r"mkdocs build .*--site-dir (\S+)", (ROOT / "Makefile").read_text())
    assert site_dir is not None
    steps = workflow["jobs"]["build"]["steps"]
    assert "make docs" in [step.get("run") for step in steps]
    [upload] = [s for s in steps if s.get("uses", "").startswith("actions/upload-pages-artifact")]
    assert upload["with"]["path"] == site_dir.group(1)
    assert workflow[True]["push"] == {"branches": ["main"]}  # YAML 1.1 reads `on` as true
    assert workflow["jobs"]["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}


def test_a_docs_example_with_another_number_than_the_api_gives_is_a_mismatch():
    """Issue 35, bar 4: `make e2e` compares every number a docs example shows with the served
    answer (a stale band, 67,212.10 documented and 67,151.93 served, once went unseen)."""
    shown = parse_shown('{"prediction_low":67212.10,"level":50,"date":"...", ...}')
    served = {"prediction_low": 67151.93, "level": 50, "date": "2026-07-20T00:00:00Z", "x": 1}
    assert mismatches(shown, served) == [".prediction_low: 67212.1 in the document, 67151.93 here"]
    assert mismatches(shown, {**served, "prediction_low": 67212.1}) == []


# `gh api repos/<repo>/pages --jq .build_type` as GitHub answers it: Pages off (404), Pages
# publishing from a branch (`legacy`), or from a workflow (`workflow`).
FAKE_GH = """#!/usr/bin/env bash
case "$FAKE_PAGES" in
    off) echo "gh: Not Found (HTTP 404)" >&2; exit 1 ;;
    *) echo "$FAKE_PAGES" ;;
esac
"""


@pytest.mark.parametrize(
    ("pages", "said"),
    [
        ("off", "Pages is not enabled for octo/cryptopredict: in Settings -> Pages"),
        ("legacy", "Pages publishes from a branch (legacy), not from this workflow: in Settings"),
        ("workflow", None),
    ],
)
def test_a_fork_without_pages_set_up_learns_which_setting_first(tmp_path, pages, said):
    """Issue 51: GitHub Pages not enabled is named, with the setting, in the build's first step."""
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "docs.yml").read_text())
    build = workflow["jobs"]["build"]
    first = build["steps"][0]
    assert first["name"] == "Check that GitHub Pages publishes from this workflow"
    assert build["permissions"]["pages"] == "read"
    (tmp_path / "gh").write_text(FAKE_GH)
    (tmp_path / "gh").chmod(stat.S_IRWXU)
    environ = {
        "PATH": f"{tmp_path}:{os.environ['PATH']}",
        "GITHUB_REPOSITORY": "octo/cryptopredict",
        "GH_TOKEN": "t",
        "FAKE_PAGES": pages,
    }
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", first["run"]],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )
    if said is None:
        assert result.returncode == 0, result.stdout + result.stderr
    else:
        assert result.returncode == 1
        assert result.stdout.startswith("::error title=GitHub Pages::")
        assert said in result.stdout
        assert "set Source to 'GitHub Actions'" in result.stdout


# A machine's own words: its paths, its scheduling wrapper, the sessions sharing it, and a
# figure said as this machine's (issue 106: on GitHub it reads as a promise for the reader's).
MACHINE_WORDS = re.compile(
    r"/work/|/root/|/home/|\bheavy\b|sessions'? |this machine|shared development|reachable here",
    re.I,
)


def test_no_page_says_the_machine_it_was_measured_on_but_as_cores_load_and_commit():
    """Issue 96, item 5: docs/ carried a local path to a scheduling wrapper and "other
    sessions"."""
    pages = [ROOT / "README.md", ROOT / "docs" / "measured.json", *(ROOT / "docs").glob("*.md")]
    said = [
        f"{page.name}: {found.group(0)!r}"
        for page in pages
        for found in MACHINE_WORDS.finditer(page.read_text().replace("header-heavy", ""))
    ]
    assert said == []


README, INDEX = ROOT / "README.md", ROOT / "docs" / "index.md"
NUMBERS = {1: "one", 2: "two", 3: "three", 6: "six"}


def _rows(name: str) -> list[list[str]]:
    with gzip.open(ROOT / "data" / name, "rt") as file:
        return list(csv.reader(file))[1:]


def _truths() -> dict[str, tuple[str, ...]]:
    """Issue 96, item 5: each claim of README.md and docs/index.md no other test nor generated
    section holds: its words as a pattern, its groups as the code, data or settings have them."""
    usdt = {row[0]: row[1][:10] for row in _rows("binance-spot-16pairs-1h.csv.gz")}
    others = {symbol: end for symbol, end in usdt.items() if symbol not in {"BTCUSDT", "ETHUSDT"}}
    years = NUMBERS[len(_rows("binance-spot-16pairs-1h.csv.gz")) // len(usdt) // (365 * 24)]
    release = yaml.safe_load((ROOT / ".github/workflows/release.yml").read_text())
    every = int(release[True]["schedule"][0]["cron"].split()[1].removeprefix("*/"))
    damping = json.loads((ROOT / "cryptopredict/model/panel_choice.json").read_text())["damping"]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    ports = tuple(compose["cryptopredict"]["ports"][0].split(":")[::2])
    tools = [*re.findall(r"^TOOLS := (.*)$", (ROOT / "Makefile").read_text(), re.M)[0].split()]
    levels = [f"{level}{' (default)' * (level == DEFAULT_LEVEL)}" for level in LEVELS]
    btc, eth = _rows("btc-usd-1h.csv.gz")[-1][0], _rows("eth-usd-1d.csv.gz")[-1][0]
    ends = (btc[:10], eth[:10], str(len(others)), max(others.values()))
    pyproject = (ROOT / "pyproject.toml").read_text()
    python = tuple(re.findall(r'requires-python = ">=(\S+),', pyproject))
    grid = NUMBERS[round(TrainingSettings.max_horizon_days / 365.25)]
    pairs = (str(len(SnapshotSource().slugs())), years)
    apt = ", ".join(f"`{tool}`" for tool in tools) + " and `haproxy`"
    return {
        r"On a machine with Python (\S+) and HAProxy": python,
        r"BTC/USD's ends (\S+), ETH/USD's (\S+) and the (\d+) USDT pairs' ([0-9-]+)": ends,
        r"retrain\w* every (\w+) hours": (NUMBERS[every],),
        r"root, Debian's (.*?) with `apt-get`": (apt,),
        r"embedded pair \((\d+): the Binance spot pairs against USDT with (\w+) years": pairs,
        r"the embedded (\w+) years of (\d+) Binance spot pairs": (years, str(len(usdt))),
        r"a line at least every (\d+) seconds in a pipe": (f"{LINE_SECONDS:.0f}",),
        r"a forecast grid to (\w+) years ahead": (grid,),
        r"the OpenAPI (\S+) document": (OPENAPI_VERSION.removesuffix(".0"),),
        r"`level` is (.*?) or (\d+)\.": (", ".join(levels[:-1]), levels[-1]),
        r"whose last hourly bar is (\S+ \S+) UTC": (btc[:16].replace("T", " "),),
        r"Every pair serves the panel's damping, tau (\S+) ": (f"{damping['chosen']:g}",),
        r"`docker-compose.yml` \(`([\d.]+):8081:(\d+)`\)": ports,
    }


@pytest.mark.parametrize(("claim", "truth"), _truths().items())
def test_each_front_page_figure_is_the_code_s_the_data_s_or_the_settings(claim, truth):
    pages = [" ".join(page.read_text().split()) for page in (README, INDEX)]
    said = {found.groups() for page in pages for found in re.finditer(claim, page)}
    assert said == {truth}


def test_every_module_and_folder_the_front_pages_name_is_there():
    paths = [*(ROOT / "cryptopredict").rglob("*"), *(ROOT / "tests").rglob("*")]
    there = {path.name.removesuffix(".py") for path in paths}
    for document in (README, INDEX):
        section = document.read_text().split("## How it works")[1].split("\n## ")[0]
        named = re.findall(r"`(?:\w+/)*(\w+)(?:\.py|/)`", section)
        assert len(named) > 5, document.name
        assert set(named) - there == set(), document.name


def test_no_paragraph_of_the_model_page_is_over_800_characters():
    """Issue 111, item 4: the final test's figures sat in paragraphs of 2,000 characters."""
    tokens = MarkdownIt("commonmark").enable("table").parse((ROOT / "docs/model.md").read_text())
    inline = [
        tokens[at + 1].content for at, each in enumerate(tokens) if each.type == "paragraph_open"
    ]
    assert len(inline) > 100
    assert [text[:60] for text in inline if len(text) > 800] == []
