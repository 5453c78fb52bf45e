"""The model report: Markdown tables from the backtest and the comparison, for the README.

`python -m cryptopredict.model.report [--artifact artifacts/btc-usd]` first copies the artifact's
backtest summary and choices to `docs/model-report/backtest.json` (when given), then rewrites the
README's generated sections (between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->`)
from `docs/model-report/*.json` and the settings.
"""

from __future__ import annotations

import argparse
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
    header = [
        "model",
        *(f"MAPE {label}" for label in HORIZONS),
        *(f"{width} coverage {label}" for label in HORIZONS),
    ]
    rows = [_row(header), "|" + "---|" * len(header)]
    for name in models:
        values = [summary[label].get(name, {}) for label in HORIZONS]
        cells = [_pct(value.get("mape")) for value in values]
        cells += [_pct(value.get("coverage")) for value in values]
        rows.append(_row([name, *cells]))
    rows.append(f"\n{summary['origins']} rolling origins.")
    return "\n".join(rows)


def comparison_table(comparison: dict) -> str:
    header = [
        "configuration",
        *(f"MAPE {label}" for label in HORIZONS),
        *(f"coverage {label}" for label in HORIZONS),
    ]
    rows = [_row(header), "|" + "---|" * len(header)]
    for entry in comparison["rows"]:
        cells = [_pct(entry[f"mape_{label}"]) for label in HORIZONS]
        cells += [_pct(entry[f"coverage_{label}"]) for label in HORIZONS]
        rows.append(_row([entry["configuration"], *cells]))
    rows.append(
        f"\n{len(comparison['origins'])} rolling origins from {comparison['origins'][0][:10]} "
        f"to {comparison['origins'][-1][:10]}; coverage of Prophet's own "
        f"{comparison['interval_width']:.0%} interval (blank: the model has none)."
    )
    return "\n".join(rows)


def damping_table(damping: dict) -> str:
    header = ["tau (hours)", *(f"MAPE {label}" for label in HORIZONS), "vs naive"]
    rows = [_row(header), "|" + "---|" * len(header)]
    for entry in damping["candidates"]:
        tau = "none (undamped)" if entry["tau"] is None else f"{entry['tau']:g}"
        if entry["tau"] == damping["chosen"]:
            tau = f"**{tau}** (chosen)"
        cells = [_pct(entry[f"mape_{label}"]) for label in HORIZONS]
        rows.append(_row([tau, *cells, f"{entry['ratio']:.3f}x"]))
    rows.append(f"\nChosen on {damping['validation_origins']} validation origins.")
    return "\n".join(rows)


def volatility_table(volatility: dict) -> str:
    header = [
        "volatility window",
        *(f"coverage {label}" for label in HORIZONS),
        *(f"interval score {label}" for label in HORIZONS),
    ]
    rows = [_row(header), "|" + "---|" * len(header)]
    for entry in volatility["candidates"]:
        days = f"{entry['days']} days"
        if entry["days"] == volatility["chosen"]:
            days = f"**{days}** (chosen)"
        cells = [_pct(entry.get(f"coverage_{label}")) for label in HORIZONS]
        cells += [f"{entry[f'score_{label}']:.4f}" for label in HORIZONS]
        rows.append(_row([days, *cells]))
    rows.append(
        f"\nChosen on {volatility['validation_origins']} validation origins by the mean interval "
        "score (lower is better)."
    )
    return "\n".join(rows)


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
            rf"(<!-- generated:{name} -->\n).*?(\n<!-- /generated:{name} -->)", re.DOTALL
        )
        if not pattern.search(readme):
            raise ValueError(f"README has no generated:{name} section")
        readme = pattern.sub(
            lambda match, body=body: match.group(1) + body + match.group(2), readme
        )
    return readme


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
