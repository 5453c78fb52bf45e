"""Four releases six hours apart, as the release workflow makes them: BTC/USD trained by
`train.py --until T` on the embedded hourly history for T = 2026-02-20 00:00, 06:00, 12:00 and
18:00 UTC, each with its own `MODEL_VERSION`. Each is cached as `training.py` caches the real
model (under `.cache/e2e-releases/<T>/`).

`python -m tests.e2e.releases` trains them one after the other (or says which it reuses) and
prints their artifact directories.
"""

from __future__ import annotations

from pathlib import Path

from tests.e2e.training import ROOT, trained_artifacts

UNTIL = ("2026-02-20T00:00", "2026-02-20T06:00", "2026-02-20T12:00", "2026-02-20T18:00")
CACHE = ROOT / ".cache" / "e2e-releases"


def command(until: str) -> tuple[str, ...]:
    return ("train.py", "--asset", "btc-usd", "--source", "snapshot", "--until", until)


def version(until: str) -> str:
    """The release's MODEL_VERSION: one per model, as every release has."""
    return f"2026.2.20-{until[11:13]}h"


def trained_releases() -> list[Path]:
    """The four models' artifact directories, oldest first, training those not cached."""
    return [
        trained_artifacts(
            cache=CACHE / until.replace(":", ""),
            command=command(until),
            settings={"MODEL_VERSION": version(until)},
        )
        for until in UNTIL
    ]


if __name__ == "__main__":
    for directory in trained_releases():
        print(directory)
