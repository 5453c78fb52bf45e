"""`make bench-scale`: training at scale (bench/scale_training.py), then serving at scale
(bench/scale_serving.py); each prints its own table."""

from __future__ import annotations

import sys
from pathlib import Path

from bench import scale_serving, scale_training

REPORT = Path("reports")


def main() -> int:
    scale_training.main(["--json", str(REPORT / "bench-scale-training.json")])
    return scale_serving.main([])


if __name__ == "__main__":
    sys.exit(main())
