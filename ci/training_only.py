"""Fail if the serving image holds a training-only package: `... training_only.py INSTALLED`.

INSTALLED lists the distributions installed in the image, one name per line. Training-only means
pinned in requirements-train.txt but not in requirements-api.txt (so the lock files stay the one
source of truth), plus notebook tooling, which neither should ever bring in.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

NOTEBOOK_TOOLING = frozenset({"jupyter", "jupyterlab", "notebook", "ipykernel", "ipython"})
# Named by the issues: the data sources and the training stack, which serving (a grid lookup
# with numpy) does not need.
ISSUE_NAMED = frozenset(
    {
        "alpaca-py",
        "python-binance",
        "statsmodels",
        "jupyter",
        "prophet",
        "cmdstanpy",
        "pandas",
        "matplotlib",
        "plotly",
    }
)
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*==", re.MULTILINE)


def normalize(name: str) -> str:
    """PEP 503 normalized name: `Alpaca_Py` and `alpaca.py` are both `alpaca-py`."""
    return re.sub(r"[-_.]+", "-", name.strip()).lower()


def pinned(requirements: Path) -> set[str]:
    return {normalize(name) for name in _PIN.findall(requirements.read_text())}


def training_only(train: Path, api: Path, *also_served: Path) -> set[str]:
    """Pinned in `train` and in none of the files the image installs (`api`, `also_served`)."""
    served = pinned(api).union(*(pinned(path) for path in also_served))
    forbidden = (pinned(train) - served) | NOTEBOOK_TOOLING
    missing = ISSUE_NAMED - forbidden
    if missing:
        raise ValueError(
            f"{', '.join(sorted(missing))} would be allowed in the serving image: "
            f"are they in {api}? Serving must not need them"
        )
    return forbidden


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parents[1]
    installed = {normalize(line) for line in Path(argv[0]).read_text().splitlines() if line}
    forbidden = training_only(
        root / "requirements-train.txt",
        root / "requirements-api.txt",
    )
    present = sorted(installed & forbidden)
    if present:
        print(f"training-only packages in the serving image: {', '.join(present)}")
        return 1
    print(
        f"packages: {len(installed)} installed, none of the {len(forbidden)} training-only ones "
        f"({', '.join(sorted(ISSUE_NAMED))}, ...)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
