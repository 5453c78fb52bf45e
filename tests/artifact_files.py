"""Whole artifact directories written and read in one call, as tests want them; training
writes each artifact from its worker's bytes (`install_artifact`) and serving opens the
directory (`artifact.store.open_artifacts`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptopredict.artifact.arrays import ArtifactError, BacktestRows, BarHistory, Grid
from cryptopredict.artifact.index import artifact_dirs
from cryptopredict.artifact.read import Artifact, existing_model_dir, load_artifact
from cryptopredict.artifact.schema import BacktestReport, Manifest
from cryptopredict.artifact.write import encode_artifact, install_artifact


def write_artifact(
    out_dir: Path,
    *,
    model: Any,
    grid: Grid,
    history: BarHistory,
    backtest: BacktestReport,
    manifest: Manifest,
    origins: BacktestRows | None = None,
) -> Path:
    """The artifact written to `<out_dir>/<manifest.asset>` and entered in the index."""
    files = encode_artifact(
        model=model,
        grid=grid,
        history=history,
        backtest=backtest,
        manifest=manifest,
        origins=origins,
    )
    return install_artifact(out_dir, manifest.asset, files)


def load_artifacts(model_dir: Path) -> dict[str, Artifact]:
    """Every artifact under `model_dir`, by asset, each checked whole (`load_artifact`);
    ArtifactError if there is none or any is bad."""
    found = artifact_dirs(existing_model_dir(model_dir))
    if not found:
        raise ArtifactError(f"{model_dir}: holds no artifact; run `python train.py` first")
    return {artifact.asset: artifact for artifact in map(load_artifact, found)}
