"""`make bench-scale`: training at scale (bench/scale_training.py), then serving at scale
(bench/scale_serving.py) when it is there; each prints its own table."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from bench import scale_training

REPORT = Path("reports")


def main() -> int:
    scale_training.main(["--json", str(REPORT / "bench-scale-training.json")])
    if importlib.util.find_spec("bench.scale_serving") is not None:
        from bench import scale_serving  # noqa: PLC0415

        return scale_serving.main([])
    return 0


if __name__ == "__main__":
    sys.exit(main())
