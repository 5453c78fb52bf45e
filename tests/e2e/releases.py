"""Five releases, as the release workflow makes them: BTC/USD trained by `train.py --until T` on
the embedded hourly history for T = 2026-02-20 00:00, 06:00, 12:00 and 18:00 UTC, then
2026-03-20 00:00, each with its own `MODEL_VERSION`, each extending the track record of the
one before (`--previous`, as a release reads the previous image's). Each fits and backtests the
two years before the first (`--since`; the whole history took two thirds more CPU, for a record
scored the same way). Each is cached as `training.py` caches the real model (under
`.cache/e2e-releases/<T>/`).

`python -m tests.e2e.releases` trains them one after the other (or says which it reuses) and
prints their artifact directories.
"""

from __future__ import annotations

from pathlib import Path

from tests.e2e.training import ROOT, trained_artifacts

UNTIL = (
    "2026-02-20T00:00",
    "2026-02-20T06:00",
    "2026-02-20T12:00",
    "2026-02-20T18:00",
    "2026-03-20T00:00",
)
TRAIN = ("train.py", "--asset", "btc-usd", "--source", "snapshot", "--since", "2024-02-20")
CACHE = ROOT / ".cache" / "e2e-releases"


def command(until: str, previous: Path | None) -> tuple[str, ...]:
    train = (*TRAIN, "--until", until)
    return train if previous is None else (*train, "--previous", str(previous))


def version(until: str) -> str:
    """The release's MODEL_VERSION: one per model, as every release has."""
    return f"2026.{int(until[5:7])}.{int(until[8:10])}-{until[11:13]}h"


def trained_releases(count: int = len(UNTIL)) -> list[Path]:
    """The first `count` models' artifact directories, oldest first, training those not cached."""
    releases: list[Path] = []
    for until in UNTIL[:count]:
        releases.append(
            trained_artifacts(
                cache=CACHE / until.replace(":", ""),
                command=command(until, releases[-1] if releases else None),
                settings={"MODEL_VERSION": version(until)},
            )
        )
    return releases


if __name__ == "__main__":
    for directory in trained_releases():
        print(directory)
