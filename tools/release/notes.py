"""What a release trained, in Markdown: from the image's `artifacts/training.json` (the record
`train.py --all` writes), the pairs it serves, those that failed with why, and for `top:N` how
the market was ranked. The release writes it to its run's summary."""

from __future__ import annotations

from pathlib import Path

from cryptopredict.artifact.training import TrainingRun, read_run


def release_notes(run: TrainingRun, tag: str) -> str:
    asked = len(run.trained) + len(run.failed)
    lines = [
        f"## {tag}: {len(run.trained)} of {asked} pairs trained",
        "",
        f"Asked for `{run.asked}`; model {run.model_version}, trained by "
        f"{run.finished_at.strftime('%Y-%m-%d %H:%M')} UTC.",
        "",
    ]
    ranking = run.ranking
    if ranking is not None:
        lines += [
            f"`top:{ranking.asked}` ranked {len(ranking.pairs)} pairs by {ranking.by}, over the "
            f"24 hours to {ranking.as_of.strftime('%Y-%m-%d %H:%M')} UTC.",
            "",
        ]
    lines += ["| pair | served | rank | 24-hour quote volume |", "|---|---|---|---|"]
    failed = {pair.asset for pair in run.failed}
    for asset in (*run.trained, *(pair.asset for pair in run.failed)):
        ranked = run.rank_of(asset)
        rank = f"{ranked.rank}" if ranked is not None else ""
        volume = f"{ranked.quote_volume:,.0f}" if ranked is not None else ""
        lines.append(f"| `{asset}` | {'no' if asset in failed else 'yes'} | {rank} | {volume} |")
    if run.failed:
        lines += ["", "Not served, because training failed:", ""]
        lines += [f"- `{pair.asset}`: {pair.reason}" for pair in run.failed]
    if ranking is not None and ranking.left_out:
        lines += ["", "Traded more than the last pair ranked, but left out:", ""]
        lines += [f"- `{out.symbol}`: {out.why}" for out in ranking.left_out]
    return "\n".join(lines) + "\n"


def notes_of(model_dir: Path, tag: str) -> str:
    """The notes of `model_dir`'s training record; ValueError when it has none, or an unusable
    one."""
    run = read_run(model_dir)
    if run is None:
        raise ValueError(f"{model_dir} holds no training record (training.json)")
    return release_notes(run, tag)
