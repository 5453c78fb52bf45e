"""What a release trained, in Markdown, from the image's `artifacts/run.json` (standard library)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

RUN = "run.json"  # cryptopredict.artifact.run.RUN


def release_notes(run: dict[str, Any], tag: str) -> str:
    trained, failed = run["trained"], run.get("failed", [])
    lines = [
        f"## {tag}: {len(trained)} of {len(trained) + len(failed)} pairs trained",
        "",
        f"Asked for `{run['asked']}`; model {run['model_version']}, trained by "
        f"{_minute(run['finished_at'])} UTC.",
        "",
        f"Track record: extends {run['extends']}."
        if run.get("extends")
        else "Track record: starts with this release (its `track-record/` says why).",
        "",
    ]
    ranking = run.get("ranking")
    ranks = {pair["asset"]: pair for pair in ranking["pairs"]} if ranking else {}
    if ranking:
        lines += [
            f"`top:{ranking['asked']}` ranked {len(ranking['pairs'])} pairs by {ranking['by']}, "
            f"over the 24 hours to {_minute(ranking['as_of'])} UTC.",
            "",
        ]
    lines += ["| pair | served | rank | 24-hour quote volume |", "|---|---|---|---|"]
    not_served = {pair["asset"] for pair in failed}
    for asset in (*trained, *not_served):
        ranked = ranks.get(asset)
        rank = f"{ranked['rank']}" if ranked else ""
        volume = f"{ranked['quote_volume']:,.0f}" if ranked else ""
        served = "no" if asset in not_served else "yes"
        lines.append(f"| `{asset}` | {served} | {rank} | {volume} |")
    if failed:
        lines += ["", "Not served, because training failed:", ""]
        lines += [f"- `{pair['asset']}`: {pair['reason']}" for pair in failed]
    if ranking and ranking.get("left_out"):
        lines += ["", "Traded more than the last pair ranked, but left out:", ""]
        lines += [f"- `{out['symbol']}`: {out['why']}" for out in ranking["left_out"]]
    return "\n".join(lines) + "\n"


def _minute(iso: str) -> str:
    return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M")


def notes_of(model_dir: Path, tag: str) -> str:
    """The notes of `model_dir`'s training record; ValueError when it is missing or unusable."""
    file = Path(model_dir) / RUN
    try:
        run = json.loads(file.read_text())
        return release_notes(run, tag)
    except FileNotFoundError:
        raise ValueError(f"{model_dir} holds no training record ({RUN})") from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{file} is not a training record this reads: {error!r}") from None
