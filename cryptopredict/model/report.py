"""The model report: Markdown tables from the backtest and the comparison, for the README.

`python -m cryptopredict.model.report [--artifact artifacts/btc-usd]` first copies the artifact's
backtest summary and choices to `docs/model-report/backtest.json` (when given), then rewrites the
README's generated sections (between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->`)
from `docs/model-report/*.json` and the settings.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import sys
from pathlib import Path

from cryptopredict.config import settings_table
from cryptopredict.model.backtest import HORIZONS, SERVED

REPORT_DIR = Path("docs/model-report")
README = Path("README.md")


def backtest_table(summary: dict) -> str:
    """MAPE and band coverage per model and horizon, served model first."""
    models = sorted({name for label in HORIZONS for name in summary[label]}, key=_model_order)
    width = f"{summary['interval_width']:.0%}"
    body = []
    for name in models:
        values = [summary[label].get(name, {}) for label in HORIZONS]
        cells = [_pct(value.get(key)) for key in ("mape", "coverage") for value in values]
        body.append([name, *cells])
    header = ["model", *_per_horizon("MAPE"), *_per_horizon(f"{width} coverage")]
    return _table(header, body, f"{summary['origins']} rolling origins.")


def comparison_table(comparison: dict) -> str:
    body = [
        [entry["configuration"], *_pcts(entry, "mape"), *_pcts(entry, "coverage")]
        for entry in comparison["rows"]
    ]
    origins = comparison["origins"]
    note = (
        f"{len(origins)} rolling origins from {origins[0][:10]} to {origins[-1][:10]}; coverage "
        f"of Prophet's own {comparison['interval_width']:.0%} interval (blank: the model has none)."
    )
    header = ["configuration", *_per_horizon("MAPE"), *_per_horizon("coverage")]
    return _table(header, body, note)


def damping_table(damping: dict) -> str:
    body = []
    for entry in damping["candidates"]:
        tau = "none (undamped)" if entry["tau"] is None else f"{entry['tau']:g}"
        tau = f"**{tau}** (chosen)" if entry["tau"] == damping["chosen"] else tau
        body.append([tau, *_pcts(entry, "mape"), f"{entry['ratio']:.3f}x"])
    header = ["tau (hours)", *_per_horizon("MAPE"), "vs naive"]
    return _table(header, body, f"Chosen on {damping['validation_origins']} validation origins.")


def volatility_table(volatility: dict) -> str:
    body = []
    for entry in volatility["candidates"]:
        days = f"{entry['days']} days"
        days = f"**{days}** (chosen)" if entry["days"] == volatility["chosen"] else days
        scores = [f"{entry[f'score_{label}']:.4f}" for label in HORIZONS]
        body.append([days, *_pcts(entry, "coverage"), *scores])
    header = ["volatility window", *_per_horizon("coverage"), *_per_horizon("interval score")]
    note = (
        f"Chosen on {volatility['validation_origins']} validation origins by the mean interval "
        "score (lower is better)."
    )
    return _table(header, body, note)


def sections(report_dir: Path = REPORT_DIR) -> dict[str, str]:
    backtest = json.loads((report_dir / "backtest.json").read_text())
    comparison = json.loads((report_dir / "comparison.json").read_text())
    return {
        "settings": settings_table(),
        "backtest": backtest_table(backtest["summary"]),
        "damping": damping_table(backtest["damping"]),
        "volatility": volatility_table(backtest["volatility"]),
        "comparison": comparison_table(comparison),
    }


def render(readme: str, generated: dict[str, str]) -> str:
    for name, body in generated.items():
        pattern = re.compile(
            rf"(<!-- generated:{name} -->\n)(?:.*?\n)?(<!-- /generated:{name} -->)", re.DOTALL
        )
        if not pattern.search(readme):
            raise ValueError(f"README has no generated:{name} section")
        readme = pattern.sub(functools.partial(_fill, body=body), readme)
    return readme


def _fill(match: re.Match[str], *, body: str) -> str:
    return f"{match.group(1)}{body}\n{match.group(2)}"


def _table(header: list[str], body: list[list[str]], note: str) -> str:
    lines = [_row(header), "|" + "---|" * len(header), *(_row(cells) for cells in body)]
    return "\n".join([*lines, "", note])


def _per_horizon(title: str) -> list[str]:
    return [f"{title} {label}" for label in HORIZONS]


def _pcts(entry: dict, key: str) -> list[str]:
    return [_pct(entry.get(f"{key}_{label}")) for label in HORIZONS]


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.1%}"


def _model_order(name: str) -> tuple[int, str]:
    return (0 if name == SERVED else 1, name)


def export(artifact: Path, report_dir: Path = REPORT_DIR) -> None:
    """Keep the artifact's backtest figures (not its per-origin paths) for the README."""
    backtest = json.loads((artifact / "backtest.json").read_text())
    kept = {key: backtest[key] for key in ("summary", "damping", "volatility")}
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "backtest.json").write_text(json.dumps(kept, indent=2, sort_keys=True) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cryptopredict.model.report")
    parser.add_argument("--artifact", type=Path, help="take the backtest figures from here first")
    args = parser.parse_args(argv)
    if args.artifact is not None:
        export(args.artifact)
    README.write_text(render(README.read_text(), sections()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
